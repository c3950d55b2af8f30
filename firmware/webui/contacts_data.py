"""Contacts as the panel reads them: the rules of this box, who may do what, the timeline, the
task list and the funnel. Shared by the JSON API (contacts_api.py) and the pages (contacts.py)
so both go the same way to the same store.

Access (docs/api.md): everyone signed in reads contacts and may create and change them; staff
may give a contact only to themselves (or to nobody); importing, the funnel report and the
lost-reason list are the owner's. A staff member's timeline shows only the calls they may see.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import abort

from firmware.tracker import funnel as folds
from firmware.tracker.contact_rules import Rules, to_api
from firmware.tracker.errors import BadInput
from firmware.tracker.localtime import iso_formatter
from firmware.tracker.query import CallFilter, day_bounds
from firmware.webui import wrapup
from firmware.webui.panel import Panel
from firmware.webui.users import User

MAX_ID = 20


def store(panel: Panel):
    """The contacts store, or 404 on a tracker without one (a central panel)."""
    contacts = getattr(panel.tracker, "contacts", None)
    if contacts is None:
        abort(404, description="this panel keeps no contacts")
    return contacts


def rules(panel: Panel) -> Rules:
    config = panel.config
    return Rules(country=config.box.country, tz=panel.tz,
                 campaigns=tuple(c.name for c in config.campaigns),
                 owners=tuple(u.name for u in panel.users.all()))


def check_owner_field(user: User, body: dict) -> None:
    """Staff may take a contact themselves or leave it unassigned, not hand it to others."""
    wanted = body.get("owner")
    if not user.is_owner and wanted not in (None, "", user.name):
        raise wrapup.Forbidden("owner", "staff may assign a contact only to themselves")


def contact_or_404(panel: Panel, contact_id: str) -> dict[str, Any]:
    found = store(panel).get(contact_id) if len(contact_id) <= MAX_ID else None
    if found is None:
        abort(404, description="no such contact")
    return found


def render(panel: Panel, contact: dict[str, Any]) -> dict[str, Any]:
    return to_api(contact, panel.tz)


def search(panel: Panel, args) -> list[dict[str, Any]]:
    """/api/contacts: `q` (name, company or number), `stage`, `owner`, `campaign`."""
    return [render(panel, c) for c in find(panel, args)]


def find(panel: Panel, args) -> list[dict[str, Any]]:
    """The stored contacts (read-only dicts) matching /api/contacts' arguments."""
    values = {}
    for key in ("q", "stage", "owner", "campaign"):
        value = args.get(key, "")
        if not isinstance(value, str) or len(value) > 100:
            raise BadInput(key, "must be text of at most 100 characters")
        values[key] = value.strip()
    if values["stage"] and values["stage"] not in ("new", "in_progress", "offered", "won",
                                                   "lost"):
        raise BadInput("stage", "must be one of new, in_progress, offered, won, lost")
    return store(panel).search(values["q"], stage=values["stage"] or None,
                               owner=values["owner"] or None,
                               campaign=values["campaign"] or None)


def timeline(panel: Panel, user: User, contact: dict[str, Any]) -> list[dict[str, Any]]:
    """Calls with the contact's numbers (each in the /api/calls shape, plus `at` and `kind`),
    stage changes and notes; newest first."""
    fmt = iso_formatter(panel.tz)
    events: list[tuple[float, int, dict[str, Any]]] = []
    seen: set[str] = set()
    for number in contact["numbers"]:
        for call in wrapup.visible_calls(panel.tracker, CallFilter(number=number), user,
                                         panel.config):
            if call["id"] not in seen:
                seen.add(call["id"])
                at = datetime.fromisoformat(call["started_at"]).timestamp()
                events.append((at, len(events), {"at": call["started_at"], "kind": "call",
                                                 **call}))
    for doc in store(panel).history(contact["id"]):
        at = doc["at"]
        if doc["op"] == "note":
            events.append((at, len(events), {"at": fmt(at), "kind": "note",
                                             "text": doc["text"], "by": doc["by"]}))
            continue
        fields = doc.get("fields", {})
        if "stage" in fields:
            event = {"at": fmt(at), "kind": "stage", "stage": fields["stage"], "by": doc["by"]}
            for key in ("next_contact_at", "value", "lost_reason"):
                if key in fields:
                    event[key] = fmt(fields[key]) if key == "next_contact_at" else fields[key]
            events.append((at, len(events), event))
    events.sort(key=lambda item: (-item[0], -item[1]))
    return [event for _, _, event in events]


def changes(panel: Panel, contact: dict[str, Any]) -> list[dict[str, Any]]:
    """Every change to the contact: when, who, which fields (oldest first)."""
    fmt = iso_formatter(panel.tz)
    out = []
    for doc in store(panel).history(contact["id"]):
        entry = {"at": fmt(doc["at"]), "by": doc["by"]}
        entry.update({"note": doc["text"]} if doc["op"] == "note" else
                     {"fields": doc["changed"]})
        out.append(entry)
    return out


def tasks(panel: Panel, user: User, owner: str | None = None) -> list[dict[str, Any]]:
    """/api/tasks: callbacks and due follow-ups; staff see the follow-ups that are theirs or
    nobody's, the owner all of them (or one person's with `owner`)."""
    follow_ups = store(panel).in_stage("in_progress")
    if not user.is_owner:
        follow_ups = [c for c in follow_ups if c["owner"] in ("", user.name)]
    elif owner:
        follow_ups = [c for c in follow_ups if c["owner"] == owner]
    return folds.tasks(panel.tracker.callbacks(), follow_ups, store(panel).now(), panel.tz)


def funnel(panel: Panel, start: date, end: date) -> dict[str, Any]:
    contacts_store = store(panel)
    low, high = day_bounds(start, end, panel.tz)
    sources = {c.name: c.source for c in panel.config.campaigns}

    def won_at(contact_id: str) -> float | None:
        return folds.stage_reached_at(contacts_store.history(contact_id), "won")

    first_call = getattr(panel.tracker, "first_call_at", lambda numbers: None)
    figures = folds.funnel(contacts_store.all(), low, high, won_at=won_at,
                           first_call_at=first_call, sources=sources)
    return {"from": start.isoformat(), "to": end.isoformat(), **figures}
