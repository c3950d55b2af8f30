"""The live board, do not disturb and click-to-call (CONTRACT.md "Calls between people").

The phone side answers through the box's Switchboard (pbx/switchboard.py); a panel built
without one (tests of other pages, the central) shows an empty board and refuses to dial.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, jsonify, render_template
from flask_login import current_user, login_required

from firmware.config import normalise_number
from firmware.pbx.switchboard import SwitchboardBusy
from firmware.tracker.errors import BadInput
from firmware.webui.api import _json_body   # the API's one way to read a JSON body
from firmware.webui.panel import get_panel

bp = Blueprint("live", __name__)


@bp.errorhandler(BadInput)
def _bad_input(error: BadInput):
    return jsonify(error=error.message, field=error.field), 400


@bp.errorhandler(SwitchboardBusy)
def _busy(error: SwitchboardBusy):
    return jsonify(error=str(error)), 503


def _board() -> dict:
    panel = get_panel()
    if panel.switchboard is None:
        return {"phones": [], "calls": []}
    board = panel.switchboard.live()
    for call in board["calls"]:
        call["since"] = datetime.fromtimestamp(call["since"], panel.tz).isoformat(
            timespec="seconds")
    return board


@bp.get("/api/live")
@login_required
def api_live():
    return jsonify(_board())


@bp.get("/live")
@login_required
def page():
    return render_template("live.html", board=_board())


def _extension(value, field: str = "extension") -> str:
    panel = get_panel()
    if not isinstance(value, str) or panel.config.extension(value) is None:
        raise BadInput(field, "no such extension")
    if not current_user.is_owner and value != current_user.extension:
        raise BadInput(field, "staff may use only their own extension")
    return value


@bp.post("/api/phones/<extension>/dnd")
@login_required
def set_dnd(extension: str):
    """{"dnd": true|false}: staff for their own phone, the owner for any."""
    panel = get_panel()
    body = _json_body()
    ext = _extension(extension)
    if not isinstance(body.get("dnd"), bool):
        raise BadInput("dnd", "must be true or false")
    if panel.switchboard is None:
        abort(503)
    panel.switchboard.set_dnd(ext, body["dnd"])
    return jsonify(extension=ext, dnd=body["dnd"])


@bp.post("/api/originate")
@login_required
def originate():
    """{"extension": "101", "number": "+48601234567"} -> 202 {"call_id"}: the desk phone
    rings; when it is answered the box dials the number."""
    panel = get_panel()
    body = _json_body()
    ext = _extension(body.get("extension", current_user.extension or ""))
    number = body.get("number")
    e164 = normalise_number(number, panel.config.box.country) \
        if isinstance(number, str) and len(number) <= 32 else None
    if e164 is None:
        raise BadInput("number", "not a phone number")
    if panel.switchboard is None:
        abort(503)
    call_id, refused = panel.switchboard.originate(ext, e164)
    if refused is not None:
        return jsonify(error=refused, field="number"), 409
    return jsonify(call_id=call_id), 202
