"""The back-to-back user agent: one call = a caller leg + forked callee legs; first answer wins.

State of a call lives in one `Call`; every SIP message and timer finds its call through the
maps below and moves it along:
  ringing --2xx from a callee--> answered --BYE either side--> ended
  ringing --CANCEL / ring timeout / all callees fail--> ended (missed)
The box anchors the audio: every SDP is rewritten to the relay's ports (pbx/media.py), so
phones behind NAT and a trunk on the internet never need to reach each other.
Routing decisions come from the pure pbx/routing.py; events go out on the bus.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable

from firmware.config import Config, normalise_number
from firmware.pbx import credentials, events, legs, routing, tollfraud
from firmware.pbx.bindings import Bindings
from firmware.pbx.legs import Leg
from firmware.pbx.sdp import SessionDescription, audio_endpoint, rewrite_for_relay
from firmware.pbx.sip.digest import DigestServer, answer_challenge
from firmware.pbx.sip.errors import SipError
from firmware.pbx.sip.message import Request, Response, make_response
from firmware.pbx.sip.uri import parse_uri
from firmware.pbx.transport import Address

logger = logging.getLogger(__name__)

T1, T2 = 0.5, 4.0
BUSY_CODES = frozenset({486, 600, 603})


@dataclass
class Call:
    """One caller attempt through the box."""

    id: str
    caller: Leg
    direction: str                       # "inbound" / "outbound" / "internal"
    callees: list[Leg] = field(default_factory=list)
    answered_by: Leg | None = None
    state: str = "ringing"               # ringing / answered / ended
    media: object | None = None          # RelaySession
    timers: list = field(default_factory=list)
    acked: bool = False                  # the caller ACKed our 2xx
    pending: dict = field(default_factory=dict)   # relayed in-dialog requests: txn id -> (txn, leg)
    auth_tries: int = 0
    ringback_sent: bool = False          # 180 (or 183 with early media) sent to the caller

    def other(self, leg: Leg) -> Leg | None:
        if leg is self.caller:
            return self.answered_by
        return self.caller


class B2BUA:
    """Carries out calls; `endpoint` is the SIP endpoint, `media` the RTP relay."""

    def __init__(self, config: Config, endpoint, media, bindings: Bindings,
                 digest: DigestServer, bus: events.EventBus, *, host: str, port: int,
                 trunk_hosts: dict[str, str], clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.endpoint = endpoint
        self.media = media
        self.bindings = bindings
        self.digest = digest
        self.bus = bus
        self.host = host
        self.port = port
        self.trunk_hosts = trunk_hosts       # IP address -> trunk name
        self.clock = clock
        self.calls: dict[str, Call] = {}
        self.by_dialog: dict[tuple[str, str], tuple[Call, Leg]] = {}
        self.by_invite: dict[tuple[str, str], Call] = {}   # caller (Call-ID, From tag)
        self.night: Callable[[], bool] = lambda: False     # night mode (hw/night.py button)
        # Told of every INVITE refused 403 for its credentials (pbx/defence.py).
        self.on_auth_failure: Callable[[Address, float], None] = lambda source, now: None

    # -- requests -------------------------------------------------------------------------
    def on_request(self, request: Request, txn, source: Address) -> None:
        method = request.method
        to_tag = request.to.tag
        if method == "INVITE" and not to_tag:
            self._new_call(request, txn, source)
            return
        if method == "CANCEL":
            self._on_cancel(request, txn)
            return
        found = self.by_dialog.get((request.call_id, to_tag or ""))
        if found is None:
            if method != "ACK":
                self.endpoint.respond(txn, make_response(request, 481,
                                                         "Call/Transaction Does Not Exist"))
            return
        call, leg = found
        if method == "ACK":
            self._on_ack(call, leg, request)
        elif method == "BYE":
            self.endpoint.respond(txn, make_response(request, 200, "OK"))
            self._hang_up(call, leg, events.COMPLETED)
        else:
            self._relay_in_dialog(call, leg, request, txn)

    def _new_call(self, invite: Request, txn, source: Address) -> None:
        key = (invite.call_id, invite.from_.tag or "")
        if key in self.by_invite:   # a new transaction for an INVITE we already took (loop)
            self.endpoint.respond(txn, make_response(invite, 482, "Loop Detected"))
            return
        trunk = self.trunk_hosts.get(source.host)
        now = self.clock()
        if trunk is not None:
            dialled = routing.dialled_user(_uri_user(invite.uri) or _uri_user(invite.to.uri))
            decision = routing.route_inbound(dialled, self.config, self._registered, now,
                                             night=self.night())
            direction = "inbound"
            extension = ""
        else:
            extension = self._authenticate(invite, txn, source, now)
            if extension is None:
                return
            dialled = routing.dialled_user(_uri_user(invite.uri))
            decision = routing.route_outbound(extension, dialled, self.config,
                                              self._registered, now)
            decision = tollfraud.guard(extension, decision, self.config, sum(
                c.direction == "outbound" and c.state != "ended" for c in self.calls.values()))
            direction = "internal" if isinstance(decision, routing.RingExtensions) else "outbound"
        contact_host = (self.config.sip.public_address or self.host) if trunk else self.host
        call = Call(id=_call_id(now), caller=legs.caller_leg(invite, source, contact_host,
                                                               self.port), direction=direction)
        call.caller.txn = txn
        caller_number = self._caller_number(invite, extension)
        if direction == "inbound":
            if isinstance(decision, routing.Reject) and decision.status == 404:
                logger.info("call: %s from %s to unknown number %s: 404", call.id, caller_number,
                            dialled)
                self.endpoint.respond(txn, legs.answer(call.caller, invite, 404))
                return
            number = normalise_number(dialled, self.config.box.country) or dialled
            self.bus.publish(events.CallOffered(call.id, number, caller_number, now, trunk))
        else:
            number = getattr(decision, "number", None) or dialled
            self.bus.publish(events.DialledOut(call.id, extension, number, now))
        if isinstance(decision, routing.Reject):
            logger.info("call: %s refused %d %s", call.id, decision.status, decision.reason)
            self.endpoint.respond(txn, legs.answer(call.caller, invite, decision.status,
                                                   decision.reason))
            self.bus.publish(events.CallEnded(call.id, decision.end_reason, now))
            return
        self.endpoint.respond(txn, legs.answer(call.caller, invite, 100, "Trying"))
        self.calls[call.id] = call
        self.by_invite[key] = call
        self.by_dialog[call.caller.key] = (call, call.caller)
        txn.owner = call
        task = asyncio.get_running_loop().create_task(self._start(call, decision, caller_number))
        task.add_done_callback(_log_failure)

    async def _start(self, call: Call, decision, caller_number: str) -> None:
        """Open the media relay, then ring the phones (or dial the trunk)."""
        invite = call.caller.invite
        try:
            session = await self.media.open_session(call.id)
        except (OSError, RuntimeError, ValueError) as exc:
            logger.warning("call: %s cannot open media ports: %s", call.id, exc)
            self._fail_caller(call, 503, events.FAILED)
            return
        if call.state != "ringing":   # cancelled while the relay opened: give the ports back
            session.close()
            return
        call.media = session
        try:
            offer = self._rewrite(invite.body, call, "b") if invite.body else b""
            if invite.body:
                self._set_remote(call, "a", invite.body)
        except ValueError as exc:   # SdpError, or an address the relay refuses
            logger.warning("call: %s unusable SDP offer: %s", call.id, exc)
            self._fail_caller(call, 488, events.FAILED)
            return
        if isinstance(decision, routing.DialTrunk):
            self._dial_trunk(call, decision, caller_number, offer)
        else:
            self._ring(call, decision, caller_number, offer)
        timeout = self.config.tracking.ring_timeout_seconds
        self._later(call, timeout, self._ring_timeout, call)

    def _ring(self, call: Call, decision: routing.RingExtensions, caller_number: str,
              offer: bytes) -> None:
        now = self.clock()
        display = f"{decision.campaign}: {caller_number}" if decision.campaign else caller_number
        from_uri = f'"{_quote(display)}" <sip:{_user(caller_number)}@{self.host}>'
        max_forwards = _max_forwards(call.caller.invite)
        for extension in decision.extensions:
            for binding in self.bindings.contacts(extension, now):
                dest = Address(binding.source_host, binding.source_port, binding.transport)
                leg = legs.callee_leg(binding.contact, dest, from_uri,
                                      f"<sip:{extension}@{self.host}>", self.host, self.port,
                                      extension)
                self._send_invite(call, leg, legs.build_invite(leg, offer,
                                                               max_forwards=max_forwards))
        for number in decision.forward_to:   # after hours: mobiles through the trunk too
            self._dial_trunk(call, routing.DialTrunk(decision.forward_trunk, number),
                             caller_number, offer, display)
        if not call.callees:
            self._fail_caller(call, 480, events.NOBODY_AVAILABLE)

    def _dial_trunk(self, call: Call, decision: routing.DialTrunk, caller_number: str,
                    offer: bytes, display: str = "") -> None:
        """A leg to an external number. From is the trunk's own user (providers refuse other
        caller IDs); a forwarded call shows "campaign: caller" as the display name."""
        trunk = next(t for t in self.config.trunks if t.name == decision.trunk)
        host = self.config.sip.public_address or self.host
        ip = next((ip for ip, name in self.trunk_hosts.items() if name == trunk.name), trunk.host)
        user = trunk.username or _user(caller_number)
        name = f'"{_quote(display)}" ' if display else ""
        leg = legs.callee_leg(f"sip:{decision.number}@{trunk.host}:{trunk.port}",
                              Address(ip, trunk.port, "UDP"), f"{name}<sip:{user}@{trunk.host}>",
                              f"<sip:{decision.number}@{trunk.host}>", host, self.port,
                              extension=decision.number if display else "")
        self._send_invite(call, leg, legs.build_invite(leg, offer))

    def _send_invite(self, call: Call, leg: Leg, invite: Request) -> None:
        call.callees.append(leg)
        self.by_dialog[leg.key] = (call, leg)
        leg.txn = self.endpoint.send_request(invite, leg.dest, owner=(call, leg))

    def _authenticate(self, invite: Request, txn, source: Address, now: float) -> str | None:
        """The extension placing this call, or None once it has been answered 403/407."""
        if not any(b.source_host == source.host for ext in self.bindings.extensions()
                   for b in self.bindings.contacts(ext, now)):
            logger.warning("call: 403 to INVITE from %s: neither a trunk nor a registered phone",
                           source)
            self.on_auth_failure(source, now)
            self.endpoint.respond(txn, make_response(invite, 403, "Forbidden"))
            return None
        verdict = credentials.check(self.digest, invite.headers.get("Proxy-Authorization"),
                                    "INVITE", _uri_user(invite.from_.uri), self._password_for,
                                    now)
        if verdict.outcome == credentials.CHALLENGE:
            challenge = [("Proxy-Authenticate", v)
                         for v in self.digest.challenge(now, stale=verdict.stale)]
            self.endpoint.respond(txn, make_response(invite, 407,
                                                     "Proxy Authentication Required",
                                                     headers=challenge))
            return None
        if verdict.outcome == credentials.REFUSE:
            logger.warning("call: 403 to INVITE from %s (%s)", source, verdict.reason)
            self.on_auth_failure(source, now)
            self.endpoint.respond(txn, make_response(invite, 403, "Forbidden"))
            return None
        return verdict.username

    def _on_cancel(self, cancel: Request, txn) -> None:
        invite_txn = self.endpoint.table.invite_for_cancel(cancel)
        call = getattr(invite_txn, "owner", None) if invite_txn is not None else None
        if call is None:
            self.endpoint.respond(txn, make_response(cancel, 481,
                                                     "Call/Transaction Does Not Exist"))
            return
        self.endpoint.respond(txn, make_response(cancel, 200, "OK"))
        if call.state == "ringing":
            logger.info("call: %s cancelled by the caller", call.id)
            self._fail_caller(call, 487, events.CALLER_HANGUP)

    def _on_ack(self, call: Call, leg: Leg, ack: Request) -> None:
        if leg is call.caller:
            call.acked = True
            relayed = call.pending.pop("ack", None)
            if relayed is not None and call.answered_by is not None:
                self.endpoint.send_stateless(relayed, call.answered_by.dest)

    # -- responses ------------------------------------------------------------------------
    def on_response(self, response: Response, txn, source: Address | None) -> None:
        owner = getattr(txn, "owner", None) if txn is not None else None
        if owner is None:
            self._stray_response(response)
            return
        if isinstance(owner, tuple) and len(owner) == 3:
            self._relayed_response(response, *owner)
            return
        call, leg = owner
        if response.cseq[1] != "INVITE":
            return   # answers to our BYE / CANCEL: nothing more to do
        status = response.status
        if status < 200:
            leg.provisional = True
            if leg.cancel_pending:
                leg.cancel_pending = False
                self.endpoint.send_request(legs.cancel_for(leg), leg.dest, owner=None)
                return
        if status == 100:
            return
        if status < 200:
            self._on_ringing(call, leg, response)
        elif status < 300:
            self._on_answer(call, leg, response)
        else:
            self._on_failure(call, leg, response)

    def _stray_response(self, response: Response) -> None:
        """A 2xx retransmitted after its transaction ended: ACK it again (RFC 3261 13.2.2.4)."""
        if response.status < 200 or response.status >= 300 or response.cseq[1] != "INVITE":
            return
        found = self.by_dialog.get((response.call_id, response.from_.tag or ""))
        if found is not None:
            call, leg = found
            self.endpoint.send_stateless(legs.ack_for_2xx(leg, response), leg.dest)

    def _on_ringing(self, call: Call, leg: Leg, response: Response) -> None:
        legs.learn_from_response(leg, response)
        if leg.state == "new":
            leg.state = "ringing"
            self.bus.publish(events.CallRinging(call.id, leg.extension, self.clock()))
        if call.state != "ringing" or call.ringback_sent:
            return
        call.ringback_sent = True
        early = b""
        if response.status == 183 and response.body:
            # early media (a provider's ringback or "number unavailable"): relay it now
            try:
                self._set_remote(call, "b", response.body)
                early = self._rewrite(response.body, call, "a")
            except ValueError as exc:
                logger.warning("call: %s bad SDP in 183: %s", call.id, exc)
        if early:
            self.endpoint.respond(call.caller.txn, legs.answer(
                call.caller, call.caller.invite, 183, "Session Progress", early))
        else:
            self.endpoint.respond(call.caller.txn,
                                  legs.answer(call.caller, call.caller.invite, 180, "Ringing"))

    def _on_answer(self, call: Call, leg: Leg, response: Response) -> None:
        legs.learn_from_response(leg, response)
        self.endpoint.send_stateless(legs.ack_for_2xx(leg, response), leg.dest)
        if call.state != "ringing" or leg.state == "answered":
            if call.answered_by is not leg:   # lost the race: hang this one up
                leg.state = "ended"
                self._send_bye(leg)
            return
        leg.state = "answered"
        call.state = "answered"
        call.answered_by = leg
        now = self.clock()
        for other in call.callees:
            if other is not leg and other.state in ("new", "ringing"):
                self._cancel_leg(other)
        body = b""
        if response.body:
            try:
                self._set_remote(call, "b", response.body)
                body = self._rewrite(response.body, call, "a")
            except ValueError as exc:   # SdpError, or an address the relay refuses
                logger.warning("call: %s bad SDP in the answer: %s", call.id, exc)
        self.bus.publish(events.CallAnswered(call.id, leg.extension, now))
        logger.info("call: %s answered by %s", call.id, leg.extension or "the far end")
        ok = legs.answer(call.caller, call.caller.invite, 200, "OK", body)
        self.endpoint.respond(call.caller.txn, ok)
        self._retransmit_2xx(call, ok)

    def _on_failure(self, call: Call, leg: Leg, response: Response) -> None:
        status = response.status
        if status in (401, 407) and call.auth_tries < 2:
            if self._answer_trunk_challenge(call, leg, response):
                return
        leg.state = "failed"
        leg.final_status = status
        if call.state != "ringing":
            return
        if all(other.state in ("failed", "ended") for other in call.callees):
            statuses = {other.final_status for other in call.callees}
            if statuses <= BUSY_CODES:
                self._fail_caller(call, 486, events.BUSY)
            elif call.direction == "outbound":
                self._fail_caller(call, status, events.FAILED, response.reason)
            else:
                self._fail_caller(call, 480, events.NOBODY_AVAILABLE)

    def _answer_trunk_challenge(self, call: Call, leg: Leg, response: Response) -> bool:
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
        leg.txn = self.endpoint.send_request(request, leg.dest, owner=(call, leg))
        return True

    # -- in-dialog relaying (re-INVITE for hold, UPDATE, INFO for DTMF) ---------------------
    def _relay_in_dialog(self, call: Call, leg: Leg, request: Request, txn) -> None:
        other = call.other(leg)
        if other is None or call.state != "answered":
            self.endpoint.respond(txn, make_response(request, 491 if request.method == "INVITE"
                                                     else 481, None))
            return
        body = request.body
        content_type = request.headers.get("Content-Type") or ""
        if body and "sdp" in content_type.lower():
            try:
                self._set_remote(call, _media_leg(call, leg), body)
                body = self._rewrite(body, call, _media_leg(call, other))
            except ValueError as exc:
                self.endpoint.respond(txn, make_response(request, 488, "Not Acceptable Here"))
                logger.warning("call: %s bad SDP in %s: %s", call.id, request.method, exc)
                return
        relayed = legs.in_dialog_request(other, request.method, body, content_type)
        self.endpoint.send_request(relayed, other.dest, owner=(call, txn, leg))

    def _relayed_response(self, response: Response, call: Call, txn, leg: Leg) -> None:
        if response.status == 100:
            return
        other = call.other(leg)
        body = response.body
        if body and other is not None:
            try:
                self._set_remote(call, _media_leg(call, other), body)
                body = self._rewrite(body, call, _media_leg(call, leg))
            except ValueError:
                body = b""
        if response.status >= 200 and response.cseq[1] == "INVITE" and other is not None:
            if response.status < 300:
                self.endpoint.send_stateless(legs.ack_for_2xx(other, response), other.dest)
        self.endpoint.respond(txn, legs.answer(leg, txn.request, response.status,
                                               response.reason, body))

    # -- ending -----------------------------------------------------------------------------
    def _fail_caller(self, call: Call, status: int, reason: str, phrase: str | None = None) -> None:
        if call.state == "ended":
            return
        for leg in call.callees:
            if leg.state in ("new", "ringing"):
                self._cancel_leg(leg)
        self.endpoint.respond(call.caller.txn, legs.answer(call.caller, call.caller.invite,
                                                           status, phrase))
        self._end(call, reason)

    def _ring_timeout(self, call: Call) -> None:
        if call.state == "ringing":
            logger.info("call: %s not answered in %d s", call.id,
                        self.config.tracking.ring_timeout_seconds)
            self._fail_caller(call, 480, events.RING_TIMEOUT)

    def _hang_up(self, call: Call, leg: Leg, reason: str) -> None:
        """`leg` hung up (BYE): hang up the other side and end the call."""
        if call.state == "ended":
            return
        other = call.other(leg)
        if other is not None:
            self._send_bye(other)
        self._end(call, reason)

    def _send_bye(self, leg: Leg) -> None:
        leg.state = "ended"
        self.endpoint.send_request(legs.in_dialog_request(leg, "BYE"), leg.dest, owner=None)

    def _cancel_leg(self, leg: Leg) -> None:
        leg.state = "ended"
        if leg.invite is None:
            return
        if leg.provisional:
            self.endpoint.send_request(legs.cancel_for(leg), leg.dest, owner=None)
        else:
            leg.cancel_pending = True   # RFC 3261 9.1: not before the phone's first 1xx

    def on_timeout(self, txn) -> None:
        owner = getattr(txn, "owner", None)
        if isinstance(owner, tuple) and len(owner) == 2:
            call, leg = owner
            if leg.state in ("new", "ringing"):
                leg.state = "failed"
                leg.final_status = 408
                self._on_failure(call, leg, make_response(leg.invite, 408, "Request Timeout"))
        elif isinstance(owner, Call) and owner.state == "answered" and not owner.acked:
            self._no_ack(owner)

    def _no_ack(self, call: Call) -> None:
        logger.warning("call: %s the caller never ACKed our 200; hanging up", call.id)
        if call.answered_by is not None:
            self._send_bye(call.answered_by)
        self._send_bye(call.caller)
        self._end(call, events.COMPLETED)

    def _end(self, call: Call, reason: str) -> None:
        call.state = "ended"
        for handle in call.timers:
            handle.cancel()
        call.timers.clear()
        self.bus.publish(events.CallEnded(call.id, reason, self.clock()))
        if call.media is not None:
            call.media.close()
        # Keep the dialogs a little longer: late retransmissions still find their call.
        self._later(None, 32.0, self._forget, call)

    def _forget(self, call: Call) -> None:
        self.calls.pop(call.id, None)
        self.by_invite.pop((call.caller.call_id, call.caller.remote_tag), None)
        for leg in [call.caller, *call.callees]:
            self.by_dialog.pop(leg.key, None)

    def sweep(self) -> None:
        """Hang up answered calls whose audio stopped (a lost BYE must not hold ports forever)."""
        for call in list(self.calls.values()):
            if call.state == "answered" and call.media is not None and call.media.idle():
                logger.warning("call: %s no audio for %d s; hanging up both sides", call.id,
                               call.media.idle_timeout)
                if call.answered_by is not None:
                    self._send_bye(call.answered_by)
                self._send_bye(call.caller)
                self._end(call, events.COMPLETED)

    # -- helpers ----------------------------------------------------------------------------
    def _retransmit_2xx(self, call: Call, ok: Response) -> None:
        """Resend our 2xx until the caller ACKs (RFC 3261 13.3.1.4), up to 64*T1."""
        if call.caller.dest.transport == "UDP":
            self._later(call, T1, self._retransmit_2xx_step, call, ok, T1, T1)

    def _retransmit_2xx_step(self, call: Call, ok: Response, interval: float,
                             elapsed: float) -> None:
        if call.acked or call.state != "answered":
            return
        if elapsed >= 64 * T1:
            self._no_ack(call)
            return
        self.endpoint.send_stateless(ok, call.caller.dest)
        step = min(2 * interval, T2)
        self._later(call, step, self._retransmit_2xx_step, call, ok, step, elapsed + step)

    def _later(self, call: Call | None, delay: float, fn, *args) -> None:
        handle = asyncio.get_running_loop().call_later(delay, fn, *args)
        if call is not None:
            call.timers.append(handle)

    def _rewrite(self, body: bytes, call: Call, media_leg: str) -> bytes:
        sd = SessionDescription.parse(body)
        # The trunk is leg "a" of an inbound call and leg "b" of an outbound one; only it is
        # told the public address (the box behind NAT), the phones on the LAN get the local one.
        toward_trunk = (media_leg == "a") == (call.direction == "inbound") \
            and call.direction != "internal"
        host = (self.config.sip.public_address or self.host) if toward_trunk else self.host
        return rewrite_for_relay(sd, host, getattr(call.media, media_leg).local_port).to_bytes()

    def _set_remote(self, call: Call, media_leg: str, body: bytes) -> None:
        endpoint = audio_endpoint(SessionDescription.parse(body))
        if endpoint is not None and call.media is not None:
            call.media.set_remote(media_leg, *endpoint)

    def _registered(self, extension: str) -> bool:
        return bool(self.bindings.contacts(extension, self.clock()))

    def _password_for(self, username: str) -> str | None:
        extension = self.config.extension(username)
        return extension.password if extension else None

    def _caller_number(self, invite: Request, extension: str) -> str:
        if extension:
            return extension
        user = _uri_user(invite.from_.uri) or ""
        return normalise_number(user, self.config.box.country) or user or "anonymous"


def _log_failure(task: asyncio.Task) -> None:
    """A bug while setting up one call is logged with its traceback, never lost silently."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("call: set-up failed", exc_info=task.exception())


def _media_leg(call: Call, leg: Leg) -> str:
    return "a" if leg is call.caller else "b"


def _uri_user(uri: str) -> str:
    try:
        return parse_uri(uri).user or ""
    except SipError:
        return ""


def _user(number: str) -> str:
    return "".join(ch for ch in number if ch.isalnum() or ch in "+*#-_.") or "anonymous"


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _max_forwards(invite: Request) -> int:
    value = invite.headers.get("Max-Forwards") or "70"
    value = value.strip()
    return max(1, min(70, int(value) - 1)) if value.isascii() and value.isdigit() else 70


def _call_id(now: float) -> str:
    return f"{int(now):x}{secrets.token_hex(3)}"
