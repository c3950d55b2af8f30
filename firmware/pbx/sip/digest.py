"""Digest authentication (RFC 7616, RFC 2617, RFC 2069 compatibility, RFC 8760 for SIP).

Why it looks like this:
- Nonces carry their own proof: ``base64(timestamp | salt | HMAC(secret, timestamp|salt|realm))``.
  Any nonce we issued can be checked with the secret alone, across restarts if the secret
  and the clock (pass wall time as ``now``) survive, and nobody can mint one. An expired but
  genuine nonce makes the next challenge say ``stale=true`` so phones retry silently.
- Replay: with qop the only state kept is the highest ``nc`` per ``(nonce, cnonce)``; a request
  whose nc is not above it is refused (and answered stale, so a confused phone simply gets a
  fresh nonce). Keying by cnonce as well as nonce lets phones that restart nc at 1 with a new
  cnonce work, and stays safe because the cnonce is covered by the response hash. The table is
  bounded: entries of expired nonces go first; if it is still full the oldest eighth goes and
  every nonce issued up to those is treated as stale unless still tracked (``_floor``), so an
  evicted entry can never be replayed -- at worst a phone is re-challenged with stale=true.
- RFC 2069 (no qop) has no nc, so nothing can tell a replay from a refresh. Old phones reuse
  the nonce for every REGISTER refresh, so such a nonce is bound to the address of its first
  use: it is accepted again from there while it lives, and answered stale from anywhere else
  (a captured header replayed from another host gets a fresh challenge it cannot answer).
  When the caller passes no source the nonce is single-use. Turn RFC 2069 off with
  ``allow_rfc2069=False``.
- The ``uri`` a response covers must be the request's Request-URI when the caller passes it
  (RFC 7616 3.4.6): otherwise one captured header, whose hash covers only the method and uri,
  would authorise a request to any other number.
- An unknown user and a wrong password give the same AuthResult (only ``reason`` differs, for
  logs) after the same hashing work, so the registrar's answers cannot enumerate extensions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import struct
from dataclasses import dataclass
from typing import Callable, Mapping, Union

from .errors import SipParseError

logger = logging.getLogger(__name__)

# algorithm name (upper case, without -sess) -> hash constructor
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
_DUMMY_PASSWORD = "\x00callbox-no-such-user\x00"

# A password, or precomputed HA1 hex digests keyed by base algorithm ("MD5", "SHA-256").
Secret = Union[str, Mapping[str, str]]

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# quoted-string "unrolled" (runs of plain characters between escapes): the same matches as
# (?:[^"\\]|\\.)*, without a branch per character of a 40-character nonce
_PARAM_RE = re.compile(
    r'[\s,]*(' + _TOKEN + r')\s*=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^\s,"]*))\s*(?:,|$)', re.S
)
_SCHEME_RE = re.compile(r"\s*(" + _TOKEN + r")(?:\s+|$)")
_ESCAPE_RE = re.compile(r"\\(.)", re.S)
_NC_RE = re.compile(r"[0-9A-Fa-f]{8}\Z")

_TS = struct.Struct(">d")
_SALT_LEN = 6
_MAC_LEN = 16
_NONCE_RAW_LEN = _TS.size + _SALT_LEN + _MAC_LEN  # 30 bytes -> 40 base64 chars, no padding


def parse_auth_header(value: str) -> tuple[str, dict[str, str]]:
    """Split a challenge or credentials value into (scheme, params) with lower-case param names.

    Quoted strings are unescaped; commas inside quotes are kept. Raises SipParseError.
    """
    m = _SCHEME_RE.match(value)
    if m is None:
        raise SipParseError("missing auth scheme")
    scheme = m.group(1)
    params: dict[str, str] = {}
    pos, end = m.end(), len(value)
    while pos < end:
        m = _PARAM_RE.match(value, pos)
        if m is None:
            if value[pos:].strip(" \t\r\n,"):
                raise SipParseError(f"bad auth parameter near {value[pos:pos + 20]!r}")
            break
        name = m.group(1).lower()
        if name in params:
            raise SipParseError(f"duplicate auth parameter {name!r}")
        quoted = m.group(2)
        if quoted is None:
            params[name] = m.group(3)
        else:
            params[name] = _ESCAPE_RE.sub(r"\1", quoted) if "\\" in quoted else quoted
        pos = m.end()
    return scheme, params


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _split_algorithm(algorithm: str) -> tuple[str, bool]:
    """'sha-256-sess' -> ('SHA-256', True). Raises KeyError for unknown algorithms."""
    name = algorithm.upper()
    sess = name.endswith("-SESS")
    if sess:
        name = name[:-5]
    if name not in _HASHES:
        raise KeyError(algorithm)
    return name, sess


def _h(hasher, text: str) -> str:
    return hasher(text.encode("utf-8")).hexdigest()


def make_ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    """H(username:realm:password), the value a password store may keep instead of the password."""
    base, _ = _split_algorithm(algorithm)
    return _h(_HASHES[base], f"{username}:{realm}:{password}")


def digest_response(
    algorithm: str,
    *,
    ha1: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """The request-digest of RFC 7616 3.4.1 from a (non-sess) HA1; qop None is RFC 2069."""
    base, sess = _split_algorithm(algorithm)
    hasher = _HASHES[base]
    if sess:
        ha1 = _h(hasher, f"{ha1}:{nonce}:{cnonce}")
    if qop == "auth-int":
        ha2 = _h(hasher, f"{method}:{uri}:{hasher(body).hexdigest()}")
    else:
        ha2 = _h(hasher, f"{method}:{uri}")
    if qop:
        return _h(hasher, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(hasher, f"{ha1}:{nonce}:{ha2}")


@dataclass(frozen=True)
class AuthResult:
    """Outcome of DigestServer.verify; `reason` is for logs only, never for the answer."""

    ok: bool
    username: str | None
    stale: bool
    reason: str


class DigestServer:
    """Issues challenges and checks credentials for one realm; keeps only a bounded nc table."""

    def __init__(
        self,
        realm: str,
        secret: bytes,
        *,
        nonce_lifetime: float = 300.0,
        algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
        allow_rfc2069: bool = True,
        max_tracked: int = 16384,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("digest secret must be at least 16 bytes")
        for algorithm in algorithms:
            _split_algorithm(algorithm)
        self.realm = realm
        self.nonce_lifetime = nonce_lifetime
        self.algorithms = tuple(algorithms)
        self.allow_rfc2069 = allow_rfc2069
        self.max_tracked = max_tracked
        self._secret = secret
        self._realm_bytes = realm.encode("utf-8")
        self._accepted = {a.upper(): a for a in algorithms}
        # (nonce, cnonce) -> (highest nc, nonce timestamp); insertion order ~ age
        self._seen: dict[tuple[str, str], tuple[int, float]] = {}
        self._floor = float("-inf")
        # RFC 2069 nonce -> (source host of its first use, or "" when single-use; timestamp)
        self._bound: dict[str, tuple[str, float]] = {}
        self._bound_floor = float("-inf")

    # -- nonces ---------------------------------------------------------------------------

    def make_nonce(self, now: float, salt: bytes | None = None) -> str:
        """A fresh nonce stamped with `now`; `salt` only for tests."""
        head = _TS.pack(now) + (salt if salt is not None else os.urandom(_SALT_LEN))
        mac = hmac.digest(self._secret, head + self._realm_bytes, "sha256")[:_MAC_LEN]
        return base64.urlsafe_b64encode(head + mac).decode("ascii")

    def nonce_time(self, nonce: str) -> float | None:
        """The issue time of a nonce we made, or None if it is not ours (forged, mangled)."""
        if len(nonce) != 40:
            return None
        try:
            raw = base64.urlsafe_b64decode(nonce)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != _NONCE_RAW_LEN:
            return None
        head, mac = raw[:-_MAC_LEN], raw[-_MAC_LEN:]
        expected = hmac.digest(self._secret, head + self._realm_bytes, "sha256")[:_MAC_LEN]
        if not hmac.compare_digest(mac, expected):
            return None
        return _TS.unpack_from(head)[0]

    def challenge(self, now: float, *, stale: bool = False) -> list[str]:
        """WWW-Authenticate / Proxy-Authenticate values, one per algorithm in preference order."""
        nonce = self.make_nonce(now)
        qop = ', qop="auth"'
        stale_part = ", stale=true" if stale else ""
        return [
            f"Digest realm={_quote(self.realm)}, nonce=\"{nonce}\", "
            f"algorithm={algorithm}{qop}{stale_part}"
            for algorithm in self.algorithms
        ]

    # -- verification ---------------------------------------------------------------------

    def verify(
        self,
        method: str,
        authorization: str,
        password_for: Callable[[str], Secret | None],
        now: float,
        *,
        request_uri: str | None = None,
        source: str | None = None,
    ) -> AuthResult:
        """Check an Authorization / Proxy-Authorization value for a request of `method`.

        `password_for(username)` returns the password, a mapping of precomputed HA1s
        ({"MD5": hex, "SHA-256": hex}), or None for an unknown user. `request_uri`, when
        given, must match the credentials' uri; `source` (the sender's host) binds an RFC 2069
        nonce to its first sender (without it such a nonce is single-use).
        """
        try:
            scheme, p = parse_auth_header(authorization)
        except SipParseError as exc:
            return AuthResult(False, None, False, f"unparsable credentials: {exc.reason}")
        if scheme.lower() != "digest":
            return AuthResult(False, None, False, f"scheme {scheme!r} not supported")
        username = p.get("username")
        nonce, uri, response = p.get("nonce"), p.get("uri"), p.get("response")
        if username is None or nonce is None or uri is None or response is None:
            return AuthResult(False, username, False, "missing username, nonce, uri or response")
        if p.get("realm") != self.realm:
            return AuthResult(False, username, False, f"wrong realm {p.get('realm')!r}")
        algorithm = self._accepted.get(p.get("algorithm", "MD5").upper())
        if algorithm is None:
            reason = f"algorithm {p.get('algorithm')!r} not offered"
            return AuthResult(False, username, False, reason)
        base, sess = _split_algorithm(algorithm)
        qop, nc_text, cnonce = p.get("qop"), p.get("nc"), p.get("cnonce")
        if qop is not None:
            if qop.lower() != "auth":
                return AuthResult(False, username, False, f"qop {qop!r} not offered")
            qop = "auth"
            if nc_text is None or cnonce is None or not _NC_RE.match(nc_text):
                return AuthResult(False, username, False, "qop without valid nc and cnonce")
        elif sess or not self.allow_rfc2069:
            return AuthResult(False, username, False, "qop missing")
        issued = self.nonce_time(nonce)
        if issued is None:
            return AuthResult(False, username, False, "nonce not issued by us")

        secret = password_for(username)
        known = secret is not None
        if isinstance(secret, str):
            ha1 = _h(_HASHES[base], f"{username}:{self.realm}:{secret}")
        elif known and base in secret:
            ha1 = secret[base]
        else:
            # Unknown user (or no HA1 for this algorithm): same work, certain mismatch.
            ha1 = _h(_HASHES[base], f"{username}:{self.realm}:{_DUMMY_PASSWORD}")
            known = False
        expected = digest_response(
            algorithm, ha1=ha1, nonce=nonce, method=method, uri=uri,
            qop=qop, nc=nc_text, cnonce=cnonce,
        )
        if not hmac.compare_digest(expected.encode(), response.lower().encode()) or not known:
            reason = ("bad response" if known else "unknown user" if secret is None
                      else f"no {base} HA1 stored")
            return AuthResult(False, username, False, reason)

        # The caller knows the password; now only the nonce's freshness can fail.
        if request_uri is not None and not same_uri(uri, request_uri):
            return AuthResult(False, username, False,
                              f"uri {uri!r} is not the Request-URI {request_uri!r}")
        if not issued <= now <= issued + self.nonce_lifetime:
            return AuthResult(False, username, True, "nonce expired")
        if qop is not None and not self._note_nc(nonce, cnonce, int(nc_text, 16), issued, now):
            return AuthResult(False, username, True, "nonce count replayed")
        if qop is None and not self._bind_rfc2069(nonce, source or "", issued, now):
            return AuthResult(False, username, True, "RFC 2069 nonce replayed from elsewhere")
        return AuthResult(True, username, False, "ok")

    def _bind_rfc2069(self, nonce: str, source: str, issued: float, now: float) -> bool:
        """Bind an RFC 2069 nonce to `source` at first use; False for any later use from
        elsewhere, or any later use at all when there is no source (single-use)."""
        bound = self._bound.get(nonce)
        if bound is not None:
            return bool(source) and bound[0] == source
        if issued <= self._bound_floor:
            return False  # its binding may have been evicted: refuse (answered stale)
        self._bound_floor = max(self._bound_floor,
                                _evict_oldest(self._bound, now - self.nonce_lifetime,
                                              self.max_tracked))
        self._bound[nonce] = (source, issued)
        return True

    def _note_nc(self, nonce: str, cnonce: str, nc: int, issued: float, now: float) -> bool:
        """Record nc for (nonce, cnonce); False if it does not advance (a replay)."""
        key = (nonce, cnonce)
        seen = self._seen.get(key)
        if seen is None:
            if issued <= self._floor:
                return False  # its entry may have been evicted: we cannot tell, so refuse
            self._evict(now)
        elif nc <= seen[0]:
            return False
        self._seen[key] = (nc, issued)
        return True

    def _evict(self, now: float) -> None:
        """Drop expired entries; when still full, drop the oldest eighth and raise the floor."""
        oldest = now - self.nonce_lifetime
        seen = self._seen
        while seen:  # the usual case: expired entries sit at the front
            key = next(iter(seen))
            if seen[key][1] >= oldest:
                break
            del seen[key]
        if len(seen) < self.max_tracked:
            return
        for key in [k for k, (_, issued) in seen.items() if issued < oldest]:
            del seen[key]  # expired entries stuck behind a live one
        target = self.max_tracked - max(1, self.max_tracked // 8)
        if len(seen) > target:
            while len(seen) > target:
                _, issued = seen.pop(next(iter(seen)))
                self._floor = max(self._floor, issued)
            logger.warning("digest nc table full; nonces issued up to %.3f now count as stale",
                           self._floor)


def _evict_oldest(table: dict, oldest: float, limit: int) -> float:
    """Drop entries (value[1] = issue time) older than `oldest`; when still full, the oldest
    eighth. Returns the highest issue time dropped while live (the new floor), or -inf."""
    for key in [k for k, value in table.items() if value[1] < oldest]:
        del table[key]
    floor = float("-inf")
    if len(table) >= limit:
        for key in list(table)[:max(1, limit // 8)]:
            floor = max(floor, table.pop(key)[1])
    return floor


def same_uri(credentials_uri: str, request_uri: str) -> bool:
    """Do the digest `uri` and the Request-URI name the same resource?

    Scheme, user, host and port must agree (host case-insensitively, as RFC 3261 19.1.4);
    parameters are ignored, since some phones drop `;transport=` from one of the two. Text
    that is not a SIP URI must match exactly.
    """
    if credentials_uri.strip() == request_uri.strip():
        return True
    from .uri import parse_uri     # a sibling module; imported late to keep digest standalone
    try:
        a, b = parse_uri(credentials_uri.strip()), parse_uri(request_uri.strip())
    except SipParseError:
        return False
    return (a.scheme, a.user, a.host.lower(), a.port) == (b.scheme, b.user, b.host.lower(), b.port)


def pick_challenge(values: list[str]) -> str | None:
    """From several WWW-Authenticate values, the Digest one with the strongest algorithm we know."""
    best, best_rank = None, -1
    ranks = {"SHA-256": 2, "MD5": 1}
    for value in values:
        try:
            scheme, params = parse_auth_header(value)
            base, _ = _split_algorithm(params.get("algorithm", "MD5"))
        except (SipParseError, KeyError):
            continue
        if scheme.lower() == "digest" and ranks[base] > best_rank:
            best, best_rank = value, ranks[base]
    return best


def answer_challenge(
    challenge: str,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
    body: bytes = b"",
) -> str:
    """The Authorization / Proxy-Authorization value answering one Digest challenge value.

    Picks qop=auth when offered (auth-int only if that is all there is), else answers
    RFC 2069 style. Raises SipParseError for a challenge we cannot answer.
    """
    scheme, p = parse_auth_header(challenge)
    if scheme.lower() != "digest":
        raise SipParseError(f"cannot answer {scheme!r} challenge")
    realm, nonce = p.get("realm"), p.get("nonce")
    if realm is None or nonce is None:
        raise SipParseError("challenge without realm or nonce")
    algorithm = p.get("algorithm")
    try:
        base, _ = _split_algorithm(algorithm or "MD5")
    except KeyError:
        raise SipParseError(f"unsupported digest algorithm {algorithm!r}") from None
    offered = [q.strip().lower() for q in p.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in offered else "auth-int" if "auth-int" in offered else None
    if offered and qop is None:
        raise SipParseError(f"no supported qop in {p['qop']!r}")
    nc_text = f"{nc:08x}"
    response = digest_response(
        algorithm or "MD5",
        ha1=_h(_HASHES[base], f"{username}:{realm}:{password}"),
        nonce=nonce, method=method, uri=uri,
        qop=qop, nc=nc_text if qop else None, cnonce=cnonce if qop else None, body=body,
    )
    parts = [
        f"username={_quote(username)}",
        f"realm={_quote(realm)}",
        f"nonce={_quote(nonce)}",
        f"uri={_quote(uri)}",
        f'response="{response}"',
    ]
    if algorithm:
        parts.append(f"algorithm={algorithm}")
    if qop:
        parts += [f"cnonce={_quote(cnonce)}", f"qop={qop}", f"nc={nc_text}"]
    if "opaque" in p:
        parts.append(f"opaque={_quote(p['opaque'])}")
    return "Digest " + ", ".join(parts)
