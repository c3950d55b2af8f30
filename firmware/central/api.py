"""The central's JSON API: the box's /api/summary, /api/calls, /api/callbacks,
/api/campaigns, /api/contacts (and exports) with `site=`, plus /api/sites and /healthz. Views stay thin: scope, parse, ask, answer."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import login_required

from firmware.central import campaigns as campaign_figures, contacts, figures
from firmware.central.scope import request_scope
from firmware.tracker.errors import BadInput
from firmware.tracker.query import parse_call_filter, parse_period
from firmware.webui import exports

bp = Blueprint("api", __name__)


@bp.errorhandler(BadInput)
def _bad_input(error: BadInput):
    return jsonify(error=error.message, field=error.field), 400


def _central():
    return current_app.extensions["central"]


def _box_config():
    return _central().config.as_box_config()


@bp.get("/healthz")
def healthz():
    with _central().db.connection() as conn:
        conn.execute("SELECT 1")
    return jsonify(database="ok", storage="ok")


@bp.get("/api/sites")
@login_required
def sites():
    central = _central()
    with central.db.connection() as conn:
        scope = request_scope(conn)
        found = figures.sites(conn, scope.tz, [s.name for s in central.config.sites])
    if scope.name is not None:
        found = [s for s in found if s["name"] == scope.name]
    return jsonify(sites=found)


@bp.get("/api/summary")
@login_required
def summary():
    with _central().db.connection() as conn:
        scope = request_scope(conn)
        start, end = parse_period(request.args, _box_config())
        figures_ = figures.summary(conn, scope.site, scope.zone, start, end)
    figures_["currency"] = _central().config.box.currency
    figures_["site"] = scope.name
    return jsonify(figures_)


def _limit() -> int:
    text = request.args.get("limit", "")
    if not text:
        return figures.DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= figures.MAX_LIMIT:
        raise BadInput("limit", f"must be a whole number from 1 to {figures.MAX_LIMIT}")
    return int(text)


def scoped_calls() -> tuple[list[dict], bool]:
    with _central().db.connection() as conn:
        scope = request_scope(conn)
        flt = parse_call_filter(request.args, _box_config())
        return figures.calls(conn, scope.site, scope.tz, flt, _limit())


@bp.get("/api/calls")
@login_required
def calls():
    found, more = scoped_calls()
    return jsonify(calls=found, truncated=more)


@bp.get("/api/calls.csv")
@login_required
def calls_csv():
    found, _ = scoped_calls()
    return Response(exports.to_csv(found), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="calls.csv"'})


@bp.get("/api/calls.xlsx")
@login_required
def calls_xlsx():
    found, _ = scoped_calls()
    return Response(exports.to_xlsx(found), mimetype="application/vnd.openxmlformats-"
                    "officedocument.spreadsheetml.sheet", headers={
        "Content-Disposition": 'attachment; filename="calls.xlsx"'})


@bp.get("/api/callbacks")
@login_required
def callbacks():
    with _central().db.connection() as conn:
        scope = request_scope(conn)
        return jsonify(callbacks=[] if scope.empty else figures.callbacks(conn, scope.site))


@bp.get("/api/campaigns")
@login_required
def campaigns():
    with _central().db.connection() as conn:
        scope = request_scope(conn)
        start, end = parse_period(request.args, _box_config())
        if start > end:
            raise BadInput("from", "must not be after 'to'")
        found = campaign_figures.campaigns(conn, scope.site, scope.zone, start, end)
    return jsonify(campaigns=found)


@bp.get("/api/contacts")
@login_required
def contact_list():
    with _central().db.connection() as conn:
        scope = request_scope(conn)
        found, more = contacts.search(conn, scope.site, request.args,
                                      _limit(), empty=scope.empty)
    return jsonify(contacts=found, truncated=more)
