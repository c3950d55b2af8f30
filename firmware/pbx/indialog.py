"""Call control inside established dialogs: ACK, BYE, re-INVITE/UPDATE/INFO relaying, PRACK,
session timers, and the SDP rewriting they share. A mixin of pbx/b2bua.py (pure like it).

Who may speak: a request inside a call's dialog is taken only from the address of that leg's
party (or, for a trunk leg, from any address of that trunk), and only on a leg still in the
call -- a phone that rang but did not answer gets 481 for its re-INVITE or BYE, so it can
neither move the caller's audio nor hang the caller up.

Reliable provisionals (RFC 3262): a caller that requires 100rel gets its 180/183 with RSeq,
resent until its PRACK; a phone or trunk that sends a reliable 1xx gets our PRACK.
Session timers (RFC 4028): the interval the caller asks for is kept with the caller as
refresher; a callee that names the box as refresher is refreshed with UPDATE. A session not
refreshed in time ends cleanly: BYE both ways, media closed, the call recorded.
"""

from __future__ import annotations

import ipaddress
import logging

from firmware.pbx import events, legs
from firmware.pbx.callio import (
    Fire, RelayTxn, SendRequest, SendStateless, SetRemoteMedia)
from firmware.pbx.callstate import Call, CallLeg, CallState, LegState
from firmware.pbx.sdp import SessionDescription, audio_endpoint, format_names, rewrite_for_relay
from firmware.pbx.sip.message import Request, Response, make_response
from firmware.pbx.transport import Address

logger = logging.getLogger(__name__)

T1, T2 = 0.5, 4.0
MIN_SE = 90                      # RFC 4028 4: the smallest session interval we accept
RELAYED_METHODS = frozenset({"INVITE", "UPDATE", "INFO"})


class InDialog:
    """Methods of B2BUA for requests inside a dialog and their timers."""

    # -- requests inside a dialog ------------------------------------------------------------
    def in_dialog(self, request: Request, txn, source: Address) -> None:
        method = request.method
        found = self.by_dialog.get((request.call_id, request.to.tag or ""))
        if found is None:
            if method != "ACK":
                self._respond(txn, make_response(request, 481,
                                                 "Call/Transaction Does Not Exist"))
            return
        call, leg = found
        if not self._from_party(leg, source):
            logger.warning("call: %s %s from %s, not from the leg's party %s: refused",
                           call.id, method, source, leg.dest)
            if method != "ACK":
                self._respond(txn, make_response(request, 481,
                                                 "Call/Transaction Does Not Exist"))
            return
        if method == "ACK":
            self._on_ack(call, leg, request)
            return
        if method == "PRACK":
            self._on_prack(call, leg, request, txn)
            return
        if method == "BYE" and call.originate and leg is call.caller \
                and call.state is CallState.RINGING and leg.state is LegState.CONFIRMED:
            self._respond(txn, make_response(request, 200, "OK"))   # gave up while it rang
            leg.move(LegState.ENDED)
            self.end_originate(call, events.CALLER_HANGUP)
            return
        if self.audio_request(call, leg, request, txn):   # the box answered it (voicemail)
            return
        if method == "BYE" and leg is call.caller and not call.originate \
                and call.state in (CallState.SETUP, CallState.RINGING):
            # RFC 3261 15: a caller may end its early dialog with BYE; it is its CANCEL
            self._respond(txn, make_response(request, 200, "OK"))
            logger.info("call: %s the caller hung up (BYE) while the phones rang", call.id)
            self._fail_caller(call, 487, events.CALLER_HANGUP)
            return
        if call.state is not CallState.ANSWERED or leg.state is not LegState.CONFIRMED \
                or call.other(leg) is None:
            # a leg that rang but lost, a call already over: it controls nothing
            status = 491 if method == "INVITE" and call.state is CallState.RINGING else 481
            self._respond(txn, make_response(request, status, None))
            return
        if leg.dialog is not None and leg.dialog.check_remote_cseq(request) is not None:
            self._respond(txn, make_response(request, 500, "CSeq Out Of Order"))
            return
        if method == "BYE":
            self._respond(txn, make_response(request, 200, "OK"))
            if not self.transferor_hung_up(call, leg):
                self.hang_up(call, leg, events.COMPLETED)
        elif method == "REFER":
            self.on_refer(call, leg, request, txn)
        elif method in RELAYED_METHODS:
            if method in ("INVITE", "UPDATE"):
                self._refreshed(call, leg, request)
            self._relay(call, leg, request, txn)
        else:
            self._respond(txn, make_response(request, 405, "Method Not Allowed",
                                             headers=[("Allow", legs.ALLOW)]))

    def _from_party(self, leg: CallLeg, source: Address) -> bool:
        if source.host == leg.dest.host:
            return True
        trunk = self.trunk_hosts.get(leg.dest.host)
        return trunk is not None and self.trunk_hosts.get(source.host) == trunk

    def _on_ack(self, call: Call, leg: CallLeg, ack: Request) -> None:
        if leg is not call.caller:
            return
        call.acked = True
        self._cancel(call.id, "2xx")
        response = call.pending.pop("ack", None)
        callee = call.answered_by
        if response is None or callee is None:
            return
        body = b""
        if ack.body:   # late offer: the caller's answer to the callee's offer
            try:
                self.set_remote_from(call, leg, ack.body)
                body = self.rewrite(ack.body, call, "b")
            except ValueError as exc:
                logger.warning("call: %s bad SDP in the caller's ACK: %s", call.id, exc)
        self._out.append(SendStateless(legs.ack_for_2xx(callee, response, body), callee.dest))

    def _relay(self, call: Call, leg: CallLeg, request: Request, txn) -> None:
        other = call.other(leg)
        body = request.body
        content_type = request.headers.get("Content-Type") or ""
        if body and "sdp" in content_type.lower():
            if request.method in ("INVITE", "UPDATE"):
                self.note_hold(call, leg, body)
            try:
                self.set_remote_from(call, leg, body)
                body = self.rewrite(body, call, call.media_side(other))
            except ValueError as exc:
                self._respond(txn, make_response(request, 488, "Not Acceptable Here"))
                logger.warning("call: %s bad SDP in %s: %s", call.id, request.method, exc)
                return
        relayed = legs.in_dialog_request(other, request.method, body, content_type)
        self._out.append(SendRequest(relayed, other.dest, RelayTxn(call.id, leg.index, txn)))

    def relayed_response(self, response: Response, owner: RelayTxn) -> None:
        call = self.calls.get(owner.call_id)
        leg = call.leg(owner.from_leg) if call is not None else None
        if leg is None or response.status == 100:
            return
        other = call.other(leg)
        body = response.body
        if body and other is not None:
            try:
                self.set_remote_from(call, other, body)
                body = self.rewrite(body, call, call.media_side(leg))
            except ValueError:
                body = b""
        if response.status >= 200 and response.cseq[1] == "INVITE" and other is not None \
                and response.status < 300 and other.dialog is not None:
            self._out.append(SendStateless(legs.ack_for_2xx(other, response), other.dest))
        extra = self.session_timer_headers(call) \
            if leg is call.caller and 200 <= response.status < 300 \
            and response.cseq[1] in ("INVITE", "UPDATE") else []
        self._respond(owner.server, legs.answer(leg, owner.server.request, response.status,
                                                response.reason, body, extra))

    def relay_timed_out(self, owner: RelayTxn) -> None:
        """The other party never answered a relayed request: answer it for them (408)."""
        request = getattr(owner.server, "request", None)
        if request is not None:
            self._respond(owner.server, make_response(request, 408, "Request Timeout"))

    # -- reliable provisional responses (RFC 3262) -------------------------------------------
    def provisional_to_caller(self, call: Call, status: int, reason: str, body: bytes) -> None:
        invite = call.caller.invite
        extra = []
        if "100rel" in [t.lower() for t in invite.headers.get_all("Require")]:
            rseq = call.pending.get("rseq", 0) + 1
            call.pending["rseq"] = rseq
            extra = [("Require", "100rel"), ("RSeq", str(rseq))]
        response = legs.answer(call.caller, invite, status, reason, body, extra)
        self._respond(call.caller.txn, response)
        if call.caller.state is LegState.CALLING:
            call.caller.move(LegState.EARLY)
        if extra and call.caller.dest.transport == "UDP":
            self._arm(call, "rel1xx", T1, (response, T1, T1))

    def _on_prack(self, call: Call, leg: CallLeg, prack: Request, txn) -> None:
        rack = (prack.headers.get("RAck") or "").split()
        expected = call.pending.get("rseq")
        if leg is call.caller and expected is not None and rack[:1] == [str(expected)]:
            self._cancel(call.id, "rel1xx")
            call.pending["pracked"] = expected
            self._respond(txn, make_response(prack, 200, "OK"))
            return
        logger.warning("call: %s PRACK for unknown RSeq %r: 481", call.id, " ".join(rack))
        self._respond(txn, make_response(prack, 481, "Call/Transaction Does Not Exist"))

    def prack_if_reliable(self, call: Call, leg: CallLeg, response: Response) -> None:
        """A callee's reliable 1xx (Require: 100rel, RSeq) is acknowledged with PRACK."""
        requires = [t.lower() for t in response.headers.get_all("Require")]
        rseq = (response.headers.get("RSeq") or "").strip()
        if "100rel" not in requires or not rseq.isdigit() or leg.dialog is None:
            return
        seen = call.pending.get(("rseq", leg.index), 0)
        if int(rseq) <= seen:
            return      # a retransmission: our PRACK transaction is already under way
        call.pending[("rseq", leg.index)] = int(rseq)
        prack = legs.in_dialog_request(
            leg, "PRACK", extra=[("RAck", f"{rseq} {response.cseq[0]} INVITE")])
        self._out.append(SendRequest(prack, leg.dest, Fire(call.id)))

    # -- session timers (RFC 4028) ---------------------------------------------------------
    def session_timer_problem(self, invite: Request) -> Response | None:
        interval, _ = _session_expires(invite)
        if interval is not None and interval < MIN_SE:
            return make_response(invite, 422, "Session Interval Too Small",
                                 headers=[("Min-SE", str(MIN_SE))])
        return None

    def session_timer_headers(self, call: Call) -> list[tuple[str, str]]:
        interval = call.pending.get("se_caller")
        if interval is None:
            return []
        return [("Session-Expires", f"{interval};refresher=uac"), ("Require", "timer")]

    def session_timer_on_answer(self, call: Call, callee: CallLeg, response: Response) -> None:
        invite = call.caller.invite
        interval, _ = _session_expires(invite)
        supported = {t.lower() for name in ("Supported", "Require")
                     for t in invite.headers.get_all(name)}
        if interval is not None and "timer" in supported:
            call.pending["se_caller"] = interval
            self._arm(call, "session_caller", float(interval))
        interval, refresher = _session_expires(response)
        if interval is None:
            return
        if refresher == "uac":          # the box is the refresher toward this callee
            call.pending["se_callee"] = interval
            self._arm(call, "refresh_callee", interval / 2)
        else:
            call.pending["se_callee_expiry"] = interval
            self._arm(call, "session_callee", float(interval))

    def _refreshed(self, call: Call, leg: CallLeg, request: Request) -> None:
        if leg is call.caller and "se_caller" in call.pending:
            interval, _ = _session_expires(request)
            if interval is not None and interval >= MIN_SE:
                call.pending["se_caller"] = interval
            self._arm(call, "session_caller", float(call.pending["se_caller"]))
        elif leg is call.answered_by and "se_callee_expiry" in call.pending:
            self._arm(call, "session_callee", float(call.pending["se_callee_expiry"]))

    # -- deadlines of dialogs ----------------------------------------------------------------
    def on_dialog_deadline(self, call: Call, kind: str, payload) -> None:
        if kind == "2xx":
            ok, interval, elapsed = payload
            if call.acked or call.state is not CallState.ANSWERED:
                return
            if elapsed >= 64 * T1:
                logger.warning("call: %s the caller never ACKed our 200; hanging up", call.id)
                self._hang_up_all(call, events.COMPLETED)
                return
            self._out.append(SendStateless(ok, call.caller.dest))
            step = min(2 * interval, T2)
            self._arm(call, "2xx", step, (ok, step, elapsed + step))
        elif kind == "rel1xx":
            response, interval, elapsed = payload
            if call.state is not CallState.RINGING or call.pending.get("pracked"):
                return
            if elapsed >= 64 * T1:
                logger.warning("call: %s no PRACK for our reliable %d", call.id,
                               response.status)
                self._fail_caller(call, 504, events.FAILED, "No PRACK")
                return
            self._out.append(SendStateless(response, call.caller.dest))
            step = min(2 * interval, T2)
            self._arm(call, "rel1xx", step, (response, step, elapsed + step))
        elif kind in ("session_caller", "session_callee"):
            if call.state is CallState.ANSWERED:
                side = "caller" if kind == "session_caller" else "callee"
                logger.warning("call: %s session timer expired: no refresh from the %s; "
                               "hanging up both sides", call.id, side)
                self._hang_up_all(call, events.COMPLETED)
        elif kind == "refresh_callee":
            callee = call.answered_by
            if call.state is CallState.ANSWERED and callee is not None:
                interval = call.pending["se_callee"]
                update = legs.in_dialog_request(callee, "UPDATE", extra=[
                    ("Session-Expires", f"{interval};refresher=uac"), ("Supported", "timer")])
                self._out.append(SendRequest(update, callee.dest, Fire(call.id)))
                self._arm(call, "refresh_callee", interval / 2)

    def retransmit_2xx(self, call: Call, ok: Response) -> None:
        """Resend our 2xx until the caller ACKs (RFC 3261 13.3.1.4), up to 64*T1; on a
        reliable transport once is enough, but a missing ACK still ends the call."""
        if call.caller.dest.transport == "UDP":
            self._arm(call, "2xx", T1, (ok, T1, T1))
        else:
            self._arm(call, "2xx", 64 * T1, (ok, 64 * T1, 64 * T1))

    # -- SDP ---------------------------------------------------------------------------------
    _last_sdp: tuple[bytes, SessionDescription] | None = None

    def parse_sdp(self, body: bytes) -> SessionDescription:
        """`body` parsed, read-only. set_remote_from and rewrite take each body in turn, so
        the last one parsed is kept for the next (rewrite_for_relay copies before changing)."""
        last = self._last_sdp
        if last is not None and last[0] == body:
            return last[1]
        sd = SessionDescription.parse(body)
        self._last_sdp = (body, sd)
        return sd

    def rewrite(self, body: bytes, call: Call, side: str) -> bytes:
        """`body` with the relay's own address and the port of `side` ("a" caller, "b"
        callee). Only the trunk is told the public address (the box behind NAT); phones on
        the LAN get the local one."""
        sd = self.parse_sdp(body)
        toward_trunk = (side == "a") == (call.direction == "inbound") \
            and call.direction != "internal"
        host = (self.config.sip.public_address or self.host) if toward_trunk else self.host
        return rewrite_for_relay(sd, host, getattr(call.media, side).local_port).to_bytes()

    def set_remote_from(self, call: Call, leg: CallLeg, body: bytes) -> None:
        """Where `leg`'s party wants its audio, from its SDP. An address the relay must not
        send to (loopback named by a peer that is not itself on loopback) is refused."""
        sd = self.parse_sdp(body)
        endpoint = audio_endpoint(sd)
        if endpoint is None or call.media is None:
            return
        host, port = endpoint[0], endpoint[1]
        ip = ipaddress.ip_address(host)     # ValueError for a name: never resolved here
        if ip.is_loopback and not ipaddress.ip_address(leg.dest.host).is_loopback:
            raise ValueError(f"SDP names {host}, a loopback address")
        self._out.append(SetRemoteMedia(call.media, call.media_side(leg), host, port,
                                        leg.dest.host, tuple(format_names(sd).items())))


def _session_expires(message: Request | Response) -> tuple[int | None, str]:
    """(interval, refresher) of a Session-Expires header (or its compact form x)."""
    value = message.headers.get("Session-Expires") or ""
    if not value:
        return None, ""
    head, *params = [p.strip() for p in value.split(";")]
    if not head.isascii() or not head.isdigit():
        return None, ""
    refresher = next((p.split("=", 1)[1].strip().lower() for p in params
                      if p.lower().startswith("refresher=")), "")
    return int(head), refresher
