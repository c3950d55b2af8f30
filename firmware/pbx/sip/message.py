"""SIP messages as values: parse bytes into a Request/Response, serialise them back.

Sans-I/O in the h11 sense: `parse_message` takes one whole message (a UDP datagram or what
`frame_stream` popped off a TCP buffer) and either returns a value or raises `SipParseError`
carrying the status to answer with. No sockets, no clock.

Speed matters (every call is ~14 messages through here), so headers are parsed once into a
list of ``(lowercase name, canonical name, value)`` triples. Structured views are memoised
inside `Headers`: From, To, CSeq, Call-ID and the top Via are parsed by `parse_message` itself
(every consumer reads them, and a message without them must be refused), the rest (Contact,
Request-URI, ...) on first use. Any mutation of the headers drops the memo, so a cached view
can never go stale. The only module state is a bounded cache of header-name spellings.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Union

from .errors import SipBuildError, SipParseError
from .uri import (
    MAGIC_COOKIE, TOKEN, NameAddr, SipUri, Via, parse_name_addr, parse_uri, parse_via,
    split_header_list,
)

logger = logging.getLogger(__name__)

__all__ = [
    "Headers", "LIST_HEADERS", "Message", "REASONS", "Request", "Response", "Via",
    "frame_stream", "make_response", "new_branch", "new_call_id", "new_tag", "parse_message",
    "parse_via",
]

MAX_HEADER_BYTES = 64 * 1024   # a header block larger than this is refused (513)
MAX_BODY_BYTES = 1024 * 1024   # a stream Content-Length larger than this is refused (413)

# --- header names ---------------------------------------------------------------------------
_COMPACT = {
    "i": "call-id", "m": "contact", "f": "from", "t": "to", "v": "via", "l": "content-length",
    "c": "content-type", "e": "content-encoding", "k": "supported", "s": "subject",
    "o": "event", "r": "refer-to", "b": "referred-by", "u": "allow-events",
    "x": "session-expires", "a": "accept-contact", "j": "reject-contact",
    "d": "request-disposition", "y": "identity", "n": "identity-info",
}
_CANONICAL = {n.lower(): n for n in (
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
    "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
    "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
    "Content-Transfer-Encoding", "Content-Type", "CSeq", "Date", "Diversion", "Error-Info",
    "Event", "Expires", "From", "History-Info", "Identity", "Identity-Info", "In-Reply-To",
    "Max-Forwards", "MIME-Version", "Min-Expires", "Min-SE", "Organization",
    "P-Asserted-Identity", "P-Preferred-Identity", "Path", "Priority", "Privacy",
    "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "RAck", "Reason",
    "Record-Route", "Refer-To", "Referred-By", "Reject-Contact", "Remote-Party-ID", "Replaces",
    "Reply-To", "Request-Disposition", "Require", "Retry-After", "Route", "RSeq",
    "Security-Client", "Security-Server", "Security-Verify", "Server", "Service-Route",
    "Session-Expires", "SIP-ETag", "SIP-If-Match", "Subject", "Subscription-State",
    "Supported", "Timestamp", "To", "Unsupported", "User-Agent", "Via", "Warning",
    "WWW-Authenticate",
)}
# Headers whose grammar is a comma-separated list: get_all() splits them into elements.
# (Not WWW-Authenticate, Authorization, Date, ...: their values hold commas of their own.)
LIST_HEADERS = frozenset((
    "via", "contact", "route", "record-route", "allow", "supported", "require",
    "proxy-require", "unsupported", "accept", "accept-encoding", "accept-language",
    "content-encoding", "allow-events", "path", "service-route", "content-language",
    "in-reply-to", "alert-info", "call-info", "error-info", "security-client",
    "security-server", "security-verify",
))
_NAMES: dict[str, tuple[str, str]] = {}  # raw spelling -> (key, canonical); bounded below
_NAMES_MAX = 4096
_TOKEN_RE = re.compile(TOKEN)


def _name_info(raw: str) -> tuple[str, str]:
    """(lookup key, output spelling) of a header name as received or as passed by code."""
    info = _NAMES.get(raw)
    if info is not None:
        return info
    name = raw.rstrip(" \t")  # HCOLON allows whitespace before the colon
    if not _TOKEN_RE.fullmatch(name):
        raise SipParseError(f"bad header name {raw!r}")
    key = name.lower()
    key = _COMPACT.get(key, key)
    info = (key, _CANONICAL.get(key, name))
    if len(_NAMES) < _NAMES_MAX:
        _NAMES[raw] = info
    return info


# Seed the cache with the usual spellings so a flood of odd names cannot crowd them out.
for _name in (*_CANONICAL.values(), *_COMPACT):
    for _spelling in {_name, _name.lower(), _name.upper()}:
        _name_info(_spelling)
del _name, _spelling


def _check_value(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise SipBuildError(f"header value holds CR or LF: {value!r}")
    return value


class Headers:
    """Ordered multi-map of header lines with case-insensitive, compact-aware names."""

    __slots__ = ("_items", "_memo")

    def __init__(self, items: Iterable[tuple[str, str]] = ()):
        self._items: list[tuple[str, str, str]] = []
        self._memo: dict = {}
        for name, value in items:
            self.add(name, value)

    @classmethod
    def _parsed(cls, items: list[tuple[str, str, str]]) -> Headers:
        self = cls.__new__(cls)
        self._items = items
        self._memo = {}
        return self

    def _index(self) -> dict[str, tuple[str, ...]]:
        """Values per lookup key, built once per state of the headers.

        Tuples, not lists: the cycle collector stops tracking a tuple of strings at its first
        pass, and a server transaction keeps its request for 32 s (Timer J), so under load
        lists would be walked by every full collection."""
        try:
            return self._memo["_index"]
        except KeyError:
            index: dict[str, tuple[str, ...]] = {}
            for key, _, value in self._items:
                values = index.get(key)
                index[key] = (value,) if values is None else values + (value,)
            self._memo["_index"] = index
            return index

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (the whole line, not split at commas)."""
        info = _NAMES.get(name) or _name_info(name)     # ~20 a REGISTER: the cache inline
        index = self._memo.get("_index") or self._index()
        values = index.get(info[0])
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``; a line of a list-valued header yields each element."""
        key = _name_info(name)[0]
        values = self._index().get(key)
        if not values:
            return []
        if key in LIST_HEADERS:
            return [e for v in values for e in split_header_list(v)]
        return list(values)

    def count(self, name: str) -> int:
        """How many header lines named ``name`` there are."""
        return len(self._index().get(_name_info(name)[0], ()))

    def name_counts(self) -> dict[str, int]:
        """Lines per lowercase full header name (``{"via": 2, ...}``)."""
        return {key: len(values) for key, values in self._index().items()}

    def add(self, name: str, value: str) -> None:
        key, canonical = _name_info(name)
        self._items.append((key, canonical, _check_value(value)))
        self._memo.clear()

    def prepend(self, name: str, value: str) -> None:
        """Insert before the first line of that name (or at the top): a proxy's new Via."""
        key, canonical = _name_info(name)
        index = next((i for i, (k, _, _) in enumerate(self._items) if k == key), 0)
        self._items.insert(index, (key, canonical, _check_value(value)))
        self._memo.clear()

    def set(self, name: str, value: str) -> None:
        """Replace every line of ``name`` by one, where the first one was (else at the end)."""
        key, canonical = _name_info(name)
        index = next((i for i, (k, _, _) in enumerate(self._items) if k == key), None)
        self._items = [item for item in self._items if item[0] != key]
        entry = (key, canonical, _check_value(value))
        if index is None:
            self._items.append(entry)
        else:
            self._items.insert(index, entry)
        self._memo.clear()

    def remove(self, name: str) -> None:
        key = _name_info(name)[0]
        self._items = [item for item in self._items if item[0] != key]
        self._memo.clear()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _name_info(name)[0] in self._index()

    def items(self) -> list[tuple[str, str]]:
        return [(n, v) for _, n, v in self._items]

    def copy(self) -> Headers:
        return Headers._parsed(list(self._items))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items())

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [(k, v) for k, _, v in self._items] == [(k, v) for k, _, v in other._items]

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"

    def forget_views(self) -> None:
        """Drop the memoised views; any asked for again is parsed again. For a request kept
        only to answer retransmissions (32 s in a non-INVITE server transaction): its views
        would be ~9 objects each for the cycle collector to walk, of 4096 under load."""
        self._memo = {}

    def memo(self, key: object, compute: Callable[[Headers], object]):
        """``compute(self)`` once per state of these headers (mutations drop the memo)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute(self)
            return value


# --- structured views of headers ---------------------------------------------------------------
_CSEQ_RE = re.compile(rf"(\d{{1,10}})[ \t]+({TOKEN})")


def _required(headers: Headers, name: str) -> str:
    value = headers.get(name)
    if value is None:
        raise SipParseError(f"missing {name} header")
    return value


def _cseq_of(headers: Headers) -> tuple[int, str]:
    value = _required(headers, "CSeq")
    m = _CSEQ_RE.fullmatch(value)
    if not m or int(m[1]) >= 2**32:
        raise SipParseError(f"bad CSeq {value!r}")
    return int(m[1]), m[2]


def _top_via_of(headers: Headers) -> Via:
    value = _required(headers, "Via")
    if "," in value:
        parts = split_header_list(value)
        if not parts:
            raise SipParseError("empty Via header")
        value = parts[0]
    return parse_via(value)


def _from_of(headers: Headers) -> NameAddr:
    return parse_name_addr(_required(headers, "From"))


def _to_of(headers: Headers) -> NameAddr:
    return parse_name_addr(_required(headers, "To"))


def _call_id_of(headers: Headers) -> str:
    value = _required(headers, "Call-ID")
    if not value or " " in value or "\t" in value:
        raise SipParseError(f"bad Call-ID {value!r}")
    return value


def _max_forwards_of(headers: Headers) -> int | None:
    value = headers.get("Max-Forwards")
    if value is None:
        return None
    if not value.isdigit() or not value.isascii() or int(value) > 255:
        raise SipParseError(f"bad Max-Forwards {value!r}")
    return int(value)


def _to_uri_of(headers: Headers) -> SipUri:
    return parse_uri(headers.memo("to", _to_of).uri)


def _contacts_of(headers: Headers) -> tuple[NameAddr, ...]:
    return tuple(NameAddr(None, "*") if v == "*" else parse_name_addr(v)
                 for v in headers.get_all("Contact"))


class _Message:
    """Views shared by requests and responses; each raises SipParseError when malformed."""

    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        return self.headers.memo("call_id", _call_id_of)

    @property
    def cseq(self) -> tuple[int, str]:
        return self.headers.memo("cseq", _cseq_of)

    @property
    def from_(self) -> NameAddr:
        return self.headers.memo("from", _from_of)

    @property
    def to(self) -> NameAddr:
        return self.headers.memo("to", _to_of)

    @property
    def to_uri(self) -> SipUri:
        """The To URI parsed: a REGISTER's address-of-record (checked, then read, per request)."""
        return self.headers.memo("to_uri", _to_uri_of)

    @property
    def vias(self) -> list[str]:
        return self.headers.get_all("Via")

    @property
    def top_via(self) -> Via:
        return self.headers.memo("top_via", _top_via_of)

    @property
    def contacts(self) -> list[NameAddr]:
        """Every Contact element; the REGISTER wildcard ``*`` comes back with uri ``"*"``."""
        return list(self.headers.memo("contacts", _contacts_of))

    @property
    def max_forwards(self) -> int | None:
        return self.headers.memo("max_forwards", _max_forwards_of)

    def _serialise(self, start_line: str) -> bytes:
        # Content-Length is written where the first one was (else last), always len(body).
        if "\r" in start_line or "\n" in start_line:
            raise SipBuildError(f"start line holds CR or LF: {start_line!r}")
        parts = [start_line, "\r\n"]
        length = None
        for key, name, value in self.headers._items:
            if key != "content-length":
                parts.append(f"{name}: {value}\r\n")
            elif length is None:
                length = f"Content-Length: {len(self.body)}\r\n"
                parts.append(length)
        if length is None:
            parts.append(f"Content-Length: {len(self.body)}\r\n")
        parts.append("\r\n")
        return "".join(parts).encode("utf-8", "surrogateescape") + self.body


@dataclass(eq=True)
class Request(_Message):
    method: str
    uri: str
    headers: Headers
    body: bytes = b""
    version: str = "SIP/2.0"

    @property
    def ruri(self) -> SipUri:
        """The Request-URI parsed (416 for an unknown scheme, 400 when malformed)."""
        return self.headers.memo(("ruri", self.uri), lambda _h: parse_uri(self.uri))

    def to_bytes(self) -> bytes:
        """The message on the wire; Content-Length is always rewritten to len(body)."""
        return self._serialise(f"{self.method} {self.uri} {self.version}")


@dataclass(eq=True)
class Response(_Message):
    status: int
    reason: str
    headers: Headers
    body: bytes = b""
    version: str = "SIP/2.0"

    def to_bytes(self) -> bytes:
        """The message on the wire; Content-Length is always rewritten to len(body)."""
        return self._serialise(f"{self.version} {self.status} {self.reason}")


Message = Union[Request, Response]

# --- parsing ---------------------------------------------------------------------------------
_FOLD_RE = re.compile(r"\r\n[ \t]+")
_VERSION_RE = re.compile(r"SIP/\d+\.\d+", re.IGNORECASE)
_RURI_RE = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>"\x7f]+')
_ECHO_KEYS = frozenset(("via", "from", "to", "call-id", "cseq"))
_KNOWN_METHODS = frozenset((
    "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY",
    "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
))


def _header_end(data: bytes, start: int) -> tuple[int, int]:
    """(end of header block, start of body); (-1, -1) when the blank line is missing.

    Bare-LF messages are accepted (some phones send them): the end of the first line says
    which convention the message uses.
    """
    newline = data.find(b"\n", start)
    if newline > start and data[newline - 1] == 13:  # CRLF, as RFC 3261 requires
        end = data.find(b"\r\n\r\n", start)
        return (end, end + 4) if end >= 0 else (-1, -1)
    end = data.find(b"\n\n", start)
    return (end, end + 2) if end >= 0 else (-1, -1)


def _skip_crlf(data: bytes) -> int:
    start = 0
    while data[start:start + 1] in (b"\r", b"\n") and start < len(data):
        start += 1
    return start


def _request_info(method: str, uri: str, items: list[tuple[str, str, str]]) -> Request | None:
    """The headers a 4xx/5xx needs, when the start line named a method and a Via is there."""
    if not _TOKEN_RE.fullmatch(method) or not any(k == "via" for k, _, _ in items):
        return None
    return Request(method, uri, Headers._parsed([it for it in items if it[0] in _ECHO_KEYS]))


def _failure(context: tuple, reason: str, status: int = 400) -> SipParseError:
    """The error to raise; ``context`` is (is_request, method, uri, header items)."""
    is_request, method, uri, items = context
    info = _request_info(method, uri, items) if is_request else None
    return SipParseError(reason, status, info)


def parse_message(data: bytes) -> Message:
    """Parse one whole message: a UDP datagram, or one message popped by `frame_stream`.

    Without Content-Length the body is the rest of the datagram; bytes after the body are
    ignored (RFC 3261 18.3). Checks what every consumer relies on -- start line, Content-
    Length, and for requests and responses alike Via, From, To, Call-ID and CSeq (number
    below 2**32, method equal to a request's method) -- and raises SipParseError otherwise.
    Application-level checks (duplicates, Require, content types...) are in validate.py.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    start = _skip_crlf(data)
    end, body_start = _header_end(data, start)
    if end < 0:
        raise SipParseError("no blank line after the headers")
    if end - start > MAX_HEADER_BYTES:
        raise SipParseError("header block too large", status=513)
    head = data[start:end]
    if body_start - end == 2:  # bare LF message: make it CRLF
        head = head.rstrip(b"\r").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    text = head.decode("utf-8", "surrogateescape")
    if "\r\n " in text or "\r\n\t" in text:
        text = _FOLD_RE.sub(" ", text)
    lines = text.split("\r\n")
    first = lines[0]
    if text.count("\n") != len(lines) - 1 or text.count("\r") != len(lines) - 1:
        # A lone CR or LF inside a line would be passed on by to_bytes(): header smuggling.
        raise SipParseError("bare CR or LF inside a line")

    # Start line. Errors are remembered, not raised, until the headers are read: a request with
    # a bad version still gets a 505 that echoes its Via/From/To/Call-ID/CSeq.
    error: tuple[str, int] | None = None
    method = uri = ""
    is_request = first[:4].upper() != "SIP/"
    if is_request:
        parts = first.split(" ")
        method = parts[0]
        uri = " ".join(parts[1:-1]).strip(" ") if len(parts) > 2 else ""
        version = parts[-1] if len(parts) > 2 else ""
        if len(parts) != 3:
            error = (f"malformed request line {first!r}", 400)
        elif method not in _KNOWN_METHODS and not _TOKEN_RE.fullmatch(method):
            error = (f"bad method {method!r}", 400)
        elif not _RURI_RE.fullmatch(uri):
            error = (f"bad Request-URI {uri!r}", 400)
        elif version != "SIP/2.0":
            if version.upper() == "SIP/2.0":
                version = "SIP/2.0"
            elif _VERSION_RE.fullmatch(version):
                error = (f"unsupported SIP version {version!r}", 505)
            else:
                error = (f"malformed request line {first!r}", 400)
    else:
        version, _, rest = first.partition(" ")
        code, _, reason = rest.partition(" ")
        if version.upper() != "SIP/2.0":
            error = (f"unsupported SIP version in status line {first!r}", 505)
        elif len(code) != 3 or not code.isdigit() or not code.isascii() or code[0] in "0789":
            error = (f"bad status code in {first!r}", 400)

    items: list[tuple[str, str, str]] = []
    append = items.append
    names = _NAMES
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        info = names.get(name)
        if info is None or not sep:
            if not sep:
                error = error or (f"header line without colon {line[:60]!r}", 400)
                continue
            try:
                info = _name_info(name)
            except SipParseError as exc:
                error = error or (exc.reason, 400)
                continue
        append((info[0], info[1], value.strip(" \t")))
    headers = Headers._parsed(items)

    context = (is_request, method, uri, items)
    if error:
        raise _failure(context, *error)

    # Body, by Content-Length (all copies must agree).
    rest = len(data) - body_start
    length = None
    for key, _, value in items:
        if key == "content-length":
            if not value.isdigit() or not value.isascii():
                raise _failure(context, f"bad Content-Length {value!r}")
            if length is not None and int(value) != length:
                raise _failure(context, "conflicting Content-Length headers")
            length = int(value)
    if length is None:
        body = data[body_start:]
    elif length > rest:
        raise _failure(context, f"Content-Length {length} but {rest} bytes of body")
    else:
        body = data[body_start:body_start + length]

    memo = headers._memo  # fill the memo directly: these views are read for every message
    try:
        memo["call_id"] = _call_id_of(headers)
        memo["cseq"] = number, cseq_method = _cseq_of(headers)
        memo["from"] = _from_of(headers)
        memo["to"] = _to_of(headers)
        memo["top_via"] = _top_via_of(headers)
        if is_request:
            memo["max_forwards"] = _max_forwards_of(headers)
    except SipParseError as exc:
        raise _failure(context, exc.reason, exc.status) from None
    if is_request:
        if cseq_method != method:
            raise _failure(context, f"CSeq method {cseq_method!r} is not {method!r}")
        return Request(method, uri, headers, body, version)
    return Response(int(code), reason, headers, body, "SIP/2.0")


# --- stream framing (TCP/TLS) ----------------------------------------------------------------
_STREAM_CL_RE = re.compile(
    rb"\n(?:content-length|l)[ \t]*:[ \t]*(?:\r?\n[ \t]+)*([^\r\n]*)", re.IGNORECASE
)


def frame_stream(buffer: bytearray) -> bytes | None:
    """Pop one complete message off the front of a stream buffer, or None if incomplete.

    Leading CRLFs (RFC 5626 keep-alives) are consumed. A stream cannot be resynchronised after
    garbage, so a missing or bad Content-Length, or an oversized header block, raises
    SipParseError and the caller should close the connection.
    """
    start = _skip_crlf(buffer)
    if start:
        del buffer[:start]
    if not buffer:
        return None
    end, body_start = _header_end(buffer, 0)
    if end < 0:
        if len(buffer) > MAX_HEADER_BYTES:
            raise SipParseError("header block too large", status=513)
        return None
    if end > MAX_HEADER_BYTES:
        raise SipParseError("header block too large", status=513)
    values = {v.strip() for v in _STREAM_CL_RE.findall(bytes(buffer[:end]))}
    if not values:
        raise SipParseError("no Content-Length on a stream transport")
    if len(values) > 1:
        raise SipParseError("conflicting Content-Length headers")
    value = values.pop()
    if not (value.isascii() and value.isdigit()):   # "\xb2" is a digit to str.isdigit
        raise SipParseError(f"bad Content-Length {value!r}")
    length = int(value)
    if length > MAX_BODY_BYTES:
        raise SipParseError(f"Content-Length {length} too large", status=413)
    total = body_start + length
    if len(buffer) < total:
        return None
    message = bytes(buffer[:total])
    del buffer[:total]
    return message


# --- building responses and identifiers ------------------------------------------------------
REASONS = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 199: "Early Dialog Terminated", 200: "OK", 202: "Accepted",
    204: "No Notification", 300: "Multiple Choices", 301: "Moved Permanently",
    302: "Moved Temporarily", 305: "Use Proxy", 380: "Alternative Service",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
    412: "Conditional Request Failed", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type",
    416: "Unsupported URI Scheme", 417: "Unknown Resource-Priority", 420: "Bad Extension",
    421: "Extension Required", 422: "Session Interval Too Small", 423: "Interval Too Brief",
    428: "Use Identity Header", 429: "Provide Referrer Identity", 433: "Anonymity Disallowed",
    436: "Bad Identity-Info", 437: "Unsupported Certificate", 438: "Invalid Identity Header",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
    489: "Bad Event", 491: "Request Pending", 493: "Undecipherable",
    494: "Security Agreement Required", 500: "Server Internal Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Server Time-out",
    505: "Version Not Supported", 513: "Message Too Large", 580: "Precondition Failure",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}
_CLASS_REASONS = {1: "Provisional", 2: "Success", 3: "Redirection", 4: "Client Error",
                  5: "Server Error", 6: "Global Failure"}
_TAG_RE = re.compile(r";[ \t]*tag[ \t]*=", re.IGNORECASE)


def _to_has_tag(headers: Headers, value: str) -> bool:
    try:
        return headers.memo("to", _to_of).tag is not None
    except SipParseError:
        # An unparseable To (we may be answering 400 to it): fall back to a text search.
        return _TAG_RE.search(value) is not None


def make_response(request: Request, status: int, reason: str | None = None, *,
                  to_tag: str | None = None, headers: Iterable[tuple[str, str]] = (),
                  body: bytes = b"") -> Response:
    """A response to ``request`` per RFC 3261 8.2.6: Via (all, in order), From, To, Call-ID
    and CSeq copied; ``;tag=to_tag`` added to To unless it has a tag; Timestamp echoed on 100.
    """
    if not 100 <= status <= 699:
        raise SipBuildError(f"status code out of range: {status}")
    req_headers = request.headers
    items = []
    for key, name, value in req_headers._items:
        if key in _ECHO_KEYS or (key == "timestamp" and status == 100):
            if key == "to" and to_tag and not _to_has_tag(req_headers, value):
                value = f"{value};tag={to_tag}"
            items.append((key, name, value))
    out = Headers._parsed(items)
    for name, value in headers:
        out.add(name, value)
    if reason is None:
        reason = REASONS.get(status) or _CLASS_REASONS[status // 100]
    return Response(status, reason, out, body)


def new_branch(seed: str | None = None) -> str:
    """A Via branch: the RFC 3261 magic cookie plus a value unique per transaction.

    With a ``seed`` (e.g. a stateless proxy hashing the incoming branch) the result is
    deterministic; without one it is random.
    """
    if seed is None:
        return MAGIC_COOKIE + secrets.token_hex(8)
    return MAGIC_COOKIE + hashlib.sha1(seed.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def new_tag() -> str:
    """A random From/To tag (RFC 3261 19.3: at least 32 bits of randomness).

    os.urandom, as secrets.token_hex uses, without its two Python calls: one tag a response."""
    return os.urandom(6).hex()


def new_call_id(host: str) -> str:
    """A random Call-ID ``<random>@host``."""
    return f"{secrets.token_hex(12)}@{host}"
