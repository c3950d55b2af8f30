"""The back-to-back user agent as a pure state machine: one call = a caller leg + forked callee legs.

`B2BUA.receive(input, now, wall) -> [action]` (pbx/callio.py): SIP messages, transaction
timeouts, media events and due deadlines go in with the monotonic `now` (deadlines) and the
wall clock `wall` (event times, bindings); what to send, open, close and publish comes out.
Nothing here touches a socket, a clock or the event loop; the endpoint executes the actions.
States and their allowed moves live in pbx/callstate.py; in-dialog work (ACK, re-INVITE and
UPDATE relaying, PRACK, session timers) in pbx/indialog.py.

The box anchors the audio: every SDP is rewritten to the relay's ports (pbx/media.py), so
phones behind NAT and a trunk on the internet never need to reach each other. Routing
decisions come from the pure pbx/routing.py.

Failures never leave state behind: the ring timeout is armed the moment a call is taken, and
any exception while handling a call's input ends that call (final response or BYE to every
leg, media closed, the call recorded as failed) instead of leaving it half set up.
"""

from __future__ import annotations

import logging
from typing import Callable

from firmware.config import Config, normalise_number
from firmware.pbx import callerid, dialled, events, legs, routing, tollfraud
from firmware.pbx.bindings import Bindings
from firmware.pbx.callio import (
    CloseMedia, Fire, LegTxn, MediaFailed, MediaOpened, MediaStopped, OpenMedia, Originate,
    Publish,
    RelayTxn, RequestIn, Respond, ResponseIn, SendRequest, SendStateless, Tick, TxnTimedOut)
from firmware.pbx.callstate import Call, CallLeg, CallState, LegState
from firmware.pbx.deadlines import Deadlines
from firmware.pbx.admission import Admission
from firmware.pbx.features import Features
from firmware.pbx.indialog import InDialog
from firmware.pbx.originate import ClickToCall
from firmware.pbx.blf import Lamps
from firmware.pbx.mwi import MessageLamps, MessagesWaiting, NotifyTxn, is_message_summary
from firmware.pbx.replaces import Replacing
from firmware.pbx.ringing import Ringing
from firmware.pbx.transfer import Transfers
from firmware.pbx.voicemail import Voicemail
from firmware.pbx.audio_io import AudioDone
from firmware.pbx.presence import Presence
from firmware.pbx.sip.digest import DigestServer
from firmware.pbx.sip.errors import SipError
from firmware.pbx.sip.message import Request, Response, make_response
from firmware.pbx.transport import Address

logger = logging.getLogger(__name__)

BUSY_CODES = frozenset({486, 600, 603})
FORGET_AFTER = 32.0          # seconds an ended call's dialogs still absorb retransmissions


class B2BUA(Admission, Ringing, Features, ClickToCall, Transfers, Replacing, Lamps,
            InDialog, MessageLamps, Voicemail):
    """Call control of the box. `trunk_hosts` maps a source IP to its trunk's name."""

    def __init__(self, config: Config, bindings: Bindings, digest: DigestServer, *,
                 host: str, port: int, trunk_hosts: dict[str, str],
                 night: Callable[[], bool] = lambda: False,
                 on_auth_failure: Callable[[Address, float], None] = lambda source, now: None,
                 on_auth_success: Callable[[Address, float], None] = lambda source, now: None,
                 trunk_route: Callable[[str], tuple[Address, tuple[str, ...]]] | None = None,
                 contact_name: Callable[[str], str | None] = lambda number: None,
                 trunk_failover: Callable[[str, Address, str], bool] = lambda n, d, w: False,
                 presence: Presence | None = None) -> None:
        self.config = config
        self.bindings = bindings
        self.digest = digest
        self.host = host
        self.port = port
        self.trunk_hosts = trunk_hosts
        self.night = night                      # night mode (hw/night.py button)
        self.on_auth_failure = on_auth_failure  # told of every INVITE refused 403 (defence)
        self.on_auth_success = on_auth_success  # and of every one that authenticated
        self.trunk_route = trunk_route          # trunk name -> (destination, pre-loaded routes)
        self.trunk_failover = trunk_failover    # (trunk, target, why) -> another target left?
        self.contact_name = contact_name        # E.164 -> a known caller's name (contacts)
        self.presence = presence or Presence()  # do not disturb, per extension
        self.calls: dict[str, Call] = {}
        self.by_dialog: dict[tuple[str, str], tuple[Call, CallLeg]] = {}
        self.by_invite: dict[tuple[str, str], Call] = {}   # caller (Call-ID, From tag)
        self.deadlines = Deadlines()
        self._plans: dict[str, tuple[object, str]] = {}    # call id -> (route, caller number)
        self._trunk_tokens: dict[str, tuple[float, float]] = {}   # trunk -> (tokens, at)
        self.refused: dict[str, str] = {}      # click-to-call id -> why it was not placed
        self.subscriptions: dict = {}          # BLF: dialog key -> Subscription (pbx/blf.py)
        self.mwi_subscriptions: dict = {}      # message lamps: key -> MwiSubscription (mwi.py)
        self.mailbox = MessagesWaiting(0, 0)   # what the lamps show (the tracker's LED state)
        self._out: list = []
        self.now = self.wall = 0.0

    # -- the one entry point -------------------------------------------------------------
    def receive(self, event, now: float, wall: float) -> list:
        """Take one input; return the actions it leads to, in order."""
        self._out, self.now, self.wall = [], now, wall
        call = self._call_of(event)
        try:
            self._dispatch(event)
        except Exception as exc:  # noqa: BLE001 -- a bug fails its call, never the box
            logger.error("call: %s failed on %s: %s", call.id if call else "-",
                         type(event).__name__, exc, exc_info=True)
            if call is not None:
                self._abort(call)
            elif isinstance(event, RequestIn) and event.txn is not None:
                self._respond(event.txn, make_response(event.request, 500, "Server Error"))
        if self.subscriptions:
            self.update_lamps()
        return self._out

    @property
    def next_deadline(self) -> float | None:
        return self.deadlines.next_deadline

    def _dispatch(self, event) -> None:
        if isinstance(event, RequestIn):
            self._on_request(event.request, event.txn, event.source)
        elif isinstance(event, ResponseIn):
            self._on_response(event.response, event.owner)
        elif isinstance(event, Tick):
            for (call_id, kind), payload in self.deadlines.due(self.now):
                if kind == "expire":
                    self.subscription_expired(payload)
                    continue
                if kind == "mwi_expire":
                    self.mwi_expired(payload)
                    continue
                call = self.calls.get(call_id)
                if call is not None:
                    self._on_deadline(call, kind, payload)
        elif isinstance(event, MediaOpened):
            self._on_media(event.call_id, event.session)
        elif isinstance(event, MediaFailed):
            call = self.calls.get(event.call_id)
            if call is not None:
                logger.warning("call: %s cannot open media ports: %s", call.id, event.why)
                self._fail_caller(call, 503, events.FAILED)
        elif isinstance(event, MediaStopped):
            call = self.calls.get(event.call_id)
            if call is not None and call.state is CallState.ANSWERED:
                logger.warning("call: %s no audio for too long; hanging up both sides", call.id)
                self._hang_up_all(call, events.COMPLETED)
        elif isinstance(event, TxnTimedOut):
            self._on_txn_timeout(event.owner)
        elif isinstance(event, Originate):
            self.originate(event.call_id, event.extension, event.number)
        elif isinstance(event, MessagesWaiting):
            self.messages_waiting(event)
        elif isinstance(event, AudioDone):
            self.on_audio_done(event)

    def _call_of(self, event) -> Call | None:
        """The call an input belongs to, for failing it cleanly if handling it raises."""
        call_id = getattr(event, "call_id", None) or getattr(getattr(event, "owner", None),
                                                             "call_id", None)
        if call_id:
            return self.calls.get(call_id)
        message = getattr(event, "request", None) or getattr(event, "response", None)
        if message is None:
            return None
        try:
            found = self.by_dialog.get((message.call_id, message.to.tag or "")) or \
                self.by_dialog.get((message.call_id, message.from_.tag or ""))
            if found is not None:
                return found[0]
            return self.by_invite.get((message.call_id, message.from_.tag or ""))
        except SipError:
            return None

    # -- new calls -------------------------------------------------------------------------
    def _on_request(self, request: Request, txn, source: Address) -> None:
        method = request.method
        if method == "INVITE" and not request.to.tag:
            self._new_call(request, txn, source)
        elif method == "CANCEL":
            self._on_cancel(request, txn, source)
        elif method == "SUBSCRIBE" and is_message_summary(request):
            self.on_message_summary(request, txn, source)
        elif method == "SUBSCRIBE":
            self.on_subscribe(request, txn, source)
        else:
            self.in_dialog(request, txn, source)

    def _new_call(self, invite: Request, txn, source: Address) -> None:
        key = (invite.call_id, invite.from_.tag or "")
        if key in self.by_invite:   # a new transaction for an INVITE we already took (loop)
            self._respond(txn, make_response(invite, 482, "Loop Detected"))
            return
        problem = self.session_timer_problem(invite)
        if problem is not None:
            self._respond(txn, problem)
            return
        trunk = self.trunk_hosts.get(source.host)
        extension = ""
        if trunk is not None and not self.trunk_budget(trunk):
            # A trunk is trusted by address, which UDP lets anyone claim: it is never banned
            # (that would cut the business off), but it cannot ring phones, fill the callback
            # queue or send SMS without limit either.
            logger.warning("call: trunk %s offers more than %d calls a minute; 503 to %s",
                           trunk, self.config.security.trunk_calls_per_minute, invite.call_id)
            self._respond(txn, make_response(invite, 503, "Service Unavailable",
                                             headers=[("Retry-After", "10")]))
            return
        if trunk is not None:
            spec = next((t for t in self.config.trunks if t.name == trunk), None)
            found = dialled.called_number(
                invite, lambda number: routing.is_served(number, self.config),
                spec.called_number_from if spec else (), spec.username if spec else "")
            number_dialled = found.number if found is not None else ""
            decision = routing.route_inbound(number_dialled, self.config, self._available,
                                             self.wall, night=self.night())
            decision = self.voicemail_route(decision, number_dialled)
            direction = "inbound"
        else:
            extension = self.authenticate(invite, txn, source)
            if extension is None:
                return
            number_dialled = dialled.digits(callerid.uri_user(invite.uri))
            if self.invite_replaces(invite, txn, source, extension) or \
                    self.audio_code(number_dialled, extension, invite, txn, source) or \
                    self.feature_code(number_dialled, extension, invite, txn, source):
                return
            decision = routing.route_outbound(extension, number_dialled, self.config,
                                              self._available, self.wall)
            decision = tollfraud.guard(extension, decision, self.config,
                                       self._active_outbound())
            direction = "internal" if isinstance(decision, routing.RingExtensions) \
                else "outbound"
        contact_host = (self.config.sip.public_address or self.host) if trunk else self.host
        call = Call(id=callerid.call_id(self.wall), direction=direction, started=self.now,
                    caller=legs.caller_leg(invite, source, contact_host, self.port))
        call.caller.txn = txn
        call.late_offer = not invite.body
        caller_number = self._caller_number(invite, extension)
        if direction == "inbound":
            if isinstance(decision, routing.Reject) and decision.status == 404:
                logger.info("call: %s from %s to unknown number %s: 404", call.id,
                            caller_number, callerid.printable(number_dialled))
                self._respond(txn, legs.answer(call.caller, invite, 404))
                return
            number = normalise_number(number_dialled, self.config.box.country) \
                or number_dialled
            self._publish(events.CallOffered(call.id, number, caller_number, self.wall, trunk))
        else:
            number = getattr(decision, "number", None) or number_dialled
            if getattr(decision, "emergency", False):
                logger.warning("call: %s EMERGENCY %s from %s: out through trunk %s",
                               call.id, number, extension, decision.trunk)
            self._publish(events.DialledOut(call.id, extension, number, self.wall))
        if isinstance(decision, routing.Reject):
            logger.info("call: %s refused %d %s", call.id, decision.status, decision.reason)
            self._respond(txn, legs.answer(call.caller, invite, decision.status,
                                           decision.reason))
            self._publish(events.CallEnded(call.id, decision.end_reason, self.wall))
            return
        self._respond(txn, legs.answer(call.caller, invite, 100, "Trying"))
        call.caller_number, call.callee_number = caller_number, number
        call.campaign = getattr(decision, "campaign", "")
        call.since = self.wall
        if extension:
            call.handled_by.append(extension)
        self.calls[call.id] = call
        self.by_invite[key] = call
        self.by_dialog[call.caller.key] = (call, call.caller)
        self._plans[call.id] = (decision, caller_number)
        # Armed first: whatever happens next, an unanswered call ends on time.
        self._arm(call, "ring", self.config.tracking.ring_timeout_seconds)
        self._out.append(OpenMedia(call.id))

    def _on_media(self, call_id: str, session) -> None:
        call = self.calls.get(call_id)
        if call is None or call.state is not CallState.SETUP:
            self._out.append(CloseMedia(session))   # cancelled while the relay opened
            return
        call.media = session
        if call.originate:
            self.ring_originator(call)
            return
        decision, caller_number = self._plans.pop(call.id)
        invite = call.caller.invite
        offer = b""
        if invite.body:
            try:
                self.set_remote_from(call, call.caller, invite.body)
                offer = self.rewrite(invite.body, call, "b")
            except ValueError as exc:   # SdpError, or an address the relay refuses
                logger.warning("call: %s unusable SDP offer: %s", call.id, exc)
                self._fail_caller(call, 488, events.FAILED)
                return
        if self.audio_on_media(call, decision, caller_number, offer):
            return   # the box speaks first (notice) or takes the call itself (pbx/voicemail.py)
        call.move(CallState.RINGING)
        if isinstance(decision, routing.DialTrunk):
            self.dial_trunk(call, decision, caller_number, offer)
        else:
            self.ring(call, decision, caller_number, offer)

    def _on_cancel(self, cancel: Request, txn, source: Address) -> None:
        call = self.by_invite.get((cancel.call_id, cancel.from_.tag or ""))
        if call is None or source.host != call.caller.dest.host:
            self._respond(txn, make_response(cancel, 481, "Call/Transaction Does Not Exist"))
            return
        self._respond(txn, make_response(cancel, 200, "OK"))
        if call.state in (CallState.SETUP, CallState.RINGING):
            logger.info("call: %s cancelled by the caller", call.id)
            self._fail_caller(call, 487, events.CALLER_HANGUP)

    # -- responses to our INVITEs ----------------------------------------------------------
    def _on_response(self, response: Response, owner) -> None:
        if owner is None:
            self._stray_response(response)
            return
        if isinstance(owner, NotifyTxn):
            self.notify_answered(response, owner)
            return
        if isinstance(owner, RelayTxn):
            self.relayed_response(response, owner)
            return
        if not isinstance(owner, LegTxn) or response.cseq[1] != "INVITE":
            return   # answers to our BYE / CANCEL / PRACK: nothing more to do
        call = self.calls.get(owner.call_id)
        leg = call.leg(owner.leg) if call is not None else None
        if leg is None:
            return
        status = response.status
        if status < 200:
            leg.provisional = True
            if leg.state is LegState.CANCELLING and leg.final_status == 0:
                leg.final_status = -1           # the CANCEL that waited for this 1xx
                self._out.append(SendRequest(legs.cancel_for(leg), leg.dest, Fire(call.id)))
                return
        if call.originate and leg is call.caller:
            self.originator_response(call, leg, response)
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
        if found is not None and found[1].dialog is not None:
            leg = found[1]
            self._out.append(SendStateless(legs.ack_for_2xx(leg, response), leg.dest))

    def _on_ringing(self, call: Call, leg: CallLeg, response: Response) -> None:
        legs.learn_from_response(leg, response)
        self.prack_if_reliable(call, leg, response)
        if leg.state is LegState.CALLING:
            leg.move(LegState.EARLY)
            self._publish(events.CallRinging(call.id, leg.extension, self.wall))
        if call.state is not CallState.RINGING or call.ringback_sent:
            return
        call.ringback_sent = True
        early = b""
        if response.status == 183 and response.body and not call.late_offer:
            # early media (a provider's ringback or "number unavailable"): relay it now
            try:
                self.set_remote_from(call, leg, response.body)
                early = self.rewrite(response.body, call, "a")
            except ValueError as exc:
                logger.warning("call: %s bad SDP in 183: %s", call.id, exc)
        if early:
            self.provisional_to_caller(call, 183, "Session Progress", early)
        else:
            self.provisional_to_caller(call, 180, "Ringing", b"")

    def _on_answer(self, call: Call, leg: CallLeg, response: Response) -> None:
        if self.is_transfer_leg(call, leg):
            self.transfer_answered(call, leg, response)
            return
        legs.learn_from_response(leg, response)
        if call.state is not CallState.RINGING or not leg.live:
            # lost the race (or answered after our CANCEL): ACK it and hang it up at once
            self._out.append(SendStateless(legs.ack_for_2xx(leg, response), leg.dest))
            if call.answered_by is not leg:
                self._send_bye(call, leg)
            return
        body = b""
        if response.body:
            call.pending["callee_sdp"] = response.body   # the codec agreed: for transfers
            try:
                self.set_remote_from(call, leg, response.body)
                body = self.rewrite(response.body, call, "a")
            except ValueError as exc:   # SdpError, or an address the relay refuses
                logger.warning("call: %s bad SDP in the answer: %s", call.id, exc)
        if call.late_offer and response.body:
            call.pending["ack"] = response   # its ACK carries the caller's answer
        else:
            self._out.append(SendStateless(legs.ack_for_2xx(leg, response), leg.dest))
        self.session_timer_on_answer(call, leg, response)
        self.connect(call, leg, body)

    def connect(self, call: Call, leg: CallLeg, body_for_caller: bytes) -> None:
        """`leg` answered (a 2xx, or a pickup): the call is theirs, the other phones stop
        ringing, the caller gets our 200 with `body_for_caller` (SDP toward the relay)."""
        leg.move(LegState.CONFIRMED)
        call.move(CallState.ANSWERED)
        call.answered_by = leg
        call.since = self.wall
        if leg.extension:
            call.handled_by.append(leg.extension)
        self._cancel(call.id, "ring")
        for other in call.callees:
            if other is not leg and other.live:
                self._cancel_leg(call, other)
        self._publish(events.CallAnswered(call.id, leg.extension, self.wall))
        logger.info("call: %s answered by %s", call.id, leg.extension or "the far end")
        ok = legs.answer(call.caller, call.caller.invite, 200, "OK", body_for_caller,
                         self.session_timer_headers(call))
        self._respond(call.caller.txn, ok)
        call.caller.move(LegState.CONFIRMED)
        if call.caller.dialog is not None:
            call.caller.dialog.state = "confirmed"
        self.retransmit_2xx(call, ok)
        self._arm(call, "max_length", self.config.sip.max_call_minutes * 60.0)

    def _on_failure(self, call: Call, leg: CallLeg, response: Response) -> None:
        status = response.status
        if status in (401, 407) and call.auth_tries < 2 and leg.live:
            if self.answer_trunk_challenge(call, leg, response):
                return
        if status in (408, 503) and leg.live and self._next_trunk_target(call, leg, status):
            return
        leg.final_status = status
        if leg.live or leg.state is LegState.CANCELLING:   # not a refused re-INVITE
            leg.move(LegState.FAILED)
        if self.is_transfer_leg(call, leg):
            self.transfer_leg_failed(call, leg, status, response.reason)
            return
        if call.state is not CallState.RINGING:
            return
        if all(not other.live for other in call.callees):
            statuses = {other.final_status for other in call.callees}
            if statuses <= BUSY_CODES:
                self._fail_caller(call, 486, events.BUSY)
            elif call.direction == "outbound":
                self._fail_caller(call, status if status < 700 else 500, events.FAILED,
                                  response.reason)
            else:
                self._fail_caller(call, 480, events.NOBODY_AVAILABLE)

    def _next_trunk_target(self, call: Call, leg: CallLeg, status: int) -> bool:
        """A trunk target that timed out or answered 503: the same INVITE (new branch, next
        CSeq) to the next target DNS gave (RFC 3263 4.3), while one is left."""
        trunk = self.trunk_hosts.get(leg.dest.host)
        if trunk is None or self.trunk_route is None or leg.provisional:
            return False
        if not self.trunk_failover(trunk, leg.dest, str(status)):
            return False
        leg.dest, routes = self.trunk_route(trunk)
        request = legs.resend_invite(leg, routes)
        logger.info("call: %s trunk %s target failed (%d); trying %s", call.id, trunk, status,
                    leg.dest)
        self._out.append(SendRequest(request, leg.dest, LegTxn(call.id, leg.index)))
        return True

    def _on_txn_timeout(self, owner) -> None:
        if isinstance(owner, NotifyTxn):
            self.notify_answered(None, owner)
            return
        if isinstance(owner, RelayTxn):
            self.relay_timed_out(owner)
            return
        if not isinstance(owner, LegTxn):
            return
        call = self.calls.get(owner.call_id)
        leg = call.leg(owner.leg) if call is not None else None
        if leg is not None and leg.live:
            timeout = make_response(leg.invite, 408, "Request Timeout")
            if call.originate and leg is call.caller:
                self.originator_response(call, leg, timeout)
            else:
                self._on_failure(call, leg, timeout)

    # -- deadlines -------------------------------------------------------------------------
    def _on_deadline(self, call: Call, kind: str, payload) -> None:
        if kind == "ring":
            if call.state in (CallState.SETUP, CallState.RINGING):
                logger.info("call: %s not answered in %d s", call.id,
                            self.config.tracking.ring_timeout_seconds)
                self._fail_caller(call, 480, events.RING_TIMEOUT)
        elif kind == "forget":
            self._forget(call)
        elif kind == "transfer":
            self.transfer_failed(call, 408, "Request Timeout")
        elif kind == "voicemail":
            self.voicemail_deadline(call)
        elif kind == "max_length":
            if call.state is CallState.ANSWERED:
                logger.warning("call: %s reached [sip] max_call_minutes; hanging up", call.id)
                self._hang_up_all(call, events.COMPLETED)
        else:
            self.on_dialog_deadline(call, kind, payload)

    # -- ending ----------------------------------------------------------------------------
    def _fail_caller(self, call: Call, status: int, reason: str,
                     phrase: str | None = None) -> None:
        if call.state is CallState.ENDED:
            return
        if call.originate:
            self.end_originate(call, reason)
            return
        if self.to_voicemail(call, status, reason):
            return
        for leg in call.callees:
            if leg.live:
                self._cancel_leg(call, leg)
        self._respond(call.caller.txn, legs.answer(call.caller, call.caller.invite, status,
                                                   phrase))
        if call.caller.state is not LegState.ENDED:
            call.caller.move(LegState.FAILED)
        self._end(call, reason)

    def hang_up(self, call: Call, leg: CallLeg, reason: str) -> None:
        """`leg` hung up (BYE): hang up the other side and end the call."""
        if call.state is CallState.ENDED:
            return
        leg.move(LegState.ENDED)
        for other in call.legs:      # the party it talked to, and any leg still ringing
            if other is leg:
                continue
            if other.live:
                self._cancel_leg(call, other)
            elif other.state is LegState.CONFIRMED:
                self._send_bye(call, other)
        self._end(call, reason)

    def _hang_up_all(self, call: Call, reason: str) -> None:
        for leg in (call.answered_by, call.caller):
            if leg is not None and leg.state is LegState.CONFIRMED:
                self._send_bye(call, leg)
        self._end(call, reason)

    def _abort(self, call: Call) -> None:
        """End `call` after a failure in our own handling: nobody is left hanging."""
        try:
            if call.state is CallState.ANSWERED:
                self._hang_up_all(call, events.FAILED)
            else:
                self._fail_caller(call, 500, events.FAILED, "Server Error")
        except Exception:  # noqa: BLE001 -- the last resort must not raise
            logger.exception("call: %s could not be ended cleanly; forgetting it", call.id)
            call.state = CallState.ENDED
            if call.media is not None:
                self._out.append(CloseMedia(call.media))
            self._publish(events.CallEnded(call.id, events.FAILED, self.wall))
            self._forget(call)

    def _send_bye(self, call: Call, leg: CallLeg) -> None:
        if leg.state is LegState.ENDED:
            return
        leg.move(LegState.ENDED)
        if leg.dialog is not None:
            self._out.append(SendRequest(legs.in_dialog_request(leg, "BYE"), leg.dest,
                                         Fire(call.id)))

    def _cancel_leg(self, call: Call, leg: CallLeg) -> None:
        leg.move(LegState.CANCELLING)
        if leg.invite is None:
            return
        if leg.provisional:
            leg.final_status = -1
            self._out.append(SendRequest(legs.cancel_for(leg), leg.dest, Fire(call.id)))
        # else RFC 3261 9.1: the CANCEL goes with the phone's first 1xx (_on_response)

    def _end(self, call: Call, reason: str) -> None:
        call.move(CallState.ENDED)
        self.deadlines.cancel_group(call.id)
        self._plans.pop(call.id, None)
        if not call.pending.get("silent"):
            self._publish(events.CallEnded(call.id, reason, self.wall))
        self.audio_ended(call)
        if call.media is not None:
            self._out.append(CloseMedia(call.media))
        # Keep the dialogs a little longer: late retransmissions still find their call.
        self._arm(call, "forget", FORGET_AFTER)

    def _forget(self, call: Call) -> None:
        self.calls.pop(call.id, None)
        self.deadlines.cancel_group(call.id)
        if call.caller.invite is not None:
            self.by_invite.pop((call.caller.call_id, call.caller.invite.from_.tag or ""), None)
        for leg in call.legs:
            self.by_dialog.pop(leg.key, None)

    # -- small helpers ---------------------------------------------------------------------
    def _respond(self, txn, response: Response) -> None:
        if txn is not None:
            self._out.append(Respond(txn, response))

    def _publish(self, event) -> None:
        self._out.append(Publish(event))

    def _arm(self, call: Call, kind: str, delay: float, payload=None) -> None:
        self.deadlines.arm((call.id, kind), self.now + delay, payload)

    def _cancel(self, call_id: str, kind: str) -> None:
        self.deadlines.cancel((call_id, kind))

    def _active_outbound(self) -> int:
        return sum(c.direction == "outbound" and c.state is not CallState.ENDED
                   for c in self.calls.values())

    def _registered(self, extension: str) -> bool:
        return bool(self.bindings.contacts(extension, self.wall))

    def _available(self, extension: str) -> bool:
        """Registered and not in do-not-disturb: a phone that may be rung now."""
        return not self.presence.dnd(extension) and self._registered(extension)

    def _password_for(self, username: str) -> str | None:
        extension = self.config.extension(username)
        return extension.password if extension else None

    def _caller_number(self, invite: Request, extension: str) -> str:
        """The caller's number as the tracker stores it: E.164 where it parses, else the
        user part with everything but dialable characters removed (never a control
        character: a caller ID is text the panel, the logs and the phones show)."""
        if extension:
            return extension
        user = callerid.user(callerid.uri_user(invite.from_.uri), fallback="")
        return normalise_number(user, self.config.box.country) or user or "anonymous"


