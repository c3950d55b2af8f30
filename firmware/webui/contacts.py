"""Contact pages: the list with search, a contact's card (details, stage, timeline, notes), the
create and edit form, and "save caller as contact" from a call. Every change goes through the
same store calls as the API (contacts_data.py), so the rules and the 409 are the same."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from firmware.tracker.contact_rules import PRIORITIES, STAGES
from firmware.tracker.contact_store import NumberTaken
from firmware.tracker.errors import BadInput
from firmware.webui import contacts_data as data
from firmware.webui import wrapup
from firmware.webui.contact_forms import contact_body, stage_body
from firmware.webui.contacts_api import allow_uploads
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import get_panel
from firmware.webui.config_words import translate_message

bp = Blueprint("contacts", __name__)
bp.url_value_preprocessor(lambda endpoint, values: allow_uploads())

PAGE_SIZE = 100


def stage_label(stage: str) -> str:
    return {"new": _("New lead"), "in_progress": _("In progress"), "offered": _("Offer presented"),
            "won": _("Won"), "lost": _("Lost")}.get(stage, stage)


def priority_label(priority: str) -> str:
    return {"low": _("Low"), "normal": _("Normal"), "high": _("High")}.get(priority, priority)


@bp.app_context_processor
def _labels() -> dict:
    return {"stage_label": stage_label, "priority_label": priority_label, "stages": STAGES,
            "contact_reasons": lambda: data.store(get_panel()).reasons()}


def _choices(panel) -> dict:
    return {"campaigns": [c.name for c in panel.config.campaigns],
            "owners": [u.name for u in panel.users.all()] if current_user.is_owner
            else [current_user.name],
            "priorities": PRIORITIES, "reasons": data.store(panel).reasons()}


@bp.get("/contacts")
@login_required
def index():
    panel = get_panel()
    args = {key: request.args.get(key, "")[:100] for key in ("q", "stage", "owner", "campaign")}
    if args["stage"] not in STAGES:
        args["stage"] = ""
    found = data.find(panel, args)
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    shown = [data.render(panel, c) for c in found[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
    return render_template("contacts.html", contacts=shown, total=len(found), values=args,
                           page=page, pages=max(1, -(-len(found) // PAGE_SIZE)),
                           query={k: v for k, v in args.items() if v}, **_choices(panel))


@bp.get("/contacts/<contact_id>")
@login_required
def card(contact_id: str):
    panel = get_panel()
    contact = data.render(panel, data.contact_or_404(panel, contact_id))
    return _card(panel, contact)


def _card(panel, contact: dict, *, error: BadInput | None = None, form=None, status=200):
    raw = data.contact_or_404(panel, contact["id"])
    return render_template("contact.html", contact=contact, error=error, form=form,
                           events=data.timeline(panel, current_user, raw),
                           **_choices(panel)), status


@bp.post("/contacts/<contact_id>/stage")
@login_required
def change_stage(contact_id: str):
    panel = get_panel()
    data.contact_or_404(panel, contact_id)
    body = stage_body(request.form)
    try:
        if not body:
            raise BadInput("stage", _("choose a stage"))
        data.store(panel).change(contact_id, body, current_user.name, data.rules(panel))
    except BadInput as exc:
        contact = data.render(panel, data.contact_or_404(panel, contact_id))
        return _card(panel, contact, error=exc, form=request.form, status=400)
    flash(_("Stage changed."))
    return redirect(url_for("contacts.card", contact_id=contact_id), 303)


@bp.post("/contacts/<contact_id>/note")
@login_required
def add_note(contact_id: str):
    panel = get_panel()
    data.contact_or_404(panel, contact_id)
    try:
        data.store(panel).add_note(contact_id, request.form.get("note", ""), current_user.name)
    except BadInput as exc:
        contact = data.render(panel, data.contact_or_404(panel, contact_id))
        return _card(panel, contact, error=exc, form=request.form, status=400)
    flash(_("Note added."))
    return redirect(url_for("contacts.card", contact_id=contact_id), 303)


def _form(panel, contact: dict | None, *, error=None, form=None, status=200):
    return render_template("contact_form.html", contact=contact, error=error, form=form,
                           **_choices(panel)), status


@bp.get("/contacts/new")
@login_required
def new():
    panel = get_panel()
    prefill = {"numbers": request.args.get("number", "")[:40],
               "campaign": request.args.get("campaign", "")[:100]}
    return _form(panel, None, form=prefill)


@bp.post("/contacts/new")
@login_required
def create():
    panel = get_panel()
    body = contact_body(request.form)
    try:
        data.check_owner_field(current_user, body)
        made = data.store(panel).create(body, current_user.name, data.rules(panel))
    except wrapup.Forbidden:
        abort(403)
    except BadInput as exc:
        return _form(panel, None, error=exc, form=request.form, status=_status(exc))
    flash(_("Contact saved."))
    return redirect(url_for("contacts.card", contact_id=made["id"]), 303)


@bp.get("/contacts/<contact_id>/edit")
@login_required
def edit(contact_id: str):
    panel = get_panel()
    contact = data.render(panel, data.contact_or_404(panel, contact_id))
    return _form(panel, contact)


@bp.post("/contacts/<contact_id>/edit")
@login_required
def save(contact_id: str):
    panel = get_panel()
    contact = data.render(panel, data.contact_or_404(panel, contact_id))
    body = contact_body(request.form)
    body.pop("stage", None)                 # the card's stage form moves the stage
    try:
        data.check_owner_field(current_user, body)
        data.store(panel).change(contact_id, body, current_user.name, data.rules(panel))
    except wrapup.Forbidden:
        abort(403)
    except BadInput as exc:
        return _form(panel, contact, error=exc, form=request.form, status=_status(exc))
    flash(_("Contact saved."))
    return redirect(url_for("contacts.card", contact_id=contact_id), 303)


@bp.post("/calls/<call_id>/contact")
@login_required
def from_call(call_id: str):
    """Save a call's caller (or the number called) as a contact: one field, the name."""
    panel = get_panel()
    call = panel.tracker.call(call_id) if len(call_id) <= 100 else None
    if call is None or not wrapup.may_see(current_user, call, panel.config):
        abort(404)
    number = call["caller"] if call["direction"] == "inbound" else call["callee"]
    body = {"name": request.form.get("name", ""), "numbers": [number],
            "campaign": call.get("campaign") or ""}
    try:
        made = data.store(panel).create(body, current_user.name, data.rules(panel))
    except BadInput as exc:
        flash(f"{exc.field}: {translate_message(exc.message)}", "error")
        return redirect(url_for("history.detail", call_id=call_id), 303)
    flash(_("Contact saved."))
    return redirect(url_for("contacts.card", contact_id=made["id"]), 303)


def _status(error: BadInput) -> int:
    return 409 if isinstance(error, NumberTaken) else 400
