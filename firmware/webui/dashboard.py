"""The dashboard (the owner's 10-minute check) and its modules shown alone, large."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from firmware.tracker.errors import BadInput
from firmware.tracker.query import parse_period
from firmware.webui.access import owner_required
from firmware.webui.i18n import Formatter
from firmware.webui.i18n import gettext as _
from firmware.webui.modules import MODULES
from firmware.webui.panel import Panel, get_panel

bp = Blueprint("dashboard", __name__)


def presets(panel: Panel, start: date, end: date) -> list[dict]:
    """Today / 7 days / 30 days links, the one matching the period marked active."""
    result = []
    for label, days in ((_("Today"), 1), (_("7 days"), 7), (_("30 days"), 30)):
        first, last = panel.preset(days)
        result.append({"label": label, "from": first.isoformat(), "to": last.isoformat(),
                       "active": (first, last) == (start, end)})
    return result


def read_period(panel: Panel, args) -> tuple[date, date, BadInput | None]:
    """The period asked for, or the last 7 days with the error when the dates are junk."""
    try:
        return (*parse_period(args, panel.config), None)
    except BadInput as error:
        return (*parse_period({}, panel.config), error)


def _formatter(panel: Panel) -> Formatter:
    box = panel.config.box
    return Formatter(box.country, box.currency, box.timezone)


@bp.get("/")
@login_required
def index():
    if not current_user.is_owner:
        return redirect(url_for("history.index"))
    panel = get_panel()
    start, end, error = read_period(panel, request.args)
    summary = panel.tracker.summary(start, end)
    fmt = _formatter(panel)
    modules = [build(summary, fmt) for build in MODULES.values()]
    campaigns = panel.tracker.campaigns(start, end)      # cost per call vs value (issue 21)
    return render_template("dashboard.html", s=summary, start=start, end=end, error=error,
                           presets=presets(panel, start, end), modules=modules,
                           campaigns=campaigns), 400 if error else 200


@bp.get("/dashboard/<name>")
@owner_required
def module(name: str):
    build = MODULES.get(name)
    if build is None:
        abort(404)
    panel = get_panel()
    start, end, error = read_period(panel, request.args)
    summary = panel.tracker.summary(start, end)
    return render_template("module.html", module=build(summary, _formatter(panel), large=True),
                           s=summary, start=start, end=end, error=error,
                           presets=presets(panel, start, end)), 400 if error else 200
