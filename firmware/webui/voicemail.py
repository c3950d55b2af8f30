"""Voicemail in the panel: the message files, the `voicemail` field of the API, greetings.

- `GET /api/voicemail/<id>` answers the message as audio/wav (Range requests: 206); staff
  reach only messages of calls they may see (webui/wrapup.may_see). `DELETE` (owner) -> 204
  and the file is gone.
- `/api/calls`, `/api/calls/<id>` and `/api/callbacks` gain `voicemail` (the URL or null):
  added to their answers here, after the API built them, so the tracker and the API stay as
  they are. A message belongs to the missed call with its caller that reached the box at the
  same moment (`offered_at`); a callback entry shows its number's newest message since it
  started waiting.
- `/settings/greetings` (owner): each campaign's greeting and the music on hold, played in
  place; an upload (WAV, MP3) is converted with ffmpeg (prompts/convert.py) and replaces the
  old one only when it is good.
"""

from __future__ import annotations

import io
import json
import logging
import wave
from datetime import datetime

from flask import (Blueprint, Flask, abort, current_app, flash, jsonify, redirect,
                   render_template, request, send_file, url_for)
from flask_login import current_user, login_required

from firmware.pbx import g711
from firmware.prompts.convert import MAX_UPLOAD_BYTES, NotAudio, convert
from firmware.webui import wrapup
from firmware.webui.access import owner_required
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import get_panel

logger = logging.getLogger(__name__)

bp = Blueprint("voicemail", __name__)
UPLOAD_ENDPOINTS = {"voicemail.upload_greeting", "voicemail.upload_moh",
                    "voicemail.api_greeting", "voicemail.api_moh"}
SAME_CALL_SECONDS = 1.0


def install(app: Flask, store, library) -> None:
    """Serve `store`'s messages and `library`'s greetings from `app` (box.py calls this)."""
    app.extensions["voicemail"] = (store, library)
    app.register_blueprint(bp)
    app.after_request(_add_voicemail)
    app.context_processor(lambda: {"voicemail_installed": True})


def _store():
    found = current_app.extensions.get("voicemail")
    if found is None:
        abort(404)
    return found


def allow_uploads() -> None:
    """Audio files are bigger than the app's 64 KB limit: raised for the upload views only,
    before the CSRF check reads the form (see contacts_api.allow_uploads)."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = MAX_UPLOAD_BYTES + 64 * 1024


bp.url_value_preprocessor(lambda endpoint, values: allow_uploads())


# -- which call a message belongs to ---------------------------------------------------------
def _epoch(iso: str | None) -> float | None:
    try:
        return datetime.fromisoformat(iso).timestamp() if iso else None
    except ValueError:
        return None


def message_for_call(messages: list[dict], call: dict) -> dict | None:
    if call.get("status") != "missed" or call.get("direction") != "inbound":
        return None
    started = _epoch(call.get("started_at"))
    if started is None:
        return None
    return next((m for m in messages if m.get("caller") == call.get("caller")
                 and abs(float(m.get("offered_at") or 0) - started) < SAME_CALL_SECONDS), None)


def message_for_callback(messages: list[dict], entry: dict) -> dict | None:
    since = _epoch(entry.get("first_missed_at"))
    return next((m for m in messages if m.get("caller") == entry.get("number")
                 and (since is None or float(m.get("offered_at") or 0) >= since - 1)), None)


def url(message: dict | None) -> str | None:
    return url_for("voicemail.play", message_id=message["id"]) if message else None


def with_voicemail(callbacks: list[dict]) -> list[dict]:
    """Callback entries with `voicemail` (the newest message's URL or None)."""
    found = current_app.extensions.get("voicemail")
    messages = found[0].messages() if found else []
    return [{**entry, "voicemail": url(message_for_callback(messages, entry))}
            for entry in callbacks]


def _add_voicemail(response):
    if request.endpoint not in ("api.calls", "api.call", "api.callbacks", "api.dismiss") \
            or response.status_code != 200 or not response.is_json:
        return response
    data = response.get_json(silent=True)
    if not isinstance(data, dict):
        return response
    messages = _store()[0].messages()
    if "calls" in data:
        for call in data["calls"]:
            call["voicemail"] = url(message_for_call(messages, call))
    elif "callbacks" in data:
        data["callbacks"] = with_voicemail(data["callbacks"])
    elif "id" in data:
        data["voicemail"] = url(message_for_call(messages, data))
    response.set_data(json.dumps(data, ensure_ascii=False))
    return response


def _call_of(message: dict) -> dict | None:
    """The call record a message belongs to (for who may hear it)."""
    from firmware.tracker.errors import BadInput
    from firmware.tracker.query import parse_call_filter

    panel = get_panel()
    try:
        flt = parse_call_filter({"number": message.get("caller", ""), "status": "missed"},
                                panel.config)
    except BadInput:
        return None
    return next((c for c in panel.tracker.calls(flt) if message_for_call([message], c)), None)


def _may_hear(message: dict) -> bool:
    if current_user.is_owner:
        return True
    call = _call_of(message)
    return call is not None and wrapup.may_see(current_user, call, get_panel().config)


# -- the message files ------------------------------------------------------------------------
@bp.get("/api/voicemail/<message_id>")
@login_required
def play(message_id: str):
    store = _store()[0]
    message = store.get(message_id) if len(message_id) <= 100 else None
    if message is None or not _may_hear(message):
        abort(404, description="no such message")
    response = send_file(store.path(message_id), mimetype="audio/wav", conditional=True,
                         download_name=f"voicemail-{message_id}.wav")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.delete("/api/voicemail/<message_id>")
@owner_required
def delete(message_id: str):
    if len(message_id) > 100 or not _store()[0].delete(message_id):
        abort(404, description="no such message")
    logger.info("%s deleted voicemail %s", current_user.name, message_id)
    return "", 204


# -- greetings and music on hold --------------------------------------------------------------
@bp.get("/settings/greetings")
@owner_required
def greetings():
    library = _store()[1]
    campaigns = [{"index": i, "name": c.name, "voicemail": c.voicemail,
                  "own": library.has_own("greeting", c.name)}
                 for i, c in enumerate(get_panel().config.campaigns, 1)]
    return render_template("greetings.html", campaigns=campaigns,
                           moh_own=library.has_own("moh"),
                           config_limit=get_panel().config.voicemail.greeting_max_seconds)


@bp.get("/settings/greetings/<int:index>.wav")
@owner_required
def greeting_audio(index: int):
    return _prompt_file("greeting", _campaign(index).name)


@bp.get("/settings/greetings/moh.wav")
@owner_required
def moh_audio():
    return _prompt_file("moh", "")


def _prompt_file(name: str, campaign: str):
    """The file callers hear; where there is none, the tone the box plays instead."""
    library = _store()[1]
    path = library.own_path(name, campaign)
    if not path.is_file():
        path = library.default_path(name)
    if path is not None and path.is_file():
        return send_file(path, mimetype="audio/wav", conditional=True)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(g711.pcm_bytes(library.load(name, campaign)))
    out.seek(0)
    return send_file(out, mimetype="audio/wav", download_name=f"{name}.wav")


def _campaign(index: int):
    campaigns = get_panel().config.campaigns
    if not 1 <= index <= len(campaigns):
        abort(404)
    return campaigns[index - 1]


@bp.post("/settings/greetings/<int:index>")
@owner_required
def upload_greeting(index: int):
    campaign = _campaign(index)
    return _upload(_store()[1].own_path("greeting", campaign.name), campaign.name)


@bp.post("/settings/greetings/moh")
@owner_required
def upload_moh():
    return _upload(_store()[1].own_path("moh"), _("Music on hold"))


@bp.post("/api/greetings/<int:index>")
@owner_required
def api_greeting(index: int):
    """The same upload for scripts: 200 {"seconds"} or 400 {"error", "field": "audio"}."""
    return _api_upload(_store()[1].own_path("greeting", _campaign(index).name))


@bp.post("/api/greetings/moh")
@owner_required
def api_moh():
    return _api_upload(_store()[1].own_path("moh"))


def _api_upload(dest):
    try:
        seconds = _convert_upload(dest)
    except NotAudio as exc:
        return jsonify(error=str(exc), field="audio"), 400
    return jsonify(seconds=round(seconds, 1))


def _convert_upload(dest) -> float:
    upload = request.files.get("audio")
    data = upload.read() if upload is not None else b""
    return convert(data, dest, get_panel().config.voicemail.greeting_max_seconds)


def _upload(dest, label: str):
    try:
        seconds = _convert_upload(dest)
    except NotAudio as exc:
        flash(_("%(name)s: not changed: %(why)s.", name=label, why=_why(exc)), "error")
        return redirect(url_for("voicemail.greetings")), 303
    logger.info("%s uploaded new audio for %s (%.1f s)", current_user.name, label, seconds)
    flash(_("%(name)s: new audio saved (%(seconds)s s).", name=label,
            seconds=f"{seconds:.0f}"))
    return redirect(url_for("voicemail.greetings")), 303


def _why(exc: NotAudio) -> str:
    """The reason an upload was refused, in the reader's language."""
    return {"empty": _("the file is empty"),
            "too_big": _("the file is larger than %(mb)s MB", mb=exc.limit),
            "no_ffmpeg": _("the box cannot convert audio (ffmpeg is missing)"),
            "timeout": _("converting the file took too long"),
            "not_audio": _("the file is not audio the box can read (WAV or MP3)"),
            "silent": _("the file holds no audio"),
            "too_long": _("the recording is longer than %(seconds)s seconds",
                          seconds=exc.limit)}.get(exc.code, str(exc))
