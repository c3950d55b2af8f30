"""The registrar: desk phones REGISTER with digest auth and tell the box where they ring.

Pure: `handle(request, source, now) -> Response`, no sockets. RFC 3261 section 10.3 with the
choices a box on the internet needs:
- an unknown extension and a wrong password get the same answer (403 after the challenge),
  so a scanner cannot tell which extensions exist;
- Expires below MIN_EXPIRES gets 423, above MAX_EXPIRES is capped;
- the address the REGISTER came from is kept beside the Contact, and calls go there, so a
  phone behind NAT (whose Contact is a private address) is still reached.
"""

from __future__ import annotations

import logging
from typing import Callable

from firmware.pbx.bindings import Binding, Bindings
from firmware.pbx import credentials
from firmware.pbx.sip.digest import DigestServer
from firmware.pbx.sip.errors import SipParseError
from firmware.pbx.sip.message import Request, Response, make_response
from firmware.pbx.sip.uri import parse_name_addr, parse_uri
from firmware.pbx.transport import Address

logger = logging.getLogger(__name__)

MIN_EXPIRES = 60
MAX_EXPIRES = 3600
DEFAULT_EXPIRES = 3600
MAX_CONTACTS = 10   # per extension; a phone, a softphone, a mobile app ... not a botnet


class Registrar:
    """Checks credentials and keeps `bindings` up to date."""

    def __init__(self, digest: DigestServer, password_for: Callable[[str], str | None],
                 bindings: Bindings, to_tag: Callable[[], str], *,
                 on_auth_failure: Callable[[Address, float], None] = lambda source, now: None,
                 on_auth_success: Callable[[Address, float], None] = lambda source, now: None
                 ) -> None:
        self.digest = digest
        self.password_for = password_for
        self.bindings = bindings
        self.to_tag = to_tag
        # Told of every refused digest answer (pbx/defence.py bans password guessers).
        self.on_auth_failure = on_auth_failure
        # Told of every accepted digest answer (a scanner UA spoofed from there is no ban).
        self.on_auth_success = on_auth_success

    def handle(self, request: Request, source: Address, now: float) -> Response:
        try:
            extension = request.to_uri.user or ""
        except SipParseError:
            return make_response(request, 400, "Bad To URI")
        verdict = credentials.check(self.digest, request.headers.get("Authorization"),
                                    "REGISTER", extension, self.password_for, now,
                                    request_uri=request.uri, source=source.host)
        if verdict.outcome == credentials.CHALLENGE:
            return self._challenge(request, now, stale=verdict.stale)
        if verdict.outcome == credentials.REFUSE:
            logger.warning("register: refused %s from %s (%s)", extension, source,
                           verdict.reason)
            self.on_auth_failure(source, now)
            return make_response(request, 403, "Forbidden", to_tag=self.to_tag())
        self.on_auth_success(source, now)
        return self._update(request, extension, source, now)

    def _challenge(self, request: Request, now: float, stale: bool = False) -> Response:
        headers = [("WWW-Authenticate", value) for value in self.digest.challenge(now, stale=stale)]
        return make_response(request, 401, "Unauthorized", to_tag=self.to_tag(), headers=headers)

    def _update(self, request: Request, extension: str, source: Address, now: float) -> Response:
        contacts = request.headers.get_all("Contact")    # split at commas already
        default = _int(request.headers.get("Expires"), DEFAULT_EXPIRES)
        call_id = request.call_id
        cseq, _ = request.cseq
        if contacts == ["*"]:
            if default != 0:
                return make_response(request, 400, "Wildcard Contact needs Expires: 0")
            self.bindings.remove(extension)
            logger.info("register: %s unregistered every contact", extension)
            return self._ok(request, extension, now)
        if "*" in contacts:
            return make_response(request, 400, "Wildcard Contact must stand alone")
        try:
            parsed = request.contacts       # parsed once (the endpoint's checks read them)
        except SipParseError:
            parsed = None                   # a bad one: found below, in order
        changes: list[tuple[str, int]] = []
        for i, text in enumerate(contacts):
            try:
                contact = parse_name_addr(text) if parsed is None else parsed[i]
                parse_uri(contact.uri)
            except SipParseError:
                return make_response(request, 400, "Bad Contact")
            expires = _int(contact.param("expires"), default)
            if 0 < expires < MIN_EXPIRES:
                return make_response(request, 423, "Interval Too Brief", to_tag=self.to_tag(),
                                     headers=[("Min-Expires", str(MIN_EXPIRES))])
            old = self.bindings.find(extension, contact.uri)
            if old is not None and old.call_id == call_id and old.cseq >= cseq:
                return make_response(request, 500, "Out of order REGISTER",
                                     headers=[("Retry-After", "1")])
            changes.append((contact.uri, min(expires, MAX_EXPIRES)))
        current = {b.contact for b in self.bindings.contacts(extension, now)}
        new = {uri for uri, expires in changes if expires and uri not in current}
        if len(current) + len(new) > MAX_CONTACTS:
            return make_response(request, 403, "Too many contacts", to_tag=self.to_tag())
        user_agent = (request.headers.get("User-Agent") or "")[:100]
        for uri, expires in changes:
            if expires == 0:
                self.bindings.remove(extension, uri)
                logger.info("register: %s removed %s", extension, uri)
                continue
            self.bindings.put(extension, Binding(uri, now + expires, source.host, source.port,
                                                 source.transport, call_id, cseq, user_agent))
            if uri not in current:
                logger.info("register: %s bound %s via %s for %d s", extension, uri, source,
                            expires)
        return self._ok(request, extension, now)

    def _ok(self, request: Request, extension: str, now: float) -> Response:
        headers = [("Contact", f"<{b.contact}>;expires={b.expires_in(now)}")
                   for b in self.bindings.contacts(extension, now)]
        return make_response(request, 200, "OK", to_tag=self.to_tag(), headers=headers)


def _int(text: str | None, default: int) -> int:
    """A delta-seconds value; junk or absurd values fall back to the default."""
    if text is None:
        return default
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return default
    return int(text)
