"""Call history: the filterable table, one call's details, the wrap-up form (page and pop-up)."""

from __future__ import annotations

from flask import (Blueprint, abort, flash, redirect, render_template, request, url_for)
from flask_login import current_user, login_required

from firmware.tracker.errors import BadInput
from firmware.tracker.query import parse_call_filter
from firmware.tracker.wrapup import validate_wrapup
from firmware.webui import wrapup
from firmware.webui.contact_forms import apply_wrapup_contact
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import Panel, get_panel

bp = Blueprint("history", __name__)

PAGE_SIZE = 100
FILTER_KEYS = ("from", "to", "campaign", "source", "status", "extension", "number", "direction")


def _filter_args(panel: Panel, args) -> dict[str, str]:
    """The filter fields as asked, with the last 7 days when no date is given."""
    values = {key: args.get(key, "") for key in FILTER_KEYS}
    if not values["from"] and not values["to"]:
        start, end = panel.preset(7)
        values["from"], values["to"] = start.isoformat(), end.isoformat()
    if not current_user.is_owner:
        values["extension"] = current_user.extension or ""
    return values


def _choices(panel: Panel) -> dict:
    config = panel.config
    return {"campaigns": [c.name for c in config.campaigns],
            "sources": sorted({c.source for c in config.campaigns if c.source}),
            "extensions": [(e.number, e.name) for e in config.extensions]}


def _page() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1


@bp.get("/calls")
@login_required
def index():
    panel = get_panel()
    values = _filter_args(panel, request.args)
    error = None
    numbers = _contact_numbers(panel, values.get("number") or "")
    try:
        flt = parse_call_filter({**values, "number": ""} if numbers is not None else values,
                                panel.config)
    except BadInput as exc:
        error = exc
        flt = parse_call_filter(_filter_args(panel, {}), panel.config)
    calls = wrapup.visible_calls(panel.tracker, flt, current_user, panel.config)
    if numbers is not None:   # a name or company typed in the number box: their numbers' calls
        calls = [c for c in calls if c["caller"] in numbers or c["callee"] in numbers]
    page = _page()
    shown = calls[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    query = {k: v for k, v in values.items() if v}
    return render_template("history.html", calls=shown, total=len(calls), page=page,
                           pages=max(1, -(-len(calls) // PAGE_SIZE)), values=values,
                           query=query, error=error, **_choices(panel)), 400 if error else 200


def _contact_numbers(panel: Panel, text: str) -> set[str] | None:
    """The numbers of the contacts whose name or company holds `text` (search by name
    wherever a number is searched), or None when `text` is empty or a number itself."""
    text = text.strip()
    store = getattr(panel.tracker, "contacts", None)
    if not text or store is None or any(ch.isdigit() for ch in text) or len(text) > 100:
        return None
    return {n for contact in store.search(text) for n in contact["numbers"]}


def _visible_call(panel: Panel, call_id: str) -> dict:
    call = panel.tracker.call(call_id) if len(call_id) <= 100 else None
    if call is None or not wrapup.may_see(current_user, call, panel.config):
        abort(404)
    return call


def _form_context(panel: Panel, call: dict) -> dict:
    return {"call": call, "categories": panel.prefs.categories(),
            "suggestions": panel.suggestions.get(panel.tracker, panel.today()),
            "value": wrapup.call_value(panel.config, call),
            "can_wrap_up": wrapup.may_wrap_up(current_user, call, panel.config),
            "can_claim": wrapup.claimable(current_user, call, panel.config),
            "extensions": [(e.number, e.name) for e in panel.config.extensions]}


@bp.get("/calls/<call_id>")
@login_required
def detail(call_id: str):
    panel = get_panel()
    call = _visible_call(panel, call_id)
    return render_template("call.html", **_form_context(panel, call))


@bp.get("/calls/<call_id>/wrapup-form")
@login_required
def wrapup_form(call_id: str):
    """The wrap-up form alone: what the pop-up shows."""
    panel = get_panel()
    call = _visible_call(panel, call_id)
    if not wrapup.may_wrap_up(current_user, call, panel.config):
        abort(403)
    return render_template("_wrapup_form.html", popup=True, **_form_context(panel, call))


@bp.post("/calls/<call_id>/wrapup")
@login_required
def save_wrapup(call_id: str):
    """The wrap-up form of the details page (no JavaScript needed); same path as the API."""
    panel = get_panel()
    call = _visible_call(panel, call_id)
    fields = wrapup.form_fields(request.form, owner=current_user.is_owner)
    try:
        if wrapup.may_wrap_up(current_user, call):
            # The contact part (save the caller, move the stage) in the same step: the
            # wrap-up is checked first, so a bad wrap-up changes no contact either.
            validate_wrapup(fields, panel.config)
            apply_wrapup_contact(panel, current_user, call, request.form)
        wrapup.save(panel, current_user, call, fields)
    except wrapup.Forbidden:
        abort(403)
    except BadInput as exc:
        return render_template("call.html", error=exc, form=request.form,
                               **_form_context(panel, call)), 400
    flash(_("Wrap-up saved."))
    return redirect(url_for("history.detail", call_id=call_id))
