"""Small pure helpers of call control: caller IDs, display names, header values.

Why here: what a caller ID may contain is a security question (control characters from the
network must never reach a log line, a display or a record), so it is decided in one place.
"""

from __future__ import annotations

import secrets

import phonenumbers

from firmware.pbx.sip.errors import SipError
from firmware.pbx.sip.message import Request
from firmware.pbx.sip.uri import parse_uri


def uri_user(uri: str) -> str:
    try:
        return parse_uri(uri).user or ""
    except SipError:
        return ""


def user(number: str, fallback: str = "anonymous") -> str:
    return "".join(ch for ch in number if ch.isascii() and (ch.isalnum() or ch in "+*#-_.")) \
        or fallback


def readable(number: str) -> str:
    """+48601234567 -> "+48 601 234 567" (the international format phones show best)."""
    if not number.startswith("+"):
        return number
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def printable(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)[:64]


def quote(text: str) -> str:
    text = "".join(ch for ch in text if ch >= " " and ch != "\x7f")
    return text.replace("\\", "\\\\").replace('"', '\\"')


def max_forwards(invite: Request) -> int:
    value = (invite.headers.get("Max-Forwards") or "70").strip()
    return max(1, min(70, int(value) - 1)) if value.isascii() and value.isdigit() else 70


def call_id(wall: float) -> str:
    return f"{int(wall):x}{secrets.token_hex(3)}"
