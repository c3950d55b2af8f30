"""Blind transfer from the desk phone's own button: REFER inside the call (RFC 3515).

A mixin of pbx/b2bua.py (pure like it). Only the phone talking to the caller may transfer
the call. The box answers 202, keeps the transferor told with NOTIFYs of the progress
(message/sipfrag: 100 Trying, then the final answer), and rings the target with the codec
already agreed with the caller, so the caller's side of the relay never changes. The caller
never drops: while the target rings the caller stays on the relay; when the target answers
it takes the call (the transferor is hung up, `CallTransferred` goes to the tracker); when it
does not, the call comes back to the transferor if still on the line, else to the campaign's
ring list, and only when nobody answers that either is the caller hung up.

An external target follows the same rules as the transferor's own outbound calls (the
toll-fraud guard included: a transfer must not be a way around it); an unknown target gets a
failure NOTIFY and the caller stays with the transferor.
"""

from __future__ import annotations

import logging

from firmware.pbx import dialled, events, legs, routing, tollfraud
from firmware.pbx.callio import Fire, SendRequest, SendStateless
from firmware.pbx.callstate import Call, CallLeg, CallState, LegState
from firmware.pbx.sip.errors import SipError
from firmware.pbx.sip.message import Request, Response, make_response
from firmware.pbx.sip.uri import parse_name_addr, parse_uri

logger = logging.getLogger("firmware.pbx.b2bua")


class Transfers:
    """Methods of B2BUA for REFER and the legs it rings."""

    def on_refer(self, call: Call, leg: CallLeg, refer: Request, txn) -> None:
        if leg is not call.answered_by or leg is call.caller:
            self._respond(txn, make_response(refer, 403, "Only The Answering Phone Transfers"))
            return
        if "transfer" in call.pending:
            self._respond(txn, make_response(refer, 491, "Request Pending"))
            return
        try:
            target_uri = parse_name_addr(refer.headers.get("Refer-To") or "").uri
            target = dialled.digits(parse_uri(target_uri.split("?", 1)[0]).user or "")
        except (SipError, ValueError):
            target_uri, target = "", ""
        if "?" in target_uri:
            headers = dict(h.split("=", 1) for h in target_uri.split("?", 1)[1].split("&")
                           if "=" in h)
            replaces = next((v for k, v in headers.items() if k.lower() == "replaces"), "")
            if not replaces:
                self._respond(txn, make_response(refer, 400, "Bad Refer-To"))
                return
            self.refer_replaces(call, leg, refer, txn, replaces)
            return
        self._respond(txn, make_response(refer, 202, "Accepted", to_tag=leg.local_tag))
        self._notify(call, leg, "100 Trying", final=False)
        decision = self._transfer_route(leg.extension, target)
        if isinstance(decision, routing.Reject):
            logger.info("call: %s transfer by %s to %r refused: %d %s", call.id, leg.extension,
                        target, decision.status, decision.reason)
            self._notify(call, leg, f"{decision.status} {decision.reason}", final=True)
            return
        logger.info("call: %s transferred by %s to %s", call.id, leg.extension, target)
        call.pending["transfer"] = {"from": leg.index, "legs": [], "target": target}
        self._ring_for_transfer(call, decision)

    def _transfer_route(self, extension: str, target: str):
        if not target:
            return routing.Reject(404, "Not Found")
        if self.config.extension(target) is not None:
            if target == extension:
                return routing.Reject(482, "Loop Detected")
            if not self._available(target):
                return routing.Reject(480, "Temporarily Unavailable")
            return routing.RingExtensions((target,), target)
        decision = routing.route_outbound(extension, target, self.config, self._available,
                                          self.wall)
        return tollfraud.guard(extension, decision, self.config, self._active_outbound())

    def _ring_for_transfer(self, call: Call, decision) -> None:
        body = call.pending.get("callee_sdp", b"")
        offer = self.rewrite(body, call, "b") if body else b""
        before = len(call.callees)
        if isinstance(decision, routing.DialTrunk):
            self.dial_trunk(call, decision, call.caller_number, offer,
                             self.display(call.campaign, call.caller_number))
        else:
            from_uri = self.caller_from(self.display(call.campaign, call.caller_number),
                                        call.caller_number)
            for extension in decision.extensions:
                self.ring_extension(call, extension, from_uri, offer)
        call.pending["transfer"]["legs"] = [leg.index for leg in call.callees[before:]]
        self._arm(call, "transfer", float(self.config.tracking.ring_timeout_seconds))
        if not call.pending["transfer"]["legs"]:
            self.transfer_failed(call, 480, "Temporarily Unavailable")

    def is_transfer_leg(self, call: Call, leg: CallLeg) -> bool:
        transfer = call.pending.get("transfer")
        return transfer is not None and leg.index in transfer["legs"]

    def transfer_answered(self, call: Call, leg: CallLeg, response: Response) -> None:
        legs.learn_from_response(leg, response)
        self._out.append(SendStateless(legs.ack_for_2xx(leg, response), leg.dest))
        transfer = call.pending["transfer"]
        if (not leg.live and not transfer.get("reinvite")) or call.state is not CallState.ANSWERED:
            self._send_bye(call, leg)
            return
        call.pending.pop("transfer")
        self._cancel(call.id, "transfer")
        self.hold_music_off(call)
        leg.move(LegState.CONFIRMED)
        if response.body:
            call.pending["callee_sdp"] = response.body
            self.set_remote_from(call, leg, response.body)
        for index in transfer["legs"]:
            other = call.leg(index)
            if other is not leg and other.live:
                self._cancel_leg(call, other)
        before = call.leg(transfer["from"])
        if before is not None and before.state is LegState.CONFIRMED:
            self._notify(call, before, "200 OK", final=True)
            self._send_bye(call, before)
        if transfer.get("consultation"):
            self.end_consultation(transfer["consultation"])
        self._hand_over(call, leg, leg.extension or transfer["target"])

    def transfer_leg_failed(self, call: Call, leg: CallLeg, status: int, reason: str) -> None:
        transfer = call.pending.get("transfer")
        if transfer is None or any(call.leg(i).live for i in transfer["legs"]):
            return
        self.transfer_failed(call, status, reason)

    def transfer_failed(self, call: Call, status: int, reason: str) -> None:
        """Nobody took the transferred call: back to the transferor if still on the line,
        else to the campaign's ring list (once), else the call ends."""
        transfer = call.pending.pop("transfer", None)
        self._cancel(call.id, "transfer")
        if transfer is None or call.state is not CallState.ANSWERED:
            return
        if transfer.get("reinvite"):
            self.undo_replaces(call, transfer)
        for index in transfer["legs"]:
            other = call.leg(index)
            if other.live:
                self._cancel_leg(call, other)
        before = call.leg(transfer["from"])
        if before is not None and before.state is LegState.CONFIRMED:
            logger.info("call: %s transfer failed (%d); the caller stays with %s", call.id,
                        status, before.extension)
            self._notify(call, before, f"{status} {reason}", final=True)
            return
        campaign = next((c for c in self.config.campaigns if c.name == call.campaign), None)
        ring = tuple(ext for ext in (campaign.ring if campaign else ()) if self._available(ext))
        if ring and not transfer.get("recall"):
            logger.info("call: %s transfer failed (%d); ringing %s again", call.id, status,
                        ", ".join(ring))
            call.pending["transfer"] = {"from": transfer["from"], "legs": [],
                                        "target": ring[0], "recall": True}
            self._ring_for_transfer(call, routing.RingExtensions(ring, call.callee_number))
            return
        logger.info("call: %s transfer failed and nobody took the call back; hanging up",
                    call.id)
        self._hang_up_all(call, events.COMPLETED)

    def transferor_hung_up(self, call: Call, leg: CallLeg) -> bool:
        """A BYE from the transferor while its transfer rings: only that leg ends."""
        transfer = call.pending.get("transfer")
        if transfer is None or transfer["from"] != leg.index:
            return False
        leg.move(LegState.ENDED)
        self.hold_music(call)           # the box holds the caller now (pbx/voicemail.py)
        return True

    def _notify(self, call: Call, leg: CallLeg, status_line: str, *, final: bool) -> None:
        """Progress of a REFER, in the transferor's dialog (RFC 3515 2.4.5)."""
        state = "terminated;reason=noresource" if final else "active;expires=60"
        notify = legs.in_dialog_request(
            leg, "NOTIFY", f"SIP/2.0 {status_line}\r\n".encode(),
            "message/sipfrag;version=2.0",
            extra=[("Event", "refer"), ("Subscription-State", state)])
        self._out.append(SendRequest(notify, leg.dest, Fire(call.id)))
