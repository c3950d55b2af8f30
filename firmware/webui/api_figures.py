"""The figures API beside /api/summary: GET /api/campaigns (CONTRACT.md "Figures added to
/api/summary"). Thin: parse the period, ask the tracker, answer."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from firmware.tracker.errors import BadInput
from firmware.tracker.query import parse_period
from firmware.webui.access import owner_required
from firmware.webui import trends
from firmware.webui.i18n import Formatter
from firmware.webui.panel import get_panel

bp = Blueprint("api_figures", __name__)


@bp.errorhandler(BadInput)
def _bad_input(error: BadInput):
    return jsonify(error=error.message, field=error.field), 400


@bp.get("/api/campaigns")
@owner_required
def campaigns():
    panel = get_panel()
    start, end = parse_period(request.args, panel.config)
    return jsonify(campaigns=panel.tracker.campaigns(start, end))


# -- template helpers for the pages that show these figures ----------------------------------

@bp.app_template_global("trend")
def _trend(summary: dict, name: str):
    return trends.trend(summary, name, _formatter())


@bp.app_template_global("added_figures")
def _added_figures(summary: dict):
    return trends.added_figures(summary, _formatter())


def _formatter() -> Formatter:
    box = get_panel().config.box
    return Formatter(box.country, box.currency, box.timezone)


@bp.app_template_global("rating_label")
def _rating_label(rating: int) -> str:
    """What a wrap-up rating means to the owner (0: no chance ... 5: ready to sign)."""
    return trends.rating_label(rating)
