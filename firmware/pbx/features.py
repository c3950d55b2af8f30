"""Feature codes a desk phone dials, call pickup, and the live picture of calls and phones.

A mixin of pbx/b2bua.py (pure like it). Codes are digits only so every phone can dial them
(CONTRACT.md, "Calls between people"):

    *78 / *79   do not disturb on / off for the dialling phone (answered 480 with a reason
                phrase saying which: there is no audio prompt to play)
    *8          pick up a call ringing a phone that rings for one of my campaigns
    **101       pick up the call ringing extension 101

A pickup joins the picker's own INVITE to the ringing call as its answering leg: the caller
gets our 200 at once, the picker our 200 with the relay's address, every other phone stops
ringing. Both answers keep only the codecs both offers share, so neither side receives a
codec it did not offer. Nothing ringing to pick up: 404, and nothing else changes.
"""

from __future__ import annotations

import logging

from firmware.pbx import legs
from firmware.pbx.callstate import Call, CallLeg, CallState
from firmware.pbx.sdp import SdpError, SessionDescription, direction, audio_endpoint
from firmware.pbx.sdp import format_names, keep_formats, rewrite_for_relay
from firmware.pbx.sip.message import Request, make_response
from firmware.pbx.transport import Address

logger = logging.getLogger("firmware.pbx.b2bua")

DND_ON, DND_OFF, GROUP_PICKUP, DIRECTED_PICKUP = "*78", "*79", "*8", "**"


class Features:
    """Methods of B2BUA for feature codes, pickup and the live board."""

    def feature_code(self, dialled: str, extension: str, invite: Request, txn,
                     source: Address) -> bool:
        """Carry out `dialled` when it is a feature code; False when it is not one."""
        if dialled in (DND_ON, DND_OFF):
            on = dialled == DND_ON
            self.presence.set_dnd(extension, on)
            self._respond(txn, make_response(
                invite, 480, "Do Not Disturb On" if on else "Do Not Disturb Off"))
            return True
        if dialled == GROUP_PICKUP:
            group = {ext for c in self.config.campaigns if extension in c.ring for ext in c.ring}
            self._pickup(invite, txn, source, extension, lambda ext: ext in group)
            return True
        if dialled.startswith(DIRECTED_PICKUP) and dialled[2:].isdigit():
            target = dialled[2:]
            self._pickup(invite, txn, source, extension, lambda ext: ext == target)
            return True
        return False

    def _pickup(self, invite: Request, txn, source: Address, extension: str, rings) -> None:
        call = next((c for c in self.calls.values() if c.state is CallState.RINGING
                     and c.direction != "outbound"
                     and any(leg.live and leg.extension and rings(leg.extension)
                             for leg in c.callees)), None)
        if call is None:
            logger.info("call: %s dialled a pickup code with nothing ringing: 404", extension)
            self._respond(txn, make_response(invite, 404, "Nothing To Pick Up"))
            return
        self.pick_up(call, invite, txn, source, extension)

    def pick_up(self, call: Call, invite: Request, txn, source: Address,
                extension: str) -> None:
        """`invite` (from `extension`'s phone) answers the ringing `call` at once."""
        caller_offer = call.caller.invite.body
        if not invite.body or not caller_offer or call.media is None:
            self._respond(txn, make_response(invite, 488, "Not Acceptable Here"))
            return
        try:
            mine, theirs = SessionDescription.parse(invite.body), \
                SessionDescription.parse(caller_offer)
            shared = set(format_names(mine).values()) & set(format_names(theirs).values())
            for_picker = keep_formats(mine, shared)
            for_caller = keep_formats(theirs, shared)
        except (SdpError, ValueError) as exc:
            logger.warning("call: %s pickup by %s refused: %s", call.id, extension, exc)
            self._respond(txn, make_response(invite, 488, "Not Acceptable Here"))
            return
        leg = self.join_leg(call, invite, txn, source, extension)
        self.set_remote_from(call, leg, invite.body)
        call.pending["callee_sdp"] = for_picker.to_bytes()
        logger.info("call: %s picked up by %s", call.id, extension)
        to_picker = rewrite_for_relay(for_picker, self.host, call.media.b.local_port)
        self.connect(call, leg, self.rewrite(for_caller.to_bytes(), call, "a"))
        self._respond(txn, legs.answer(leg, invite, 200, "OK", to_picker.to_bytes()))

    def join_leg(self, call: Call, invite: Request, txn, source: Address,
                 extension: str) -> CallLeg:
        """A phone's own INVITE (a pickup, a Replaces) becomes a callee leg of `call`."""
        leg = legs.caller_leg(invite, source, self.host, self.port)
        leg.role, leg.index, leg.extension = "callee", len(call.callees) + 1, extension
        leg.txn = txn
        call.callees.append(leg)
        self.by_dialog[leg.key] = (call, leg)
        return leg

    # -- the live board (GET /api/live) ----------------------------------------------------
    def live(self) -> dict:
        """Phones and calls as they stand; plain values a web thread may keep."""
        calls = []
        busy: set[str] = set()
        for call in self.calls.values():
            if call.state is CallState.ENDED:
                continue
            on = [leg.extension for leg in call.callees if leg.extension
                  and (leg.live or leg is call.answered_by)]
            if call.direction != "inbound" and call.caller_number:
                on.insert(0, call.caller_number)
            state = "ringing" if call.state is not CallState.ANSWERED else (
                "held" if call.held else "talking")
            if state != "ringing":
                busy.update(on)
            calls.append({"id": call.id, "direction": call.direction,
                          "caller": call.caller_number, "callee": call.callee_number,
                          "campaign": call.campaign, "state": state, "since": call.since,
                          "extensions": on})
        phones = [{"extension": e.number, "name": e.name,
                   "registered": self._registered(e.number),
                   "dnd": self.presence.dnd(e.number), "in_call": e.number in busy}
                  for e in self.config.extensions]
        return {"phones": phones, "calls": calls}

    def note_hold(self, call: Call, leg: CallLeg, body: bytes) -> None:
        """A re-INVITE/UPDATE offer with sendonly/inactive (or c=0.0.0.0) puts the call on
        hold; a later one with sendrecv takes it off."""
        try:
            sd = SessionDescription.parse(body)
        except (SdpError, ValueError):
            return
        endpoint = audio_endpoint(sd)
        held = direction(sd) in ("sendonly", "inactive") or (
            endpoint is not None and endpoint[0] in ("0.0.0.0", "::"))
        if held != call.held:
            call.held = held
            call.since = self.wall
            logger.info("call: %s %s by %s", call.id, "held" if held else "resumed",
                        leg.extension or "the far end")

