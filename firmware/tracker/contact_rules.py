"""What a contact may hold, and the funnel's rules: pure checks from a request body to clean
fields, and the contact in the /api/contacts shape.

Why here and not in the web layer: the store applies these checks under its own lock, against
the contact as it stands at that moment, so two panels changing one contact can never leave it
breaking a rule (an `in_progress` contact without its next-contact time, a `lost` one without
a reason). Every problem is a BadInput naming the field, before anything is written.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Iterable, Mapping

from firmware.config import normalise_number
from firmware.tracker.errors import BadInput
from firmware.tracker.localtime import iso_formatter

def N_(text: str) -> str:
    """Marks a stored default word for the panel's catalogs (firmware.webui.i18n.N_); the
    tracker keeps English, the panel translates it where it shows it."""
    return text


STAGES = ("new", "in_progress", "offered", "won", "lost")
PRIORITIES = ("low", "normal", "high")
FIELDS = ("name", "company", "numbers", "email", "campaign", "stage", "next_contact_at",
          "owner", "priority", "value", "lost_reason", "notes")
DEFAULT_LOST_REASONS = (N_("Too expensive"), N_("Chose a competitor"), N_("Not interested"),
                        N_("Could not reach"), N_("Other"))

MAX_TEXT = 200            # name, company, e-mail, owner, campaign, lost reason
MAX_NOTES = 5000
MAX_NUMBERS = 10
MAX_VALUE = 1e12
MAX_REASONS = 50
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EARLIEST = datetime(2000, 1, 1).timestamp()
_LATEST = datetime(2100, 1, 1).timestamp()


@dataclass(frozen=True)
class Rules:
    """What the checks need to know about the box: its country (numbers written without +),
    time zone (times written without an offset), campaigns, users and the lost reasons."""

    country: str
    tz: tzinfo
    campaigns: tuple[str, ...] = ()
    owners: tuple[str, ...] | None = None      # None: any name (tools, tests)
    lost_reasons: tuple[str, ...] = field(default=DEFAULT_LOST_REASONS)


def blank() -> dict[str, Any]:
    """A new contact's fields before the request's are applied."""
    return {"name": "", "company": "", "numbers": [], "email": "", "campaign": "",
            "stage": "new", "next_contact_at": None, "owner": "", "priority": "normal",
            "value": None, "lost_reason": "", "notes": ""}


def clean_fields(body: Mapping[str, Any], rules: Rules,
                 current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The changed fields of `body` checked and normalised; BadInput names the first bad one.

    `current` is the contact as stored (None when creating). Only the fields that differ from
    `current` are returned, so a change that changes nothing writes nothing.
    """
    if not isinstance(body, Mapping):
        raise BadInput("body", "must be a JSON object")
    unknown = [key for key in body if key not in FIELDS]
    if unknown:
        raise BadInput(str(unknown[0])[:50], "unknown field")
    before = dict(current) if current is not None else blank()
    clean: dict[str, Any] = {}
    for key, value in body.items():
        clean[key] = _CHECKS[key](value, rules, before)
    after = {**before, **clean}
    if not after["name"] and not after["numbers"]:
        raise BadInput("name", "give a name or a phone number")
    _check_stage(after, before, clean, rules)
    if current is None:
        return {key: after[key] for key in FIELDS}
    return {key: value for key, value in clean.items() if value != before.get(key)}


def _check_stage(after: dict, before: dict, clean: dict, rules: Rules) -> None:
    stage = after["stage"]
    if stage == "in_progress" and after["next_contact_at"] is None:
        raise BadInput("next_contact_at", "in_progress needs the date and time of the next "
                                          "contact")
    if stage == "lost":
        if not after["lost_reason"]:
            raise BadInput("lost_reason", "lost needs a reason")
        if "lost_reason" in clean and clean["lost_reason"] != before.get("lost_reason") \
                and clean["lost_reason"] not in rules.lost_reasons:
            raise BadInput("lost_reason", "not one of the owner's lost reasons")
    elif clean.get("lost_reason"):
        raise BadInput("lost_reason", "only a lost contact has a lost reason")
    elif before.get("lost_reason") and stage != before.get("stage"):
        clean["lost_reason"] = ""          # leaving "lost": the old reason no longer holds


def _numbers(value: Any, rules: Rules, before: dict) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput("numbers", "must be a list of phone numbers")
    found: list[str] = []
    for text in value:
        if not text.strip():
            continue
        e164 = normalise(text, rules.country) if len(text) <= 40 else None
        if e164 is None:
            raise BadInput("numbers", f"not a phone number: {text[:40]}")
        if e164 not in found:
            found.append(e164)
    if len(found) > MAX_NUMBERS:
        raise BadInput("numbers", f"at most {MAX_NUMBERS} numbers")
    return found


clean_numbers = _numbers


_MISSING = object()
_seen: dict[tuple[str, str], str | None] = {}
MAX_SEEN = 100_000


def normalise(text: str, country: str) -> str | None:
    """normalise_number, remembered: an import parses each number once, not once per check
    (phonenumbers takes ~0.1 ms a number on a Pi-class CPU). Its E.164 answer is remembered
    as valid too, so checking a number that is already clean costs a dict look-up."""
    key = (text, country)
    found = _seen.get(key, _MISSING)
    if found is _MISSING:
        found = normalise_number(text, country)
        if len(_seen) >= MAX_SEEN:
            _seen.clear()
        _seen[key] = found
        if found is not None:
            _seen[(found, country)] = found
    return found


def forget_numbers() -> None:
    """Drop what `normalise` remembers (after an import: it served its purpose)."""
    _seen.clear()


def _email(value: Any, rules: Rules, before: dict) -> str:
    text = _plain_text(value, "email", MAX_TEXT)
    if text and not _EMAIL.match(text):
        raise BadInput("email", "not an e-mail address")
    return text


def _campaign(value: Any, rules: Rules, before: dict) -> str:
    text = _plain_text(value, "campaign", MAX_TEXT)
    if text and text != before.get("campaign") and text not in rules.campaigns:
        raise BadInput("campaign", "not one of the box's campaigns")
    return text


def _owner(value: Any, rules: Rules, before: dict) -> str:
    text = _plain_text(value, "owner", MAX_TEXT)
    if text and rules.owners is not None and text != before.get("owner") \
            and text not in rules.owners:
        raise BadInput("owner", "not a panel user")
    return text


def _stage(value: Any, rules: Rules, before: dict) -> str:
    if value not in STAGES:
        raise BadInput("stage", f"must be one of {', '.join(STAGES)}")
    return value


def _priority(value: Any, rules: Rules, before: dict) -> str:
    if value not in PRIORITIES:
        raise BadInput("priority", f"must be one of {', '.join(PRIORITIES)}")
    return value


def _value(value: Any, rules: Rules, before: dict) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not 0 <= value < MAX_VALUE:
        raise BadInput("value", "must be a number, 0 or more")
    return float(value)


def _lost_reason(value: Any, rules: Rules, before: dict) -> str:
    return _plain_text(value, "lost_reason", MAX_TEXT)


def _next_contact_at(value: Any, rules: Rules, before: dict) -> float | None:
    if value is None or value == "":
        return None
    return parse_time(value, rules.tz, "next_contact_at")


def parse_time(value: Any, tz: tzinfo, field_name: str) -> float:
    """An ISO 8601 date-time as epoch seconds; one without an offset is the box's local time."""
    if not isinstance(value, str) or len(value) > 40:
        raise BadInput(field_name, "must be a date and time in ISO 8601")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(field_name, "must be a date and time in ISO 8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    at = moment.timestamp()
    if not _EARLIEST <= at < _LATEST:
        raise BadInput(field_name, "must lie between 2000 and 2100")
    return at


def _plain_text(value: Any, name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadInput(name, "must be text")
    value = " ".join(value.split())
    if len(value) > limit:
        raise BadInput(name, f"must be at most {limit} characters")
    return value


def _text_field(name: str, limit: int):
    def check(value: Any, rules: Rules, before: dict) -> str:
        if limit == MAX_NOTES:
            if value is None:
                return ""
            if not isinstance(value, str):
                raise BadInput(name, "must be text")
            value = value.strip()
            if len(value) > limit:
                raise BadInput(name, f"must be at most {limit} characters")
            return value
        return _plain_text(value, name, limit)
    return check


_CHECKS = {
    "name": _text_field("name", MAX_TEXT),
    "company": _text_field("company", MAX_TEXT),
    "numbers": _numbers,
    "email": _email,
    "campaign": _campaign,
    "stage": _stage,
    "next_contact_at": _next_contact_at,
    "owner": _owner,
    "priority": _priority,
    "value": _value,
    "lost_reason": _lost_reason,
    "notes": _text_field("notes", MAX_NOTES),
}


def clean_reasons(lines: Iterable[Any]) -> list[str]:
    """The owner's lost reasons: trimmed, de-duplicated, 1 to MAX_REASONS of them."""
    found: list[str] = []
    for line in lines:
        if not isinstance(line, str):
            raise BadInput("lost_reasons", "must be a list of texts")
        text = " ".join(line.split())
        if len(text) > MAX_TEXT:
            raise BadInput("lost_reasons", f"a reason has at most {MAX_TEXT} characters")
        if text and text not in found:
            found.append(text)
    if not found or len(found) > MAX_REASONS:
        raise BadInput("lost_reasons", f"give 1 to {MAX_REASONS} reasons")
    return found


def to_api(contact: Mapping[str, Any], tz: tzinfo) -> dict[str, Any]:
    """A stored contact in the /api/contacts shape (times ISO 8601 in the box's zone)."""
    fmt = iso_formatter(tz)
    return {
        "id": contact["id"],
        "name": contact["name"],
        "company": contact["company"],
        "numbers": list(contact["numbers"]),
        "email": contact["email"],
        "campaign": contact["campaign"],
        "stage": contact["stage"],
        "next_contact_at": fmt(contact["next_contact_at"]),
        "owner": contact["owner"],
        "priority": contact["priority"],
        "value": contact["value"],
        "lost_reason": contact["lost_reason"],
        "notes": contact["notes"],
        "created_at": fmt(contact["created_at"]),
        "updated_at": fmt(contact["updated_at"]),
    }
