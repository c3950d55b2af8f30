"""Attended transfer and taking over a dialog: `Replaces` (RFC 3891) in a REFER or an INVITE.

A mixin of pbx/b2bua.py (pure like it).

- REFER with `Refer-To: <sip:102@box?Replaces=...>` from the phone talking to a caller
  (call A) names that phone's own consultation call with 102 (call B). The box joins the
  caller of A with 102: 102 is re-INVITEd onto A's relay with A's agreed codec, then the
  transferor is told (NOTIFY 200) and hung up on both calls, and B ends as the short internal
  call it was. If 102 refuses the re-INVITE the caller stays with the transferor.
- INVITE with `Replaces` from a registered phone takes the named dialog's place: naming a
  leg still ringing, it is a pickup (what a ringing BLF key sends); naming a leg in
  conversation, the new phone takes the call over and the replaced one is hung up.
A `Replaces` naming no dialog of the box gets 481.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote

from firmware.pbx import events, legs
from firmware.pbx.callio import LegTxn, SendRequest
from firmware.pbx.callstate import Call, CallLeg, CallState, LegState
from firmware.pbx.sdp import SdpError, SessionDescription, format_names, keep_formats
from firmware.pbx.sdp import rewrite_for_relay
from firmware.pbx.sip.message import Request, make_response
from firmware.pbx.transport import Address

logger = logging.getLogger("firmware.pbx.b2bua")


def parse_replaces(value: str) -> tuple[str, str, str] | None:
    """(Call-ID, to-tag, from-tag) of a Replaces value ("id;to-tag=a;from-tag=b")."""
    parts = [p.strip() for p in unquote(value).split(";")]
    params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    to_tag, from_tag = params.get("to-tag", ""), params.get("from-tag", "")
    if not parts[0] or not to_tag or not from_tag:
        return None
    return parts[0], to_tag, from_tag


class Replacing:
    """Methods of B2BUA for Replaces."""

    def find_dialog(self, replaces: tuple[str, str, str]) -> tuple[Call, CallLeg] | None:
        call_id, to_tag, from_tag = replaces
        for tag in (to_tag, from_tag):
            found = self.by_dialog.get((call_id, tag))
            if found is not None and found[0].state is not CallState.ENDED:
                return found
        return None

    # -- INVITE with Replaces ----------------------------------------------------------------
    def invite_replaces(self, invite: Request, txn, source: Address, extension: str) -> bool:
        """Handle an INVITE carrying Replaces; False when it carries none."""
        value = invite.headers.get("Replaces")
        if not value:
            return False
        replaces = parse_replaces(value)
        found = self.find_dialog(replaces) if replaces else None
        if found is None:
            self._respond(txn, make_response(invite, 481, "Call/Transaction Does Not Exist"))
            return True
        call, old = found
        if call.state is CallState.RINGING and old.live and old is not call.caller:
            logger.info("call: %s picked up by %s (Replaces)", call.id, extension)
            self.pick_up(call, invite, txn, source, extension)
        elif call.state is CallState.ANSWERED and old is call.answered_by:
            self._take_over(call, old, invite, txn, source, extension)
        else:
            self._respond(txn, make_response(invite, 481, "Call/Transaction Does Not Exist"))
        return True

    def _take_over(self, call: Call, old: CallLeg, invite: Request, txn, source: Address,
                   extension: str) -> None:
        agreed = call.pending.get("callee_sdp", b"")
        try:
            offer = SessionDescription.parse(invite.body)
            names = set(format_names(SessionDescription.parse(agreed)).values()) \
                if agreed else set(format_names(offer).values())
            answer = keep_formats(offer, names)
        except (SdpError, ValueError) as exc:
            logger.warning("call: %s take-over by %s refused: %s", call.id, extension, exc)
            self._respond(txn, make_response(invite, 488, "Not Acceptable Here"))
            return
        leg = self.join_leg(call, invite, txn, source, extension)
        leg.move(LegState.CONFIRMED)
        self.set_remote_from(call, leg, invite.body)
        to_new = rewrite_for_relay(answer, self.host, call.media.b.local_port)
        self._respond(txn, legs.answer(leg, invite, 200, "OK", to_new.to_bytes()))
        self._send_bye(call, old)
        self._hand_over(call, leg, extension)

    def _hand_over(self, call: Call, leg: CallLeg, who: str) -> None:
        call.answered_by = leg
        call.since = self.wall
        call.handled_by.append(who)
        self._publish(events.CallTransferred(call.id, who, self.wall))
        logger.info("call: %s now with %s", call.id, who)

    # -- REFER with Replaces (attended transfer) --------------------------------------------
    def refer_replaces(self, call: Call, leg: CallLeg, refer: Request, txn,
                       replaces_value: str) -> None:
        replaces = parse_replaces(replaces_value)
        found = self.find_dialog(replaces) if replaces else None
        other_call, own = found if found else (None, None)
        target = other_call.other(own) if other_call is not None else None
        mine = own is not None and leg.extension in (own.extension, other_call.caller_number)
        if other_call is None or other_call is call or target is None or not mine \
                or other_call.state is not CallState.ANSWERED:
            self._respond(txn, make_response(refer, 481, "Call/Transaction Does Not Exist"))
            return
        self._respond(txn, make_response(refer, 202, "Accepted", to_tag=leg.local_tag))
        self._notify(call, leg, "100 Trying", final=False)
        agreed = call.pending.get("callee_sdp", b"")
        if not agreed or call.media is None:
            self._notify(call, leg, "488 Not Acceptable Here", final=True)
            return
        # 102 leaves call B for call A: same dialog, re-INVITEd onto A's relay
        self._move_leg(other_call, call, target)
        call.callees.append(target)
        self.by_dialog[target.key] = (call, target)
        call.pending["transfer"] = {"from": leg.index, "legs": [target.index],
                                    "target": target.extension, "reinvite": True,
                                    "consultation": other_call.id}
        self._arm(call, "transfer", float(self.config.tracking.ring_timeout_seconds))
        reinvite = legs.in_dialog_request(target, "INVITE", self.rewrite(agreed, call, "b"),
                                          "application/sdp")
        target.invite = reinvite
        self._out.append(SendRequest(reinvite, target.dest, LegTxn(call.id, target.index)))
        logger.info("call: %s attended transfer by %s to %s (from call %s)", call.id,
                    leg.extension, target.extension or "the far end", other_call.id)

    def _move_leg(self, source: Call, dest: Call, leg: CallLeg) -> None:
        if leg in source.callees:
            source.callees.remove(leg)
        if source.answered_by is leg:
            source.answered_by = None
        leg.index = len(dest.callees) + 1
        dest.callees.append(leg)
        self.by_dialog[leg.key] = (dest, leg)

    def undo_replaces(self, call: Call, transfer: dict) -> None:
        """The transfer target refused the re-INVITE: it goes back to its own call."""
        consultation = self.calls.get(transfer.get("consultation", ""))
        leg = call.leg(transfer["legs"][0])
        if consultation is None or leg is None or consultation.state is CallState.ENDED:
            return
        self._move_leg(call, consultation, leg)
        consultation.answered_by = leg

    def end_consultation(self, consultation_id: str) -> None:
        """After an attended transfer: the transferor's consultation call is over."""
        consultation = self.calls.get(consultation_id)
        if consultation is None or consultation.state is CallState.ENDED:
            return
        for leg in consultation.legs:
            if leg.state is LegState.CONFIRMED:
                self._send_bye(consultation, leg)
        self._end(consultation, events.COMPLETED)
