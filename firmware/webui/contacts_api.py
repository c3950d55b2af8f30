"""The contacts part of the JSON API (CONTRACT.md "Contacts and the sales funnel", extras in
docs/api.md). Thin views: parse, check the role, ask the store, answer. Bad input is
400 {"error", "field"} with nothing changed; a number owned by another contact is 409."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask_login import current_user, login_required

from firmware.tracker.contact_import import MAX_FILE_BYTES, read_sheet
from firmware.tracker.contact_store import NumberTaken
from firmware.tracker.errors import BadInput
from firmware.tracker.query import parse_period
from firmware.webui import contacts_data as data
from firmware.webui.access import owner_required
from firmware.webui.panel import get_panel
from firmware.webui.wrapup import Forbidden

bp = Blueprint("contacts_api", __name__)

UPLOAD_LIMIT = MAX_FILE_BYTES + 64 * 1024          # the file plus the form around it
UPLOAD_ENDPOINTS = {"contacts_api.import_file", "contacts_api.import_preview",
                    "contact_imports.import_preview", "contact_imports.import_run"}


def allow_uploads() -> None:
    """Spreadsheets are bigger than the app's 64 KB limit: raise it for the import views only.

    Run as a url_value_preprocessor, which Flask calls before any before_request function,
    so the CSRF check (which reads the form) already sees the larger limit.
    """
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = UPLOAD_LIMIT


bp.url_value_preprocessor(lambda endpoint, values: allow_uploads())


@bp.errorhandler(NumberTaken)
def _taken(error: NumberTaken):
    return jsonify(error=error.message, field=error.field, contact=error.contact), 409


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


@bp.get("/api/contacts")
@login_required
def index():
    return jsonify(contacts=data.search(get_panel(), request.args))


@bp.post("/api/contacts")
@login_required
def create():
    panel = get_panel()
    body = _json_body()
    data.check_owner_field(current_user, body)
    made = data.store(panel).create(body, current_user.name, data.rules(panel))
    return jsonify(data.render(panel, made)), 201


@bp.get("/api/contacts/<contact_id>")
@login_required
def show(contact_id: str):
    panel = get_panel()
    return jsonify(data.render(panel, data.contact_or_404(panel, contact_id)))


@bp.patch("/api/contacts/<contact_id>")
@login_required
def change(contact_id: str):
    panel = get_panel()
    body = _json_body()
    data.contact_or_404(panel, contact_id)
    data.check_owner_field(current_user, body)
    try:
        changed = data.store(panel).change(contact_id, body, current_user.name,
                                           data.rules(panel))
    except KeyError:
        abort(404, description="no such contact")
    return jsonify(data.render(panel, changed))


@bp.post("/api/contacts/<contact_id>/notes")
@login_required
def add_note(contact_id: str):
    panel = get_panel()
    body = _json_body()
    contact = data.contact_or_404(panel, contact_id)
    unknown = set(body) - {"text"}
    if unknown:
        raise BadInput(sorted(unknown)[0][:50], "unknown field")
    try:
        data.store(panel).add_note(contact_id, body.get("text"), current_user.name)
    except BadInput as exc:
        raise BadInput("text", exc.message) from None
    return jsonify(events=data.timeline(panel, current_user, contact)), 201


@bp.get("/api/contacts/<contact_id>/timeline")
@login_required
def timeline(contact_id: str):
    panel = get_panel()
    contact = data.contact_or_404(panel, contact_id)
    return jsonify(events=data.timeline(panel, current_user, contact))


@bp.get("/api/contacts/<contact_id>/changes")
@login_required
def changes(contact_id: str):
    panel = get_panel()
    contact = data.contact_or_404(panel, contact_id)
    return jsonify(changes=data.changes(panel, contact))


def _uploaded_sheet():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadInput("file", "attach an .xlsx file as 'file'")
    return read_sheet(upload.read(MAX_FILE_BYTES + 1))


def _import_campaign(panel) -> str:
    campaign = request.form.get("campaign", "").strip()
    if campaign and campaign not in {c.name for c in panel.config.campaigns}:
        raise BadInput("campaign", "not one of the box's campaigns")
    return campaign


@bp.post("/api/contacts/import/preview")
@owner_required
def import_preview():
    """What an import would read: the columns recognised, the row count, the first rows."""
    _import_campaign(get_panel())
    return jsonify(_uploaded_sheet().to_api())


@bp.post("/api/contacts/import")
@owner_required
def import_file():
    panel = get_panel()
    campaign = _import_campaign(panel)
    sheet = _uploaded_sheet()
    result = data.store(panel).import_rows(sheet.rows, campaign, current_user.name,
                                           data.rules(panel))
    return jsonify(result.to_api())


@bp.get("/api/tasks")
@login_required
def tasks():
    owner = request.args.get("owner", "").strip()[:100] or None
    return jsonify(tasks=data.tasks(get_panel(), current_user, owner))


@bp.get("/api/funnel")
@owner_required
def funnel():
    panel = get_panel()
    start, end = parse_period(request.args, panel.config, default_days=30)
    return jsonify(data.funnel(panel, start, end))


@bp.get("/api/lost-reasons")
@login_required
def lost_reasons():
    return jsonify(lost_reasons=data.store(get_panel()).reasons())


@bp.put("/api/lost-reasons")
@owner_required
def set_lost_reasons():
    body = _json_body()
    reasons = body.get("lost_reasons")
    if not isinstance(reasons, list):
        raise BadInput("lost_reasons", "must be a list of texts")
    saved = data.store(get_panel()).set_reasons(reasons, current_user.name)
    return jsonify(lost_reasons=saved)
