"""Credentials both ways: a phone's digest answer, a trunk's budget, the trunk's challenge.

A mixin of pbx/b2bua.py (pure like it). A desk phone must be registered from the address it
calls from and answer the box's 407 challenge; a trunk is recognised by its address, which
UDP lets anyone claim, so its new calls are limited (a token bucket per trunk) instead of
being trusted without bound -- never banned, which would cut the business off.
"""

from __future__ import annotations

import logging

import secrets

from firmware.pbx import callerid, credentials, legs
from firmware.pbx.callio import LegTxn, SendRequest
from firmware.pbx.callstate import Call, CallLeg
from firmware.pbx.sip.digest import answer_challenge
from firmware.pbx.sip.errors import SipError
from firmware.pbx.sip.message import Request, Response, make_response
from firmware.pbx.transport import Address

logger = logging.getLogger("firmware.pbx.b2bua")


class Admission:
    """Methods of B2BUA deciding whether a new call may go on."""

    def authenticate(self, invite: Request, txn, source: Address) -> str | None:
        """The extension placing this call, or None once it has been answered 403/407."""
        if not any(b.source_host == source.host for ext in self.bindings.extensions()
                   for b in self.bindings.contacts(ext, self.wall)):
            logger.warning("call: 403 to INVITE from %s: neither a trunk nor a registered phone",
                           source)
            self.on_auth_failure(source, self.wall)
            self._respond(txn, make_response(invite, 403, "Forbidden"))
            return None
        verdict = credentials.check(self.digest, invite.headers.get("Proxy-Authorization"),
                                    "INVITE", callerid.uri_user(invite.from_.uri),
                                    self._password_for, self.wall, request_uri=invite.uri,
                                    source=source.host)
        if verdict.outcome == credentials.CHALLENGE:
            challenge = [("Proxy-Authenticate", v)
                         for v in self.digest.challenge(self.wall, stale=verdict.stale)]
            self._respond(txn, make_response(invite, 407, "Proxy Authentication Required",
                                             headers=challenge))
            return None
        if verdict.outcome == credentials.REFUSE:
            logger.warning("call: 403 to INVITE from %s (%s)", source, verdict.reason)
            self.on_auth_failure(source, self.wall)
            self._respond(txn, make_response(invite, 403, "Forbidden"))
            return None
        self.on_auth_success(source, self.wall)
        return verdict.username

    def trunk_budget(self, trunk: str) -> bool:
        """A token bucket per trunk: `trunk_calls_per_minute` new calls a minute, with a
        burst of as many (a generous limit: a real provider never comes near it)."""
        rate = self.config.security.trunk_calls_per_minute
        tokens, since = self._trunk_tokens.get(trunk, (float(rate), self.now))
        tokens = min(float(rate), tokens + (self.now - since) * rate / 60.0)
        if tokens < 1.0:
            self._trunk_tokens[trunk] = (tokens, self.now)
            return False
        self._trunk_tokens[trunk] = (tokens - 1.0, self.now)
        return True

    def answer_trunk_challenge(self, call: Call, leg: CallLeg, response: Response) -> bool:
        trunk = next((t for t in self.config.trunks
                      if self.trunk_hosts.get(leg.dest.host) == t.name), None)
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenges = response.headers.get_all(header)
        if trunk is None or not trunk.username or not challenges:
            return False
        call.auth_tries += 1
        try:
            value = answer_challenge(challenges[0], method="INVITE", uri=leg.invite.uri,
                                     username=trunk.username, password=trunk.password,
                                     cnonce=secrets.token_hex(8))
        except (ValueError, SipError) as exc:
            logger.warning("call: %s cannot answer the trunk's challenge: %s", call.id, exc)
            return False
        auth = "Authorization" if response.status == 401 else "Proxy-Authorization"
        request = legs.reinvite_with_auth(leg, auth, value)
        self._out.append(SendRequest(request, leg.dest, LegTxn(call.id, leg.index)))
        return True
