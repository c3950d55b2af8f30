"""Voicemail, the recording notice and *97/*98 in call control: bytes in, actions out, no
network and no audio (the audio desk is replaced by a list of the actions it was given)."""

from __future__ import annotations

import asyncio

from firmware.pbx import events
from firmware.pbx.audio_io import AudioDone, PlayAudio, RecordAudio, StopAudio
from firmware.pbx.callstate import CallState
from tests.pbx.b2bua_wire import (
    CONFIG_TEXT, PHONE1, PHONE2, TRUNK, Box, in_dialog, reply, sdp, settle, trunk_invite)
from tests.pbx.test_b2bua import authed, phone_invite

VOICEMAIL = CONFIG_TEXT.replace('ring = ["101", "102"]\n', 'ring = ["101", "102"]\n'
                                'voicemail = true\nvoicemail_max_seconds = 30\n', 1) + """
[[extension]]
number = "103"
password = "secret-103-pw"
[[campaign]]
name = "Radio"
number = "+48221234569"
ring = ["103"]
voicemail = true
"""
NOTICE = CONFIG_TEXT.replace('ring = ["101", "102"]\n', 'ring = ["101", "102"]\nrecord = true\n',
                             1) + "[recording]\nannounce = true\n"


class Desk:
    """Stands in for the audio desk: keeps what it is told to do."""

    def __init__(self) -> None:
        self.actions: list = []

    def execute(self, action) -> None:
        self.actions.append(action)

    def of(self, kind) -> list:
        return [a for a in self.actions if isinstance(a, kind)]


def run(scenario):
    asyncio.run(scenario())


def boxed(config: str) -> tuple[Box, Desk]:
    box = Box(config)
    desk = Desk()
    box.endpoint.audio = desk
    return box, desk


def test_nobody_answers_the_box_answers_plays_the_greeting_and_records_the_message():
    async def scenario():
        box, desk = boxed(VOICEMAIL)
        box.receive(trunk_invite(), TRUNK)
        await settle()
        leg1 = box.requests("INVITE", PHONE1)[0]
        box.receive(reply(leg1, 180, "a"), PHONE1)
        box.advance(5.1)                                    # the ring timeout
        ok = box.responses(TRUNK)[-1]
        assert ok.status == 200 and b"m=audio 30000 RTP/AVP 0" in ok.body
        assert box.requests("CANCEL", PHONE1) and box.requests("CANCEL", PHONE2) == []
        ended = [e for e in box.events if isinstance(e, events.CallEnded)]
        assert [e.reason for e in ended] == [events.RING_TIMEOUT]   # missed, wait ends now
        assert ended[0].at == box.b2bua.wall == 1_790_000_005.0   # when the box answered
        play = desk.of(PlayAudio)[-1]
        assert play.items == (("prompt", "greeting", "Shop window"), ("prompt", "beep", ""))
        assert play.payload_type == 0 and play.session is box.relay.sessions[0]
        box.endpoint.feed(AudioDone(play.call_id, "greeting"))
        record = desk.of(RecordAudio)[-1]
        assert record.kind == "message" and record.max_seconds == 30
        assert dict(record.meta)["caller"] == "+48600111222"
        box.advance(12)
        box.receive(in_dialog(ok, "BYE", 2, "sip:callbox@127.0.0.1"), TRUNK)
        assert box.responses(TRUNK)[-1].status == 200
        assert desk.of(StopAudio) and box.relay.sessions[0].closed
        assert len([e for e in box.events if isinstance(e, events.CallEnded)]) == 1
    run(scenario)


def test_a_message_stops_at_voicemail_max_seconds_and_the_box_hangs_up():
    async def scenario():
        box, desk = boxed(VOICEMAIL)
        box.receive(trunk_invite(), TRUNK)
        await settle()
        box.advance(5.1)
        box.receive(in_dialog(box.responses(TRUNK)[-1], "ACK", 1, "sip:callbox@127.0.0.1"),
                    TRUNK)
        call_id = desk.of(PlayAudio)[-1].call_id
        box.endpoint.feed(AudioDone(call_id, "greeting"))
        box.advance(29)
        assert not box.requests("BYE", TRUNK)
        box.advance(3.5)                                    # 30 s and the margin
        assert {b.headers.get("CSeq") for b in box.requests("BYE", TRUNK)} == {"1 BYE"}
        assert desk.of(StopAudio)
    run(scenario)


def test_nobody_available_goes_straight_to_voicemail_without_a_480():
    async def scenario():
        box, desk = boxed(VOICEMAIL)                        # 103 is not registered
        box.receive(trunk_invite("+48221234569", call_id="radio"), TRUNK)
        await settle()
        assert box.statuses() == [100, 200]
        assert [e.reason for e in box.events if isinstance(e, events.CallEnded)] == [
            events.NOBODY_AVAILABLE]
        assert desk.of(PlayAudio)[-1].items[0] == ("prompt", "greeting", "Radio")
    run(scenario)


def test_without_voicemail_a_call_nobody_answers_is_refused_as_before():
    async def scenario():
        box, desk = boxed(CONFIG_TEXT)
        box.receive(trunk_invite(), TRUNK)
        await settle()
        box.advance(5.1)
        assert box.statuses() == [100, 480] and desk.actions == []
    run(scenario)


def test_a_caller_that_hangs_up_while_it_rings_leaves_no_voicemail():
    async def scenario():
        box, desk = boxed(VOICEMAIL)
        box.receive(trunk_invite(), TRUNK)
        await settle()
        box.receive(trunk_invite().replace("INVITE sip:", "CANCEL sip:", 1)
                    .replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL"), TRUNK)
        assert 487 in box.statuses() and desk.actions == []
        assert box.events[-1].reason == events.CALLER_HANGUP
    run(scenario)


def test_the_recording_notice_plays_as_early_media_before_the_phones_ring():
    async def scenario():
        box, desk = boxed(NOTICE)
        box.receive(trunk_invite(), TRUNK)
        await settle()
        progress = box.responses(TRUNK)[-1]
        assert progress.status == 183 and b"m=audio 30000" in progress.body
        assert box.requests("INVITE", PHONE1) == []         # not yet: the notice first
        play = desk.of(PlayAudio)[-1]
        assert play.items == (("prompt", "notice", ""),)
        box.advance(4)                                      # the notice plays 4 s
        box.endpoint.feed(AudioDone(play.call_id, "notice"))
        leg1 = box.requests("INVITE", PHONE1)[0]
        assert box.requests("INVITE", PHONE2)
        box.receive(reply(leg1, 180, "a"), PHONE1)
        assert box.statuses()[-1] == 180
        box.advance(4.9)                                    # ring timeout counts from ringing
        assert box.b2bua.calls[play.call_id].state is CallState.RINGING
        box.receive(reply(leg1, 200, "a", sdp("127.0.0.11", 41000)), PHONE1)
        assert box.statuses()[-1] == 200
        assert [type(e).__name__ for e in box.events][-1] == "CallAnswered"
        assert desk.of(StopAudio) == []                     # nothing left playing to stop
    run(scenario)


def test_no_notice_without_announce():
    async def scenario():
        box, desk = boxed(NOTICE.replace("announce = true", "announce = false"))
        box.receive(trunk_invite(), TRUNK)
        await settle()
        assert box.requests("INVITE", PHONE1) and desk.actions == []
    run(scenario)


def test_star_97_plays_the_messages_and_hangs_up_after_them_without_a_call_record():
    async def scenario():
        box, desk = boxed(VOICEMAIL)
        authed(box, phone_invite("*97", call_id="vm97"), PHONE1)
        await settle()
        ok = box.responses(PHONE1)[-1]
        assert ok.status == 200 and b"m=audio 30000" in ok.body
        play = desk.of(PlayAudio)[-1]
        assert play.items == (("messages", "101"),) and play.skip_on_digit
        box.endpoint.feed(AudioDone(play.call_id, "messages"))
        assert box.requests("BYE", PHONE1) and box.events == []
    run(scenario)


def test_star_98_records_the_greeting_of_a_campaign_the_phone_rings_for():
    async def scenario():
        box, desk = boxed(VOICEMAIL)
        authed(box, phone_invite("*983", call_id="vm983"), PHONE1)    # Radio rings 103
        assert box.responses(PHONE1)[-1].status == 404
        authed(box, phone_invite("*981", call_id="vm981"), PHONE1)
        await settle()
        assert box.responses(PHONE1)[-1].status == 200
        beep = desk.of(PlayAudio)[-1]
        assert beep.items == (("prompt", "beep", ""),)
        box.endpoint.feed(AudioDone(beep.call_id, "beep"))
        record = desk.of(RecordAudio)[-1]
        assert record.kind == "greeting" and dict(record.meta) == {"campaign": "Shop window"}
        box.endpoint.feed(AudioDone(beep.call_id, "key"))            # the phone pressed #
        assert box.requests("BYE", PHONE1) and desk.of(StopAudio)
        assert box.events == []
    run(scenario)


def test_a_caller_the_box_holds_during_a_transfer_hears_music_until_the_target_answers():
    from tests.pbx.test_b2bua import from_phone, refer, talking_with_101

    async def scenario():
        box, desk = boxed(CONFIG_TEXT)
        leg1, _ = await talking_with_101(box)
        box.receive(refer(leg1, "102"), PHONE1)
        assert desk.actions == []                    # 101 still holds the caller itself
        target = box.requests("INVITE", PHONE2)[-1]
        box.receive(from_phone(leg1, "BYE", 3), PHONE1)
        moh = desk.of(PlayAudio)[-1]
        assert moh.items == (("prompt", "moh", ""),) and moh.repeat and moh.payload_type == 0
        box.receive(reply(target, 200, "t2", sdp("127.0.0.12", 42000)), PHONE2)
        assert desk.of(StopAudio)                    # 102 talks: the music stops first
    run(scenario)
