"""Call recordings in the panel and the API: play (Range), delete (owner), good-call marks.

Who hears what: the owner every recording; staff only those of calls they took part in
(wrapup.involves), 403 for anyone else's. A recording whose file is missing or cut short
(a power cut) is said to be so; the call record is never touched.
"""

from __future__ import annotations

import logging
import time

from flask import (Blueprint, abort, flash, jsonify, redirect, render_template, request,
                   send_file, url_for)
from flask_login import current_user, login_required

from firmware.recording.service import problem_of
from firmware.webui import wrapup
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import get_panel

logger = logging.getLogger(__name__)

bp = Blueprint("recordings", __name__)
MAX_MARKED_SHOWN = 200


def _service():
    service = getattr(get_panel(), "recordings", None)
    if service is None:
        abort(404, description="recordings are not kept on this box")
    return service


def _call(call_id: str) -> dict:
    """The call, 404 when unknown, 403 when the asker may not hear it."""
    call = get_panel().tracker.call(call_id) if len(call_id) <= 100 else None
    if call is None:
        abort(404, description="no such call")
    if not (current_user.is_owner or wrapup.involves(current_user, call)):
        abort(403, description="staff hear only their own calls' recordings")
    return call


def may_hear(call: dict) -> bool:
    return bool(call.get("recording")) and (current_user.is_owner
                                            or wrapup.involves(current_user, call))


@bp.get("/api/calls/<call_id>/recording")
@login_required
def play(call_id: str):
    service = _service()
    _call(call_id)
    entry = service.entry(call_id)
    if entry is None:
        abort(404, description="this call has no recording")
    if entry.problem and not entry.seconds:
        return jsonify(error="this call could not be recorded: its audio was in a codec the "
                       "box cannot decode", state="not_possible",
                       problem=problem_of(entry)), 404
    path = service.store.path(entry)
    if not path.is_file():
        return jsonify(error="the recording's file is missing", state="missing"), 404
    response = send_file(path, mimetype="audio/ogg", conditional=True, max_age=0)
    if entry.seconds is None:
        response.headers["X-Recording-State"] = \
            "recording" if entry.call_id in service.recorder.active_calls else "truncated"
    response.headers["Accept-Ranges"] = "bytes"
    return response


@bp.delete("/api/calls/<call_id>/recording")
@login_required
def delete(call_id: str):
    service = _service()
    _call(call_id)
    if not current_user.is_owner:
        abort(403, description="only the owner deletes recordings")
    entry = service.entry(call_id)
    if entry is None or not service.store.delete(entry.call_id, "owner"):
        abort(404, description="this call has no recording")
    logger.info("recording of call %s deleted by %s", call_id, current_user.name)
    return "", 204


@bp.get("/api/calls/<call_id>/recording/state")
@login_required
def state(call_id: str):
    service = _service()
    _call(call_id)
    entry = service.entry(call_id)
    if entry is None:
        return jsonify(state="none", seconds=0, good=call_id in service.store.marks)
    if entry.problem and not entry.seconds:
        return jsonify(state="not_possible", seconds=0, size=0, problem=problem_of(entry),
                       good=call_id in service.store.marks)
    found = service.file_state(entry)
    active = entry.call_id in service.recorder.active_calls and found.state != "missing"
    return jsonify(state="recording" if active else found.state,
                   seconds=round(found.seconds, 1), size=found.size,
                   problem=problem_of(entry), good=call_id in service.store.marks)


@bp.put("/api/calls/<call_id>/good")
@login_required
def mark(call_id: str):
    _service().store.mark(_call(call_id)["id"], current_user.name, time.time())
    return jsonify(good=True)


@bp.delete("/api/calls/<call_id>/good")
@login_required
def unmark(call_id: str):
    _service().store.unmark(_call(call_id)["id"])
    return jsonify(good=False)


@bp.post("/calls/<call_id>/good")
@login_required
def mark_form(call_id: str):
    """The panel's button: mark or unmark a good call, then back to the call."""
    store = _service().store
    call = _call(call_id)
    if request.form.get("good") == "1":
        store.mark(call["id"], current_user.name, time.time())
        flash(_("Marked as a good call."), "ok")
    else:
        store.unmark(call["id"])
        flash(_("No longer marked as a good call."), "ok")
    return redirect(url_for("history.detail", call_id=call["id"]))


@bp.post("/calls/<call_id>/recording/delete")
@login_required
def delete_form(call_id: str):
    """The owner's delete button on the call page."""
    service = _service()
    call = _call(call_id)
    if not current_user.is_owner:
        abort(403)
    entry = service.entry(call["id"])
    if entry is not None and service.store.delete(entry.call_id, "owner"):
        flash(_("The recording is deleted."), "ok")
    return redirect(url_for("history.detail", call_id=call["id"]))


@bp.get("/calls/good")
@login_required
def good_calls():
    """The calls marked good, newest mark first: to play to a new receptionist."""
    service = _service()
    tracker = get_panel().tracker
    marks = service.store.marks
    calls = []
    for record_id in sorted(marks, key=lambda r: marks[r]["at"], reverse=True):
        call = tracker.call(record_id)
        if call is None or not (current_user.is_owner or wrapup.involves(current_user, call)):
            continue
        calls.append({**call, "marked_by": marks[record_id]["by"]})
        if len(calls) >= MAX_MARKED_SHOWN:
            break
    return render_template("good_calls.html", calls=calls)


@bp.app_context_processor
def _recording_globals() -> dict:
    """For the templates: may the signed-in person hear this call; is it marked good;
    what the recordings' state is (low disk)."""
    panel = get_panel()
    service = getattr(panel, "recordings", None)

    def is_good(call: dict) -> bool:
        return service is not None and call.get("id") in service.store.marks

    def file_state(call: dict):
        entry = service.entry(call["id"]) if service is not None else None
        if entry is None:
            return None
        found = service.file_state(entry)
        if entry.call_id in service.recorder.active_calls and found.state != "missing":
            return "recording"
        return found.state

    def recording_health() -> dict:
        return service.health() if service is not None else {}

    def recording_for_number(number: str) -> dict | None:
        """The newest recorded call with `number` the signed-in person may hear (the
        callback list plays the last conversation with a caller waiting again)."""
        record_id = service.store.newest_for(number) if service is not None else None
        call = panel.tracker.call(record_id) if record_id else None
        return call if call is not None and may_hear(call) else None

    return {"may_hear": may_hear, "is_good_call": is_good, "recording_file_state": file_state,
            "recording_health": recording_health,
            "recording_for_number": recording_for_number}
