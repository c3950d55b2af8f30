"""The box as a party of the call: the recording notice, voicemail, *97 and *98.

A mixin of pbx/b2bua.py (pure like it): it decides when the box itself answers or speaks and
says so with the actions of pbx/audio_io.py, which the endpoint hands to the audio desk
(pbx/audiodesk.py: playout and recording on the relay's caller leg).

- **The recording notice** (`[recording] announce`, a campaign with `record = true`): before
  the phones ring, the caller gets 183 Session Progress with the box's SDP answer and hears
  the notice as early media; then the phones are rung as usual (180 follows). Early media and
  not an answer: the call is not billed to the caller for a notice, and a caller who hangs
  up during it is a caller who hung up while it rang, like any other.
- **Voicemail** (a campaign with `voicemail = true`): when the call would fail because nobody
  answers (ring timeout, nobody available, after hours with nobody to ring) the box answers
  instead (200 with its SDP), tells the tracker the call ended *now* (`CallEnded` with the
  reason: the call stays missed, its wait ends when the box answered), plays the campaign's
  greeting and a beep, then records until the caller hangs up or `voicemail_max_seconds`.
- **Desk-phone codes**: `*97` plays the waiting messages (newest first; a DTMF key skips to
  the next), `*98<n>` records the greeting of campaign number n (1 = the first in the config)
  after a beep, until the phone hangs up or presses #. Neither is a call in the history.
"""

from __future__ import annotations

import logging

from firmware.pbx import callerid, events, legs, routing
from firmware.pbx.audio_io import (
    AudioDone, AudioService, PlayAudio, RecordAudio, StopAudio, ToVoicemail)
from firmware.pbx.callio import OpenMedia
from firmware.pbx.callstate import Call, CallLeg, CallState, LegState
from firmware.pbx.sdp import SdpError, SessionDescription, format_names, keep_formats
from firmware.pbx.sip.message import Request, make_response
from firmware.pbx.transport import Address

logger = logging.getLogger("firmware.pbx.b2bua")

MESSAGES, RECORD_GREETING = "*97", "*98"
VOICEMAIL_REASONS = frozenset({events.RING_TIMEOUT, events.NOBODY_AVAILABLE})
G711 = ("pcmu/8000", "pcma/8000")
NOTICE_LIMIT = 60.0     # seconds a recording notice may play, at most


class Voicemail:
    """Methods of B2BUA for the audio the box itself plays and records."""

    # -- hooks called from the B2BUA -------------------------------------------------------
    def voicemail_route(self, decision, number_dialled: str):
        """An inbound call refused for want of anyone to ring goes to voicemail instead,
        when its campaign takes messages."""
        if not isinstance(decision, routing.Reject) or \
                decision.end_reason not in VOICEMAIL_REASONS:
            return decision
        campaign = self._vm_campaign_of_number(number_dialled)
        if campaign is None or not campaign.voicemail:
            return decision
        return ToVoicemail(campaign.name, decision.end_reason)

    def audio_code(self, dialled: str, extension: str, invite: Request, txn,
                   source: Address) -> bool:
        """*97 / *98<n> from a desk phone: True when it was one (and has been taken)."""
        if dialled == MESSAGES:
            service = AudioService("messages", extension)
        elif dialled.startswith(RECORD_GREETING) and dialled[3:].isdigit():
            index = int(dialled[3:]) - 1
            campaigns = self.config.campaigns
            campaign = campaigns[index] if 0 <= index < len(campaigns) else None
            if campaign is None or extension not in campaign.ring:
                logger.info("call: %s dialled %s: no campaign of theirs by that number",
                            extension, dialled)
                self._respond(txn, make_response(invite, 404, "No Such Campaign"))
                return True
            service = AudioService("greeting", extension, campaign.name)
        else:
            return False
        if not invite.body:
            self._respond(txn, make_response(invite, 488, "Not Acceptable Here"))
            return True
        call = Call(id=callerid.call_id(self.wall), direction="internal", started=self.now,
                    caller=legs.caller_leg(invite, source, self.host, self.port))
        call.caller.txn = txn
        call.caller_number, call.callee_number, call.since = extension, dialled, self.wall
        call.pending["silent"] = True        # a service of the box, not a call to report
        self._respond(txn, legs.answer(call.caller, invite, 100, "Trying"))
        self.calls[call.id] = call
        self.by_invite[(invite.call_id, invite.from_.tag or "")] = call
        self.by_dialog[call.caller.key] = (call, call.caller)
        self._plans[call.id] = (service, extension)
        self._arm(call, "ring", self.config.tracking.ring_timeout_seconds)
        self._out.append(OpenMedia(call.id))
        return True

    def audio_on_media(self, call: Call, decision, caller_number: str, offer: bytes) -> bool:
        """The relay is open: True when the box itself takes the call from here."""
        if isinstance(decision, AudioService):
            if not self._box_answers(call):
                self._fail_caller(call, 488, events.FAILED)
                return True
            if decision.kind == "messages":
                items = (("messages", decision.extension),)
                self._play(call, items, "messages", skip_on_digit=True)
            else:
                call.pending["audio_record"] = ("greeting", decision.campaign)
                self._play(call, (("prompt", "beep", ""),), "beep")
            return True
        if isinstance(decision, ToVoicemail):
            call.move(CallState.RINGING)
            if not self.to_voicemail(call, 480, decision.reason):
                self._fail_caller(call, 480, decision.reason)
            return True
        campaign = self._vm_campaign(call.campaign)
        if call.direction != "inbound" or campaign is None or not campaign.record \
                or not self.config.voicemail.announce or call.late_offer:
            return False
        answer = self._answer_sdp(call)
        if answer is None:
            return False
        body, payload_type, event_pt = answer
        call.pending["notice"] = (decision, caller_number, offer)
        call.pending["audio"] = (payload_type, event_pt)
        # the ring timeout starts after the notice (_after_notice); this only bounds a
        # notice that never ends
        self._arm(call, "ring", NOTICE_LIMIT + self.config.tracking.ring_timeout_seconds)
        self.provisional_to_caller(call, 183, "Session Progress", body)
        self._play(call, (("prompt", "notice", ""),), "notice")
        return True

    def to_voicemail(self, call: Call, status: int, reason: str) -> bool:
        """Nobody answered: True when the box answers for a message instead of `status`."""
        if reason not in VOICEMAIL_REASONS or call.direction != "inbound" or call.originate \
                or call.state not in (CallState.SETUP, CallState.RINGING) \
                or call.media is None or call.late_offer or "voicemail" in call.pending:
            return False
        campaign = self._vm_campaign(call.campaign)
        if campaign is None or not campaign.voicemail:
            return False
        offered_at = call.since
        for leg in call.callees:
            if leg.live:
                self._cancel_leg(call, leg)
        if call.state is CallState.SETUP:
            call.move(CallState.RINGING)
        if not self._box_answers(call):
            return False
        logger.info("call: %s not answered (%s): voicemail of %s", call.id, reason,
                    campaign.name)
        # The tracker's call ends here: missed, with its reason, the wait up to now.
        self._publish(events.CallEnded(call.id, reason, self.wall))
        call.pending["silent"] = True
        call.pending["voicemail"] = {"campaign": campaign.name, "caller": call.caller_number,
                                     "offered_at": offered_at, "reason": reason,
                                     "max_seconds": campaign.voicemail_max_seconds}
        self._play(call, (("prompt", "greeting", campaign.name), ("prompt", "beep", "")),
                   "greeting")
        return True

    def on_audio_done(self, event: AudioDone) -> None:
        call = self.calls.get(event.call_id)
        if call is None or call.state is CallState.ENDED:
            return
        if event.tag == "notice":
            self._after_notice(call)
        elif event.tag == "greeting" and "voicemail" in call.pending:
            info = call.pending["voicemail"]
            self._record(call, "message", info["max_seconds"], (
                ("caller", info["caller"]), ("campaign", info["campaign"]),
                ("offered_at", info["offered_at"]), ("reason", info["reason"])))
        elif event.tag == "beep" and "audio_record" in call.pending:
            _, campaign = call.pending["audio_record"]
            self._record(call, "greeting", self.config.voicemail.greeting_max_seconds,
                         (("campaign", campaign),))
        elif event.tag in ("full", "messages", "key"):
            logger.info("call: %s the box hangs up (%s)", call.id, event.tag)
            self._hang_up_all(call, events.COMPLETED)

    def audio_request(self, call: Call, leg: CallLeg, request: Request, txn) -> bool:
        """A request in the dialog of a call the box answered itself: True when taken."""
        if "box_answer" not in call.pending or leg is not call.caller \
                or call.state is not CallState.ANSWERED or leg.state is not LegState.CONFIRMED:
            return False
        method = request.method
        if method == "BYE":
            self._respond(txn, make_response(request, 200, "OK"))
            self.hang_up(call, leg, events.COMPLETED)
        elif method in ("INVITE", "UPDATE"):   # a session refresh: the same answer again
            self._respond(txn, legs.answer(leg, request, 200, "OK", call.pending["box_answer"],
                                           self.session_timer_headers(call)))
        elif method == "INFO":
            self._respond(txn, make_response(request, 200, "OK"))
        else:
            self._respond(txn, make_response(request, 405, "Method Not Allowed",
                                             headers=[("Allow", legs.ALLOW)]))
        return True

    def audio_ended(self, call: Call) -> None:
        """The call ends: whatever the box plays stops, a message being recorded is kept."""
        if "audio" in call.pending:
            self._out.append(StopAudio(call.id))

    def voicemail_deadline(self, call: Call) -> None:
        if call.state is CallState.ANSWERED:
            logger.info("call: %s message reached its length limit", call.id)
            self._hang_up_all(call, events.COMPLETED)

    def hold_music(self, call: Call) -> None:
        """The box holds the caller (the transferor hung up while the target rings): music
        on hold, in the codec already agreed, until someone takes the call or it ends."""
        payload_type = self._agreed_g711(call)
        if payload_type is None or call.media is None or call.state is not CallState.ANSWERED:
            return
        call.pending["audio"] = (payload_type, None)
        call.pending["moh"] = True
        logger.info("call: %s the caller is held by the box: music on hold", call.id)
        self._out.append(PlayAudio(call.id, call.media, payload_type, None,
                                   (("prompt", "moh", ""),), "moh", repeat=True))

    def hold_music_off(self, call: Call) -> None:
        if call.pending.pop("moh", None):
            self._out.append(StopAudio(call.id))

    # -- inside ----------------------------------------------------------------------------
    def _after_notice(self, call: Call) -> None:
        notice = call.pending.pop("notice", None)
        if notice is None or call.state is not CallState.SETUP:
            return
        decision, caller_number, offer = notice
        call.move(CallState.RINGING)
        # the ring timeout counts from the ringing, not from the notice
        self._arm(call, "ring", self.config.tracking.ring_timeout_seconds)
        if isinstance(decision, routing.DialTrunk):
            self.dial_trunk(call, decision, caller_number, offer)
        else:
            self.ring(call, decision, caller_number, offer)

    def _box_answers(self, call: Call) -> bool:
        """Answer the caller leg with the box's own SDP (G.711 from the caller's offer)."""
        answer = self._answer_sdp(call)
        if answer is None:
            return False
        body, payload_type, event_pt = answer
        call.pending["audio"] = (payload_type, event_pt)
        call.pending["box_answer"] = body
        ok = legs.answer(call.caller, call.caller.invite, 200, "OK", body,
                         self.session_timer_headers(call))
        self._respond(call.caller.txn, ok)
        if call.state is CallState.SETUP:
            call.move(CallState.RINGING)
        call.move(CallState.ANSWERED)
        call.since = self.wall
        call.caller.move(LegState.CONFIRMED)
        if call.caller.dialog is not None:
            call.caller.dialog.state = "confirmed"
        self._cancel(call.id, "ring")
        self.retransmit_2xx(call, ok)
        self._arm(call, "max_length", self.config.sip.max_call_minutes * 60.0)
        return True

    def _answer_sdp(self, call: Call) -> tuple[bytes, int, int | None] | None:
        """(SDP answer toward the relay's caller side, G.711 payload type, DTMF event
        payload type) from the caller's offer; None when it offers no G.711."""
        body = call.caller.invite.body if call.caller.invite is not None else b""
        if not body or call.media is None:
            return None
        try:
            offer = SessionDescription.parse(body)
            names = format_names(offer)
            codec = next((pt for pt, name in names.items() if name in G711), None)
            if codec is None:
                return None
            event = next((pt for pt, name in names.items()
                          if name == "telephone-event/8000"), None)
            keep = {names[codec]} | ({"telephone-event/8000"} if event else set())
            answer = keep_formats(offer, keep).to_bytes()
            return self.rewrite(answer, call, "a"), int(codec), \
                int(event) if event is not None else None
        except (SdpError, ValueError) as exc:
            logger.warning("call: %s the box cannot answer this offer: %s", call.id, exc)
            return None

    def _agreed_g711(self, call: Call) -> int | None:
        """The payload type agreed with the caller (the first of the answer), when G.711."""
        body = call.pending.get("callee_sdp") or b""
        try:
            answer = SessionDescription.parse(body)
            names = format_names(answer)
            audio = next((m for m in answer.media if m.kind == "audio" and m.port), None)
        except (SdpError, ValueError):
            return None
        first = audio.formats[0] if audio is not None and audio.formats else None
        return int(first) if first is not None and names.get(first) in G711 else None

    def _play(self, call: Call, items: tuple, tag: str, skip_on_digit: bool = False) -> None:
        payload_type, event_pt = call.pending["audio"]
        self._out.append(PlayAudio(call.id, call.media, payload_type, event_pt, items, tag,
                                   skip_on_digit))

    def _record(self, call: Call, kind: str, max_seconds: int, meta: tuple) -> None:
        payload_type, event_pt = call.pending["audio"]
        self._out.append(RecordAudio(call.id, call.media, event_pt, kind, max_seconds, meta))
        self._arm(call, "voicemail", max_seconds + 2.0)   # the desk says "full" first

    def _vm_campaign(self, name: str):
        return next((c for c in self.config.campaigns if c.name == name), None) \
            if name else None

    def _vm_campaign_of_number(self, number_dialled: str):
        from firmware.config import normalise_number

        number = normalise_number(number_dialled, self.config.box.country) \
            if number_dialled else None
        return self.config.campaign_for(number) if number else None
