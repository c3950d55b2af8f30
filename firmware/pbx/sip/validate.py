"""Application-layer checks of an incoming request, for a UAS or registrar (RFC 3261 8.2).

`parse_message` already guarantees what every layer relies on (start line, Content-Length,
Via, From, To, Call-ID, CSeq). This module answers the next question -- "must the box refuse
this request, and with what?" -- in the order RFC 3261 8.2 gives: syntax the parser leaves
lazy (400), Request-URI scheme (416), Require (420), body (415), Accept (406), Max-Forwards
(483, only when the box would forward). The RFC 4475 torture messages of section 3.3 are the
test cases. Pure: the caller sends the response and logs.
"""

from __future__ import annotations

import logging
import re

from .errors import SipParseError
from .message import Request, parse_via
from .uri import is_token

logger = logging.getLogger(__name__)

Problem = tuple[int, str, list[tuple[str, str]]]

# Headers that may appear once only (RFC 4475 3.3.8 multi01, 3.3.9 mcl01).
SINGLE_VALUE_HEADERS = ("To", "From", "Call-ID", "CSeq", "Max-Forwards", "Content-Length",
                        "Content-Type", "Expires", "Min-Expires", "Date", "MIME-Version")
MANDATORY_HEADERS = ("To", "From", "Call-ID", "CSeq", "Via")
_SINGLE_KEYS = tuple((name, name.lower()) for name in SINGLE_VALUE_HEADERS)
_MANDATORY_KEYS = tuple((name, name.lower()) for name in MANDATORY_HEADERS)
# Methods whose body is a session description we must understand (RFC 3261 8.2.3).
SDP_METHODS = frozenset(("INVITE", "UPDATE", "PRACK"))
KNOWN_ENCODINGS = frozenset(("identity",))
_DATE_RE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT"
)


def _bad(detail: str) -> Problem:
    """400 whose reason phrase says what was wrong, in printable ASCII only."""
    detail = "".join(ch for ch in detail[:100] if " " <= ch <= "~")
    return 400, f"Bad Request ({detail})", []


def _media_type(value: str) -> str:
    """``application/SDP; charset=x`` -> ``application/sdp``."""
    return value.split(";", 1)[0].strip(" \t").lower()


def _check_syntax(req: Request) -> Problem | None:
    headers = req.headers
    counts = headers.name_counts()
    for name, key in _MANDATORY_KEYS:
        if key not in counts:
            return _bad(f"missing {name}")
    for name, key in _SINGLE_KEYS:
        if counts.get(key, 0) > 1:
            return _bad(f"more than one {name}")
    try:
        # Each view parses and memoises; parse_message has done most of them already.
        req.call_id, req.from_, req.to, req.max_forwards, req.contacts  # noqa: B018
        cseq_method = req.cseq[1]
        req.top_via  # noqa: B018
        for via in req.vias[1:]:
            parse_via(via)
    except SipParseError as exc:
        return _bad(exc.reason)
    if cseq_method != req.method:
        return _bad("CSeq method differs from the request method")
    date = headers.get("Date")
    if date is not None and not _DATE_RE.fullmatch(date):
        return _bad(f"bad Date {date!r}")
    for name in ("Expires", "Min-Expires"):
        value = headers.get(name)
        if value is not None and not (value.isdigit() and value.isascii()):
            return _bad(f"bad {name} {value!r}")
    if req.body and "content-type" not in counts:
        return _bad("body without Content-Type")
    return None


def _check_uri(req: Request) -> Problem | None:
    try:
        ruri = req.ruri
    except SipParseError as exc:
        if exc.status == 416:
            return 416, "Unsupported URI Scheme", []
        return _bad(exc.reason)
    if ruri.headers:
        # RFC 3261 19.1.5: headers are not allowed in a Request-URI (RFC 4475 escruri).
        return _bad("headers in the Request-URI")
    if req.method == "REGISTER":
        # A registrar needs a SIP or SIPS address-of-record (RFC 4475 3.3.4 unksm2).
        try:
            scheme = req.to_uri.scheme
        except SipParseError as exc:
            return _bad(f"To of a REGISTER: {exc.reason}")
        if scheme not in ("sip", "sips"):
            return _bad("To of a REGISTER is not a SIP URI")
    return None


def _check_require(req: Request, supported: frozenset[str]) -> Problem | None:
    if req.method in ("ACK", "CANCEL"):
        return None  # RFC 3261 8.2.2.3: never rejected for Require
    wanted = req.headers.get_all("Require")
    if not wanted:
        return None
    known = {s.lower() for s in supported}
    unsupported = [tag for tag in wanted if tag.lower() not in known]
    if unsupported:
        return 420, "Bad Extension", [("Unsupported", ", ".join(unsupported))]
    return None


def _check_body(req: Request, accept_sdp: bool) -> Problem | None:
    if req.method not in SDP_METHODS or not req.body:
        return None
    accept = [("Accept", "application/sdp" if accept_sdp else "")]
    for coding in req.headers.get_all("Content-Encoding"):
        if coding.lower() not in KNOWN_ENCODINGS:
            return 415, "Unsupported Media Type", [("Accept-Encoding", "identity")] + accept
    content_type = _media_type(req.headers.get("Content-Type", ""))
    if not accept_sdp:
        return 415, "Unsupported Media Type", accept
    if content_type == "application/sdp":
        return None
    if content_type == "multipart/mixed" and b"application/sdp" in req.body.lower():
        return None
    return 415, "Unsupported Media Type", accept


def _check_accept(req: Request) -> Problem | None:
    if req.method != "INVITE" or "Accept" not in req.headers:
        return None
    for value in req.headers.get_all("Accept"):
        if _media_type(value) in ("application/sdp", "application/*", "*/*"):
            return None
    return 406, "Not Acceptable", [("Accept", "application/sdp")]


def check_request(req: Request, *, supported_extensions: frozenset[str] | set[str] = frozenset(),
                  accept_sdp: bool = True, forwarding: bool = False) -> Problem | None:
    """The error response a UAS/registrar must answer ``req`` with, or None when it is fine.

    Returns ``(status, reason, extra_headers)``: build it with ``make_response(req, status,
    reason, headers=extra_headers)``. ``supported_extensions`` are the option tags the box
    implements (others in Require get 420). ``forwarding`` says the box would forward the
    request rather than answer it itself: only then does Max-Forwards 0 give 483 (an OPTIONS
    to the box itself with Max-Forwards 0 is answered normally, RFC 3261 16.3). For ACK the
    result says what is wrong, but no response may be sent.
    """
    if not is_token(req.method):
        return _bad("bad method")
    return (_check_syntax(req)
            or _check_uri(req)
            or _check_require(req, frozenset(supported_extensions))
            or _check_body(req, accept_sdp)
            or _check_accept(req)
            or (forwarding and req.max_forwards == 0 and (483, "Too Many Hops", []))
            or None)
