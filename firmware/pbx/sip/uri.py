"""Header values: SIP URIs, name-addr, Via and comma-separated lists (RFC 3261 19.1, 20, 25).

Values, not behaviour: `parse_uri`, `parse_name_addr` and `parse_via` turn text into frozen
dataclasses and `str()` turns them back into text (message.py re-exports Via and parse_via).
The grammar lives in a handful of regular expressions built from the RFC's own names (token,
quoted-string, generic-param); each is linear (no nested quantifiers over overlapping classes)
so a hostile header cannot make the parser backtrack for seconds. No sockets, no clock.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from .errors import SipParseError

logger = logging.getLogger(__name__)

Params = tuple[tuple[str, "str | None"], ...]

# --- RFC 3261 section 25 building blocks (shared with message.py) ---------------------------
TOKEN = r"[A-Za-z0-9.!%*_+`'~-]+"
# quoted-string, "unrolled" so that matching is linear: qdtext runs separated by quoted-pairs.
QUOTED = r'"[^"\\\r\n]*(?:\\[\x00-\x09\x0b\x0c\x0e-\x7f][^"\\\r\n]*)*"'
IPV6REF = r"\[[0-9A-Fa-f:.]+\]"
WS = r"[ \t]*"
GEN_VALUE = rf"(?:{TOKEN}|{QUOTED}|{IPV6REF})"
# *( SEMI generic-param ), SEMI and EQUAL allowing whitespace around them. Repetitions are
# possessive (*+, Python 3.11): a failed match never backtracks through thousands of params.
PARAMS = rf"(?:{WS};{WS}{TOKEN}(?:{WS}={WS}{GEN_VALUE})?)*+"
_PARAM_RE = re.compile(rf"{WS};{WS}({TOKEN})(?:{WS}={WS}({GEN_VALUE}))?")
_TOKEN_RE = re.compile(TOKEN)
# Any URI inside <...>: a scheme, a colon, then characters that are not space, <, > or ".
_ANY_URI = r'[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>"\x7f]+'
# A bare addr-spec must not hold ";", "," or "?" (RFC 3261 20.10): they would be ambiguous.
MAGIC_COOKIE = "z9hG4bK"  # RFC 3261 branch prefix
_BARE_URI = r'[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>"\x7f;,?]+'

_NAME_ADDR_RE = re.compile(
    rf'{WS}(?:"(?P<q>[^"\\\r\n]*(?:\\[\x00-\x09\x0b\x0c\x0e-\x7f][^"\\\r\n]*)*)"{WS}'
    rf"|(?P<t>{TOKEN}(?:[ \t]+{TOKEN})*+){WS})?"
    rf"<(?P<uri>{_ANY_URI})>(?P<p>{PARAMS}){WS}"
)
_ADDR_SPEC_RE = re.compile(rf"{WS}(?P<uri>{_BARE_URI})(?P<p>{PARAMS}){WS}")
_UNQUOTE_RE = re.compile(r"\\(.)", re.DOTALL)


def parse_params(text: str) -> Params:
    """Split an already validated ``;name=value;flag`` run into pairs; names lowercased.

    Values are kept as written (a quoted value keeps its quotes) so serialising is exact.
    """
    if not text:
        return ()
    return tuple([(n.lower(), v or None) for n, v in _PARAM_RE.findall(text)])


def format_params(params: Params) -> str:
    """The inverse of `parse_params`: ``;name=value`` for each pair, ``;name`` for flags."""
    return "".join(f";{n}" if v is None else f";{n}={v}" for n, v in params)


def _param_lookup(params: Params, name: str) -> str | None:
    name = name.lower()
    for n, v in params:
        if n == name:
            return v
    return None


def _params_with(params: Params, updates: dict[str, str | None]) -> Params:
    """Replace params named in ``updates`` in place, append the new ones at the end."""
    updates = {k.lower(): v for k, v in updates.items()}
    out = [(n, updates.pop(n)) if n in updates else (n, v) for n, v in params]
    out.extend(updates.items())
    return tuple(out)


def _params_without(params: Params, names: tuple[str, ...]) -> Params:
    drop = {n.lower() for n in names}
    return tuple((n, v) for n, v in params if n not in drop)


# --- SIP / SIPS / tel URIs ------------------------------------------------------------------
_USER_SAFE = "-_.!~*'()&=+$,;?/"
_PASSWORD_SAFE = "-_.!~*'()&=+$,"
_PARAM_SAFE = "-_.!~*'()[]/:&+$"
_HEADER_SAFE = "-_.!~*'()[]/?:+$"
_USER_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+")
_PASSWORD_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,%]*")
_HOSTPORT_RE = re.compile(
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?)(?::(\d{1,5}))?"
    r"((?:;[A-Za-z0-9\-_.!~*'()\[\]/:&+$%]+(?:=[A-Za-z0-9\-_.!~*'()\[\]/:&+$%]+)?)*+)"
    r"(?:\?([A-Za-z0-9\-_.!~*'()\[\]/?:+$%=&]*))?"
)
_TEL_RE = re.compile(
    r"([A-Za-z0-9\-_.!~*'()&=+$,/%#]+)"
    r"((?:;[A-Za-z0-9\-_.!~*'()\[\]/:&+$%]+(?:=[A-Za-z0-9\-_.!~*'()\[\]/:&+$%]+)?)*+)"
)
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _unescape(text: str) -> str:
    """%XX-decode; invalid UTF-8 survives as surrogates so `_escape` restores the same bytes."""
    if "%" not in text:
        return text
    if _BAD_ESCAPE_RE.search(text):
        raise SipParseError(f"bad %-escape in {text!r}")
    return unquote(text, errors="surrogateescape")


def _escape(text: str, safe: str) -> str:
    return quote(text, safe=safe, errors="surrogateescape")


def _uri_params(text: str) -> Params:
    if not text:
        return ()
    out = []
    for item in text[1:].split(";"):
        name, sep, value = item.partition("=")
        out.append((_unescape(name).lower(), _unescape(value) if sep else None))
    return tuple(out)


class _WithParams:
    """The `;name=value` params shared by SIP URIs, name-addrs and Vias (`params` field)."""

    __slots__ = ()
    params: Params

    def param(self, name: str) -> str | None:
        """The value of a parameter (None when absent or a flag like ``lr``)."""
        return _param_lookup(self.params, name)

    def has_param(self, name: str) -> bool:
        name = name.lower()
        return any(n == name for n, _ in self.params)

    def with_params(self, **params: str | None):
        """A copy with these params set (value None makes a flag param such as ``lr``)."""
        return dataclasses.replace(self, params=_params_with(self.params, params))

    def without_params(self, *names: str):
        return dataclasses.replace(self, params=_params_without(self.params, names))


@dataclass(frozen=True)
class SipUri(_WithParams):
    """A parsed sip:, sips: or tel: URI.

    ``user`` and param/header values are unescaped; ``str()`` escapes them again, so
    ``sip:%75ser@x`` comes back as the equivalent ``sip:user@x``. For tel: URIs the number
    is ``user`` and ``host`` is empty.
    """

    scheme: str
    user: str | None
    password: str | None
    host: str
    port: int | None = None
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()


    @property
    def host_port(self) -> str:
        """``host`` or ``host:port`` as it appears in the URI."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        parts = [self.scheme, ":"]
        if self.scheme == "tel":
            parts.append(_escape(self.user or "", _USER_SAFE + "#"))
        else:
            if self.user is not None:
                parts.append(_escape(self.user, _USER_SAFE))
                if self.password is not None:
                    parts += [":", _escape(self.password, _PASSWORD_SAFE)]
                parts.append("@")
            parts.append(self.host_port)
        for name, value in self.params:
            parts += [";", _escape(name, _PARAM_SAFE)]
            if value is not None:
                parts += ["=", _escape(value, _PARAM_SAFE)]
        if self.headers:
            parts.append("?")
            parts.append("&".join(
                f"{_escape(n, _HEADER_SAFE)}={_escape(v, _HEADER_SAFE)}" for n, v in self.headers
            ))
        return "".join(parts)


def parse_uri(text: str) -> SipUri:
    """Parse a sip:, sips: or tel: URI (RFC 3261 19.1, RFC 3966 loosely).

    Any other well-formed scheme raises `SipParseError` with status 416 (Unsupported URI
    Scheme); text that is not a URI at all raises it with status 400.
    """
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME_RE.fullmatch(scheme):
        raise SipParseError(f"not a URI: {text!r}")
    scheme = scheme.lower()
    if scheme == "tel":
        m = _TEL_RE.fullmatch(rest)
        if not m:
            raise SipParseError(f"bad tel URI: {text!r}")
        return SipUri("tel", _unescape(m[1]), None, "", None, _uri_params(m[2]))
    if scheme not in ("sip", "sips"):
        raise SipParseError(f"unsupported URI scheme {scheme!r}", status=416)
    # "@" is not allowed unescaped anywhere but as the end of userinfo, so the first one ends it
    # (a user part may itself hold ";" and "?", as in "sip:user;par=u%40x@example.com").
    user = password = None
    at = rest.find("@")
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1:]
        user, colon, pw = userinfo.partition(":")
        if not _USER_RE.fullmatch(user) or (colon and not _PASSWORD_RE.fullmatch(pw)):
            raise SipParseError(f"bad userinfo in URI: {text!r}")
        user = _unescape(user)
        password = _unescape(pw) if colon else None
    m = _HOSTPORT_RE.fullmatch(rest)
    if not m:
        raise SipParseError(f"bad host, params or headers in URI: {text!r}")
    port = None
    if m[2] is not None:
        port = int(m[2])
        if port > 65535:
            raise SipParseError(f"port out of range in URI: {text!r}")
    headers: tuple[tuple[str, str], ...] = ()
    if m[4]:
        pairs = []
        for item in m[4].split("&"):
            name, eq, value = item.partition("=")
            if not name or not eq:
                raise SipParseError(f"bad header in URI: {text!r}")
            pairs.append((_unescape(name), _unescape(value)))
        headers = tuple(pairs)
    return SipUri(scheme, user, password, m[1].lower(), port, _uri_params(m[3]), headers)


# --- name-addr / addr-spec (From, To, Contact, Route, Refer-To, ...) -------------------------
def _quote_display(name: str) -> str:
    out = []
    for ch in name:
        if ch in "\r\n":
            ch = " "  # cannot be quoted (RFC 3261 quoted-pair excludes CR and LF)
        elif ch in '"\\' or (ch < " " and ch != "\t") or ch == "\x7f":
            ch = "\\" + ch
        out.append(ch)
    return '"' + "".join(out) + '"'


@dataclass(frozen=True)
class NameAddr(_WithParams):
    """A From/To/Contact-style value: optional display name, URI text, header params.

    ``uri`` is the raw URI text (parse it with `parse_uri` when needed): keeping it raw makes
    parsing cheap and keeps unknown schemes (``isbn:...``) intact. ``params`` are the header
    params (tag, expires, q, ...), not the URI's own params.
    """

    display_name: str | None
    uri: str
    params: Params = ()

    @property
    def tag(self) -> str | None:
        return self.param("tag")

    def with_tag(self, tag: str) -> NameAddr:
        return self.with_params(tag=tag)

    def __str__(self) -> str:
        if self.uri == "*":  # the Contact wildcard of a REGISTER that removes all bindings
            return "*"
        display = "" if self.display_name is None else _quote_display(self.display_name) + " "
        return f"{display}<{self.uri}>{format_params(self.params)}"


def parse_name_addr(text: str) -> NameAddr:
    """Parse ``"Name" <uri>;params``, ``Name <uri>``, ``<uri>`` or a bare ``uri;params``.

    In the bare form the params after ``;`` belong to the header (RFC 3261 20.10), and a bare
    URI holding ``?`` or ``,`` is rejected: it must be written inside ``<>``.
    """
    if "<" in text:
        m = _NAME_ADDR_RE.fullmatch(text)
        if not m:
            raise SipParseError(f"malformed name-addr: {text!r}")
        display = m["q"]
        if display is not None:
            if "\\" in display:
                display = _UNQUOTE_RE.sub(r"\1", display)
        else:
            display = m["t"]
    else:
        m = _ADDR_SPEC_RE.fullmatch(text)
        if not m:
            raise SipParseError(f"malformed addr-spec: {text!r}")
        display = None
    return NameAddr(display, m["uri"], parse_params(m["p"]))


# --- Via (a header value, kept here with its sibling grammar) ------------------------------
_VIA_RE = re.compile(
    rf"{WS}({TOKEN}){WS}/{WS}({TOKEN}){WS}/{WS}({TOKEN})[ \t]+"
    rf"({IPV6REF}|[A-Za-z0-9_.-]+)(?:{WS}:{WS}(\d{{1,5}}))?({PARAMS}){WS}"
)


@dataclass(frozen=True)
class Via(_WithParams):
    """One via-parm: ``SIP/2.0/UDP host:port;branch=...;received=...;rport``."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()
    protocol: str = "SIP/2.0"

    @property
    def branch(self) -> str | None:
        return self.param("branch")

    @property
    def received(self) -> str | None:
        return self.param("received")

    @property
    def rport(self) -> str | None:
        """The rport value, "" when present without a value (RFC 3581 request), else None."""
        for n, v in self.params:
            if n == "rport":
                return "" if v is None else v
        return None

    @property
    def is_rfc3261(self) -> bool:
        """True when the branch has the magic cookie and more (else RFC 2543 matching)."""
        branch = self.branch
        return branch is not None and branch.startswith(MAGIC_COOKIE) and len(branch) > 7

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def with_params(self, **params: str | None) -> Via:
        """A copy with these params set; ``with_params(received="1.2.3.4", rport="5060")``.
        Built directly: it runs for every request received (dataclasses.replace is slower)."""
        return Via(self.transport, self.host, self.port, _params_with(self.params, params),
                   self.protocol)

    def __str__(self) -> str:
        return f"{self.protocol}/{self.transport} {self.sent_by}{format_params(self.params)}"


def parse_via(text: str) -> Via:
    """Parse one via-parm (one element of a Via header list)."""
    m = _VIA_RE.fullmatch(text)
    if not m:
        raise SipParseError(f"malformed Via: {text!r}")
    port = int(m[5]) if m[5] is not None else None
    if port is not None and port > 65535:
        raise SipParseError(f"Via port out of range: {text!r}")
    return Via(m[3].upper(), m[4].lower(), port, parse_params(m[6]), f"{m[1].upper()}/{m[2]}")


# --- comma-separated lists ------------------------------------------------------------------
_LIST_ITEM_RE = re.compile(r'(?:[^,"<]+|"(?:[^"\\]|\\.)*"?|<[^>]*>?)+', re.DOTALL)


def split_header_list(value: str) -> list[str]:
    """Split ``a, "b, c" <d,e>, f`` at the commas outside quotes and angle brackets.

    Elements are stripped; empty elements (``a,,b``) are dropped, as most stacks do.
    """
    if "," not in value:
        value = value.strip(" \t")
        return [value] if value else []
    if '"' not in value and "<" not in value:
        items = value.split(",")
    else:
        items = _LIST_ITEM_RE.findall(value)
    return [p for p in (p.strip(" \t") for p in items) if p]


def is_token(text: str) -> bool:
    """True when ``text`` is an RFC 3261 token (methods, option tags, param names...)."""
    return _TOKEN_RE.fullmatch(text) is not None
