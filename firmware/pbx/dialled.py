"""Which number the caller dialled, wherever the provider put it; and which numbers are emergencies.

Why this is its own module: campaign attribution is the product, and providers disagree on
where the dialled number travels. A registering trunk is sent `INVITE sip:<trunk user>@box`
with the DID in `To`; an IP trunk puts it in the Request-URI; a call forwarded inside the
provider's network keeps it in `P-Called-Party-ID`, `Diversion` (RFC 5806) or `History-Info`
(RFC 7044). The contract's order (CONTRACT.md, "A real line"): the Request-URI user when it is
a campaign number, else `To`, else `P-Called-Party-ID`, else the first `Diversion` /
`History-Info` entry; `[[trunk]] called_number_from` overrides the order per trunk. Everything
here is pure: a request in, a number out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import phonenumbers

from firmware.pbx.sip.errors import SipError
from firmware.pbx.sip.message import Request
from firmware.pbx.sip.uri import parse_name_addr, parse_uri, split_header_list

logger = logging.getLogger(__name__)

SOURCES = ("request-uri", "to", "p-called-party-id", "diversion", "history-info")
DEFAULT_ORDER = SOURCES


@dataclass(frozen=True)
class Dialled:
    """The digits dialled (`number`, as sent: "+48221234567", "0221234567", "101"), where
    they were found, and whether they name something the box serves (`known`)."""

    number: str
    source: str
    known: bool


def digits(user: str | None) -> str:
    """The dialable part of a URI user: digits, a leading +, * and # (separators dropped)."""
    return "".join(ch for ch in (user or "") if ch.isdigit() or ch in "+*#")


def candidates(invite: Request, order: tuple[str, ...] = DEFAULT_ORDER) -> list[tuple[str, str]]:
    """(source, digits) for each place of `order` that carries a number, in that order.

    A header that does not parse is skipped with a log line (a malformed Diversion must not
    take the call down: the next place is tried)."""
    found = []
    for source in order:
        try:
            user = _user_at(invite, source)
        except (SipError, ValueError, IndexError) as exc:
            logger.warning("call: unreadable %s header (%s); ignored", source, exc)
            continue
        number = digits(user)
        if number:
            found.append((source, number))
    return found


def called_number(invite: Request, is_known: Callable[[str], bool],
                  order: tuple[str, ...] = (), trunk_user: str = "") -> Dialled | None:
    """The first candidate (in `order`, else the contract's) that `is_known` accepts; when
    none is known, the first candidate at all (for the log and the 404), or None.

    A Request-URI user equal to the trunk's own user name is the contact the box registered,
    not a dialled number (even when that user name looks like a campaign number): it is
    taken only when nothing else names a number the box serves."""
    found = candidates(invite, tuple(order) or DEFAULT_ORDER)
    own = digits(trunk_user)
    for source, number in found:
        if source == "request-uri" and own and number.lstrip("+") == own.lstrip("+"):
            continue
        if is_known(number):
            return Dialled(number, source, True)
    for source, number in found:
        if is_known(number):
            return Dialled(number, source, True)
    if found:
        return Dialled(found[0][1], found[0][0], False)
    return None


def _user_at(invite: Request, source: str) -> str:
    if source == "request-uri":
        return parse_uri(invite.uri).user or ""
    if source == "to":
        return parse_uri(invite.to.uri).user or ""
    header = {"p-called-party-id": "P-Called-Party-ID", "diversion": "Diversion",
              "history-info": "History-Info"}[source]
    for value in invite.headers.get_all(header):
        for item in split_header_list(value):
            uri = parse_name_addr(item).uri
            if uri.lower().startswith("tel:"):
                return uri[4:].split(";", 1)[0]
            return parse_uri(uri).user or ""
    return ""


def is_emergency(number: str, country: str) -> bool:
    """112 everywhere, plus the country's own emergency numbers (phonenumbers' short-number
    data: 997/998/999 in PL, 911 in US, 150/166 in BG...)."""
    if number == "112":
        return True
    if not number.isdigit() or len(number) > 4:
        return False
    return phonenumbers.is_emergency_number(number, country or "ZZ")
