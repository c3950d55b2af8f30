"""What each settings form shows and how its posted text becomes TOML values. Pure.

One description per kind of entry (campaigns, desk phones, trunks) and one for the general
settings, so the panel has one form template and one set of views instead of a copy per kind.
A form value that cannot be a value at all (not a number, control characters) is a
FieldError here; whether the values make a good config (a real phone number, a known
extension, no duplicates) is left to parse_config, which checks the whole file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from firmware.webui.users import UserError as FieldError   # (field, message), as for users
from firmware.webui.i18n import N_, parse_amount

MAX_TEXT = 200
MAX_AMOUNT = 1e9




@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str = "text"      # text, amount, integer, secret, flag, phones, choice
    required: bool = False
    hint: str = ""
    placeholder: str = ""
    low: int = 0            # integer bounds (parse_config checks them again)
    high: int = 10 ** 9
    default: Any = None     # a flag equal to it is left out of the file (the default applies)


@dataclass(frozen=True)
class Kind:
    """A [[table]] array of the config edited as a list of entries."""

    slug: str               # URL: /settings/<slug>
    table: str              # TOML array key
    identity: str           # the field that names an entry (guards edits from stale pages)
    title: str
    singular: str
    add: str                # the add button
    fields: tuple[Field, ...]
    intro: str = ""
    help: tuple[str, ...] = ()
    saved_note: str = ""    # said after a save: what happens now


CAMPAIGNS = Kind(
    "campaigns", "campaign", "name", N_("Campaigns"), "campaign", N_("Add a campaign"),
    (Field("name", N_("Name"), required=True, placeholder=N_("e.g. Shop window")),
     Field("number", N_("Tracked number"), required=True, placeholder="+48 22 123 45 67"),
     Field("source", N_("Source"), placeholder=N_("e.g. Outdoor, Google Ads, Print")),
     Field("lead_value", N_("Lead value"), "amount"),
     Field("cost_per_month", N_("Cost per month"), "amount"),
     Field("ring", N_("Phones that ring"), "phones", required=True),
     Field("record", N_("Record the answered calls"), "flag", default=False,
           hint=N_("both voices, caller and desk phone; the recording plays on the call's page")),
     Field("voicemail", N_("Voicemail when nobody answers"), "flag", default=False,
           hint=N_("the box answers, plays the greeting and records a message; it waits on "
                   "the callback list"))),
    intro=N_("Each advert gets its own number on the trunk. Calls to that number are counted "
          "for its campaign and ring the phones chosen here."),
    help=(N_("Get a new number from your SIP provider for each advert and enter it here. Calls "
          "to it ring the phones you choose, all at once; the first to answer takes the call."),
          N_("The lead value is what a call from this campaign is worth to you when it is "
          "answered; staff can change it in the wrap-up. The monthly cost gives the cost per "
          "call in the reports.")),
    saved_note=N_("Calls to its number are tracked from now on."))

SIP_PASSWORD_HINT = \
    N_("at least 8 characters, letters with digits or symbols; enter the same in the phone")

EXTENSIONS = Kind(
    "extensions", "extension", "number", N_("Desk phones"), "desk phone", N_("Add a desk phone"),
    (Field("number", N_("Extension"), required=True, placeholder="101",
           hint=N_("2 to 6 digits: what colleagues dial, and the phone's SIP user name")),
     Field("name", N_("Name"), placeholder=N_("e.g. Reception")),
     Field("password", N_("SIP password"), "secret", required=True,
           hint=SIP_PASSWORD_HINT)),
    intro=N_("The desk phones that register to the box. Set each phone's SIP account to this "
          "box's address, the extension as user name and this password."),
    help=(N_("A phone rings for the campaigns that list its extension. Removing a phone that a "
          "campaign rings is refused until the campaign no longer lists it."),),
    saved_note=N_("The phone can register with it now."))

TRUNKS = Kind(
    "trunks", "trunk", "name", N_("Trunks"), "trunk", N_("Add a trunk"),
    (Field("name", N_("Name"), required=True, placeholder=N_("e.g. provider")),
     Field("host", N_("Host"), required=True, placeholder="sip.provider.example"),
     Field("port", N_("Port"), "integer", low=1, high=65535, placeholder="5060"),
     Field("username", N_("User name"), hint=N_("empty for a trunk that trusts the box's address")),
     Field("password", N_("Password"), "secret"),
     Field("register", N_("Register to the provider"), "flag")),
    intro=N_("The SIP provider's line that brings the campaign numbers to the box and carries "
          "the outgoing calls."),
    help=(N_("With registration the box logs in to the provider and keeps the line up; without "
          "it, the provider sends calls to the box's address and only calls from the host are "
          "taken."),),
    saved_note=N_("The box registers with the new settings right away."))

KINDS = {kind.slug: kind for kind in (CAMPAIGNS, EXTENSIONS, TRUNKS)}

GENERAL = (
    ("box", Field("name", N_("Box name"), required=True)),
    ("box", Field("timezone", N_("Time zone"), required=True, placeholder="Europe/Warsaw")),
    ("box", Field("country", N_("Country"), required=True, placeholder="PL",
                  hint=N_("for numbers written without +, like 22 123 45 67"))),
    ("box", Field("currency", N_("Currency"), required=True, placeholder="PLN")),
    ("tracking", Field("ring_timeout_seconds", N_("Ring for at most (seconds)"), "integer",
                       low=5, high=600, hint=N_("unanswered this long: a missed call"))),
    ("tracking", Field("target_call_seconds", N_("Target call from (seconds)"), "integer", low=0,
                       high=3600, hint=N_("answered and talked at least this long"))),
    ("tracking", Field("unique_window_days", N_("New caller after (days)"), "integer", low=1,
                       high=3650, hint=N_("a number not heard from for this long counts as new"))),
)


def entry_values(kind: Kind, form: Any, extensions: list[str], *, new: bool
                 ) -> dict[str, Any]:
    """The TOML values of a posted entry form. A secret left empty on an edit is not in the
    result (the stored one stays); a flag not ticked is False."""
    values: dict[str, Any] = {}
    for field in kind.fields:
        value = field_value(field, form, extensions)
        if field.kind == "secret" and value == "":
            if field.required and new:
                raise FieldError(field.key, N_("required"))
            if not new:
                continue
        if field.kind == "flag" and field.default is not None and value == field.default:
            value = None                # the key leaves the file: the default applies
        values[field.key] = value
    return values


def general_values(form: Any) -> dict[str, dict[str, Any]]:
    """{table: {key: value}} of the posted general settings form."""
    tables: dict[str, dict[str, Any]] = {}
    for table, field in GENERAL:
        tables.setdefault(table, {})[field.key] = field_value(field, form, [])
    return tables


def field_value(field: Field, form: Any, extensions: list[str]) -> Any:
    if field.kind == "flag":
        return form.get(field.key) in ("on", "1", "true", "yes")
    if field.kind == "phones":
        ring = [str(ext) for ext in form.getlist(field.key)]
        if field.required and not ring:
            raise FieldError(field.key, N_("choose the phones that ring"))
        if any(ext not in extensions for ext in ring):
            raise FieldError(field.key, N_("not an extension of this box"))
        return ring
    text = _text(form, field.key)
    if field.kind == "amount":
        return _amount(field.key, text)
    if field.kind == "integer":
        return _integer(field, text)
    if field.required and not text and field.kind != "secret":
        raise FieldError(field.key, N_("required"))
    return text


def form_text(kind_field: Field, value: Any) -> Any:
    """A stored value as the form shows it (secrets are never sent back to the browser)."""
    if kind_field.kind == "secret":
        return ""
    if kind_field.kind == "amount":
        return f"{value:g}" if isinstance(value, (int, float)) else ""
    if kind_field.kind in ("flag", "phones"):
        return value
    return "" if value is None else str(value)


def _text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key) or ""
    if not isinstance(value, str):
        raise FieldError(key, N_("must be text"))
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise FieldError(key, N_("at most %(count)s characters"), count=MAX_TEXT)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise FieldError(key, N_("must not contain control characters"))
    return value


def _amount(key: str, text: str) -> float:
    """An amount of money as people type it: 300, 300.50, 300,50 or 1 200 (empty: 0)."""
    if not text.strip():
        return 0.0
    try:
        parsed = parse_amount(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.as_tuple().exponent < -2:
        raise FieldError(key, N_("an amount like 300 or 300.50"))
    amount = float(parsed)
    if not math.isfinite(amount) or amount > MAX_AMOUNT:
        raise FieldError(key, N_("too large"))
    return amount


def _integer(field: Field, text: str) -> int | None:
    if not text:
        if field.required:
            raise FieldError(field.key, N_("required"))
        return None                     # not set: the config's default applies
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise FieldError(field.key, N_("a whole number"))
    number = int(text)
    if not field.low <= number <= field.high:
        raise FieldError(field.key, N_("between %(low)s and %(high)s"), low=field.low,
                         high=field.high)
    return number
