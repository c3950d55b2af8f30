"""The JSON API (CONTRACT.md "HTTP API", extensions in docs/api.md). Views stay thin: parse,
check the role, ask the tracker, answer."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, jsonify, request
from flask_login import current_user, login_required

from firmware.config import normalise_number
from firmware.tracker.errors import BadInput
from firmware.tracker.query import CallFilter, parse_call_filter, parse_period
from firmware.webui import exports, wrapup
from firmware.webui.access import owner_required
from firmware.webui.panel import get_panel
from firmware.webui.wrapup import Forbidden

bp = Blueprint("api", __name__)

MAX_REASON = 200


@bp.errorhandler(BadInput)
def _bad_input(error: BadInput):
    return jsonify(error=error.message, field=error.field), 400


@bp.errorhandler(Forbidden)
def _forbidden(error: Forbidden):
    return jsonify(error=error.message, field=error.field), 403


def _json_body() -> dict:
    if not request.is_json:
        raise BadInput("body", "must be JSON (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("body", "must be a JSON object")
    return body


def user_filter(args) -> CallFilter:
    """The request's call filter; staff may ask only for their own extension."""
    flt = parse_call_filter(args, get_panel().config)
    if not current_user.is_owner and flt.extension not in (None, current_user.extension):
        raise Forbidden("extension", "staff see only their own extension's calls")
    return flt


def _calls(flt: CallFilter) -> list[dict]:
    panel = get_panel()
    return wrapup.visible_calls(panel.tracker, flt, current_user, panel.config)


def _call_or_404(call_id: str) -> dict:
    call = get_panel().tracker.call(call_id) if len(call_id) <= 100 else None
    if call is None:
        abort(404, description="no such call")
    if not wrapup.may_see(current_user, call, get_panel().config):
        abort(404, description="no such call")
    return call


@bp.get("/healthz")
def healthz():
    return jsonify(public_health(get_panel().health(), signed_in_owner=bool(
        current_user.is_authenticated and current_user.is_owner)))


def public_health(health: dict, *, signed_in_owner: bool) -> dict:
    """/healthz as the asker may see it: banned addresses only for a signed-in owner, counts
    for anyone (issue 14.16: the list told a stranger which of his addresses still work)."""
    health = dict(health)
    if not signed_in_owner and isinstance(health.get("recording"), dict):
        # recordings (issue 16): the state for anyone, disk figures for the owner
        health["recording"] = {"state": health["recording"].get("state", "")}
    bans = health.get("bans")
    if bans is None:
        return health
    health.setdefault("ban_count", len(bans))
    if "bans_by_reason" not in health:
        by_reason: dict[str, int] = {}
        for ban in bans:
            by_reason[ban["reason"]] = by_reason.get(ban["reason"], 0) + 1
        health["bans_by_reason"] = by_reason
    if not signed_in_owner:
        del health["bans"]
        if isinstance(health.get("trunk_routes"), dict):    # the provider's address: owner's
            health["trunk_routes"] = {name: {"state": route.get("state", "")}
                                      for name, route in health["trunk_routes"].items()}
    return health


@bp.get("/api/summary")
@owner_required
def summary():
    panel = get_panel()
    start, end = parse_period(request.args, panel.config)
    return jsonify(panel.tracker.summary(start, end))


@bp.get("/api/calls")
@login_required
def calls():
    return jsonify(calls=_calls(user_filter(request.args)))


@bp.get("/api/calls/<call_id>")
@login_required
def call(call_id: str):
    return jsonify(_call_or_404(call_id))


def _export_name(flt: CallFilter, ext: str) -> str:
    period = "-".join(d.isoformat() for d in (flt.start, flt.end) if d) or "all"
    return f"calls-{period}.{ext}"


@bp.get("/api/calls.csv")
@login_required
def calls_csv():
    flt = user_filter(request.args)
    body = exports.to_csv(_calls(flt))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_export_name(flt, "csv")}"'})


@bp.get("/api/calls.xlsx")
@login_required
def calls_xlsx():
    flt = user_filter(request.args)
    body = exports.to_xlsx(_calls(flt))
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument"
                    ".spreadsheetml.sheet", headers={
        "Content-Disposition": f'attachment; filename="{_export_name(flt, "xlsx")}"'})


@bp.post("/api/calls/<call_id>/wrapup")
@login_required
def save_wrapup(call_id: str):
    body = _json_body()
    call = _call_or_404(call_id)
    try:
        return jsonify(wrapup.save(get_panel(), current_user, call, body))
    except KeyError:
        abort(404, description="no such call")


@bp.get("/api/callbacks")
@login_required
def callbacks():
    return jsonify(callbacks=get_panel().tracker.callbacks())


@bp.post("/api/callbacks/<path:number>/dismiss")
@login_required
def dismiss(number: str):
    panel = get_panel()
    body = _json_body()
    e164 = normalise_number(number, panel.config.box.country) if len(number) <= 32 else None
    if e164 is None:
        raise BadInput("number", "not a phone number")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise BadInput("reason", f"give a reason of 1 to {MAX_REASON} characters")
    unknown = set(body) - {"reason"}
    if unknown:
        raise BadInput(sorted(unknown)[0][:50], "unknown field")
    try:
        panel.tracker.dismiss_callback(e164, reason.strip(), current_user.name)
    except KeyError:
        abort(404, description="that number is not waiting for a callback")
    return jsonify(callbacks=panel.tracker.callbacks())


@bp.get("/api/me/pending-wrapup")
@login_required
def pending_wrapup():
    """The signed-in user's answered calls still waiting for a wrap-up (newest first)."""
    panel = get_panel()
    found = wrapup.pending_wrapups(panel.tracker, current_user, panel.today(),
                                   datetime.now(panel.tz))
    return jsonify(calls=found)
