"""HTML form fields -> the contacts API's JSON body, and the stage change that rides along with
a wrap-up. Pure apart from the store call in `apply_wrapup_contact`; the JS of the pop-up
builds the same body (static/contacts.js)."""

from __future__ import annotations

from typing import Any, Mapping

from firmware.webui import contacts_data as data
from firmware.webui.wrapup import parse_amount

TEXT_FIELDS = ("name", "company", "email", "campaign", "owner", "priority", "notes")


def contact_body(form: Mapping[str, str], *, prefix: str = "") -> dict[str, Any]:
    """The contact fields a form sent (empty text fields included: they clear the field)."""
    body: dict[str, Any] = {}
    for key in TEXT_FIELDS:
        if prefix + key in form:
            body[key] = form[prefix + key]
    if prefix + "numbers" in form:
        text = form[prefix + "numbers"]
        body["numbers"] = [n.strip() for n in text.replace(";", ",").replace("\n", ",")
                           .split(",") if n.strip()]
    body.update(stage_body(form, prefix=prefix))
    return body


def stage_body(form: Mapping[str, str], *, prefix: str = "") -> dict[str, Any]:
    """A stage change from a form: the stage and only the field that stage needs."""
    stage = form.get(prefix + "stage", "").strip()
    if not stage:
        return {}
    body: dict[str, Any] = {"stage": stage}
    if stage == "in_progress":
        body["next_contact_at"] = form.get(prefix + "next_contact_at", "").strip() or None
    elif stage == "won":
        value = form.get(prefix + "value", "").strip()
        if value:
            body["value"] = parse_amount(value)
    elif stage == "lost":
        body["lost_reason"] = form.get(prefix + "lost_reason", "").strip()
    return body


def apply_wrapup_contact(panel, user, call: dict, form: Mapping[str, str]) -> dict | None:
    """The contact part of a wrap-up form: save the caller as a contact, or move the known
    caller's stage. Raises BadInput / NumberTaken / Forbidden before anything is written."""
    number = call["caller"] if call.get("direction") == "inbound" else call.get("callee")
    known = call.get("contact")
    store = data.store(panel)
    if known:
        body = stage_body(form, prefix="contact_")
        if not body:
            return None
        return store.change(known["id"], body, user.name, data.rules(panel))
    name = " ".join(form.get("contact_name", "").split())
    if not name:
        return None
    body = {"name": name, "numbers": [number], "campaign": call.get("campaign") or "",
            **stage_body(form, prefix="contact_")}
    return store.create(body, user.name, data.rules(panel))
