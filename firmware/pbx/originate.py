"""Click-to-call: the box rings the desk phone first, then dials the number through the trunk.

A mixin of pbx/b2bua.py (pure like it). `Originate(call_id, extension, number)` comes from
the panel (POST /api/originate). The call's first leg is an INVITE the box sends to the desk
phone, showing the number it will dial ("Call +48 601 234 567"), with the box's own offer
(G.711 both laws, DTMF events) at the relay. When the phone answers, the box ACKs it and only
then dials out, offering the trunk exactly the codec the phone chose -- so both sides of the
relay speak the same codec. From then on it is an outbound call from that extension like any
other: routed and checked by the toll-fraud guard before anything rings, recorded from the
moment the trunk is dialled (`DialledOut`), clearing the callback queue when answered. A
phone that does not answer leaves no record: nobody was called.
"""

from __future__ import annotations

import logging

from firmware.pbx import callerid, events, legs, routing, tollfraud
from firmware.pbx.callio import LegTxn, OpenMedia, SendRequest, SendStateless
from firmware.pbx.callstate import Call, CallLeg, CallState, LegState
from firmware.pbx.sdp import (
    SdpError, SessionDescription, box_offer, format_names, keep_formats, rewrite_for_relay)
from firmware.pbx.sip.message import Response
from firmware.pbx.transport import Address

logger = logging.getLogger("firmware.pbx.b2bua")
MAX_REFUSALS_KEPT = 100


class ClickToCall:
    """Methods of B2BUA for calls the panel places."""

    def originate(self, call_id: str, extension: str, number: str) -> None:
        """Ring `extension`'s phone for a call to `number`; why not goes in `self.refused`."""
        bindings = self.bindings.contacts(extension, self.wall)
        decision = routing.route_outbound(extension, number, self.config, self._registered,
                                          self.wall)
        decision = tollfraud.guard(extension, decision, self.config, self._active_outbound())
        refusal = None
        if not bindings:
            refusal = f"extension {extension} has no registered phone"
        elif not isinstance(decision, routing.DialTrunk):
            refusal = getattr(decision, "reason", "") or "not a number to dial out to"
        if refusal is not None:
            logger.info("call: click-to-call %s -> %s refused: %s", extension, number, refusal)
            self.refused[call_id] = refusal
            while len(self.refused) > MAX_REFUSALS_KEPT:
                self.refused.pop(next(iter(self.refused)))
            return
        binding = bindings[-1]
        dest = Address(binding.source_host, binding.source_port, binding.transport)
        shown = callerid.quote(f"Call {callerid.readable(decision.number)}")
        phone = legs.callee_leg(0, binding.contact, dest,
                                f'"{shown}" <sip:{callerid.user(decision.number)}@{self.host}>',
                                f"<sip:{extension}@{self.host}>", self.host, self.port,
                                extension)
        phone.role = "originator"
        call = Call(id=call_id, caller=phone, direction="outbound", started=self.now)
        call.originate = True
        call.caller_number, call.callee_number, call.since = extension, decision.number, self.wall
        call.handled_by.append(extension)
        call.pending["silent"] = True          # no record until the trunk is dialled
        self.calls[call.id] = call
        self.by_dialog[phone.key] = (call, phone)
        self._plans[call.id] = (decision, extension)
        self._arm(call, "ring", self.config.tracking.ring_timeout_seconds)
        self._out.append(OpenMedia(call.id))
        logger.info("call: %s click-to-call: ringing %s for %s", call.id, extension,
                    decision.number)

    def ring_originator(self, call: Call) -> None:
        """The relay is open: INVITE the desk phone with the box's own offer."""
        call.move(CallState.RINGING)
        offer = box_offer(self.host, call.media.a.local_port, call.id[-8:] or "1")
        invite = legs.build_invite(call.caller, offer.to_bytes())
        self._out.append(SendRequest(invite, call.caller.dest, LegTxn(call.id, 0)))

    def originator_response(self, call: Call, leg: CallLeg, response: Response) -> None:
        status = response.status
        if status < 200:
            legs.learn_from_response(leg, response)
            if status > 100 and leg.state is LegState.CALLING:
                leg.move(LegState.EARLY)
            return
        if status >= 300:
            if leg.live:
                leg.final_status = status
                leg.move(LegState.FAILED)
                logger.info("call: %s click-to-call: %s answered %d", call.id,
                            leg.extension, status)
                self.end_originate(call, events.FAILED)
            return
        legs.learn_from_response(leg, response)
        self._out.append(SendStateless(legs.ack_for_2xx(leg, response), leg.dest))
        if not leg.live or call.state is not CallState.RINGING:
            return
        leg.move(LegState.CONFIRMED)
        call.acked = True                      # the box is this leg's UAC: no 2xx to resend
        decision, extension = self._plans.pop(call.id)
        try:
            answer = SessionDescription.parse(response.body)
            chosen = set(format_names(answer).values())
            self.set_remote_from(call, leg, response.body)
            offer = rewrite_for_relay(keep_formats(box_offer(self.host, 1, "1"), chosen),
                                      self.host, call.media.b.local_port)
        except (SdpError, ValueError) as exc:
            logger.warning("call: %s click-to-call: unusable answer from %s: %s", call.id,
                           extension, exc)
            self.end_originate(call, events.FAILED)
            return
        call.pending.pop("silent", None)
        self._publish(events.DialledOut(call.id, extension, decision.number, self.wall))
        self._arm(call, "ring", self.config.tracking.ring_timeout_seconds)
        self.dial_trunk(call, decision, extension, offer.to_bytes())

    def end_originate(self, call: Call, reason: str) -> None:
        """End a click-to-call call: cancel or hang up the phone and the trunk leg."""
        if call.state is CallState.ENDED:
            return
        for leg in call.legs:
            if leg.live:
                self._cancel_leg(call, leg)
            elif leg.state is LegState.CONFIRMED:
                self._send_bye(call, leg)
        self._end(call, reason)
