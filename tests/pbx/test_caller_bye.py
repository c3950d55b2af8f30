"""A caller's BYE before any answer (RFC 3261 15: a caller may end an early dialog) ends the
call as its CANCEL would: 200 to the BYE, 487 to the INVITE, the phones CANCELled, missed."""

from __future__ import annotations

import asyncio

from firmware.pbx import events
from tests.pbx.b2bua_wire import PHONE1, PHONE2, TRUNK, Box, in_dialog, reply, settle, \
    trunk_invite


def test_the_callers_bye_while_the_phones_ring_ends_the_call_as_missed():
    async def scenario():
        box = Box()
        box.receive(trunk_invite(), TRUNK)
        await settle()
        leg1, leg2 = box.requests("INVITE", PHONE1)[0], box.requests("INVITE", PHONE2)[0]
        box.receive(reply(leg1, 180, "a"), PHONE1)
        ringing = next(r for r in box.responses(TRUNK) if r.status == 180)
        box.receive(in_dialog(ringing, "BYE", 2, "sip:callbox@127.0.0.1"), TRUNK)
        assert sorted(box.statuses())[-2:] == [200, 487]
        bye_ok = next(r for r in box.responses(TRUNK) if r.status == 200)
        assert bye_ok.cseq == (2, "BYE")
        assert box.requests("CANCEL", PHONE1)                  # 101 rang: CANCEL at once
        box.receive(reply(leg2, 180, "b"), PHONE2)             # 102's first 1xx: its CANCEL
        assert box.requests("CANCEL", PHONE2)
        ended = [e for e in box.events if isinstance(e, events.CallEnded)]
        assert [e.reason for e in ended] == [events.CALLER_HANGUP]
        assert not any(isinstance(e, events.CallAnswered) for e in box.events)
        box.receive(reply(leg1, 200, "a"), PHONE1)             # too late: hung up at once
        assert box.requests("BYE", PHONE1)
    asyncio.run(scenario())


def test_a_bye_from_a_phone_still_ringing_controls_nothing():
    async def scenario():
        box = Box()
        box.receive(trunk_invite(), TRUNK)
        await settle()
        leg1 = box.requests("INVITE", PHONE1)[0]
        box.receive(reply(leg1, 180, "a"), PHONE1)
        bye = (f"BYE sip:callbox@127.0.0.1:5060 SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.11;branch=z9hG4bKbye1\r\n"
               f"From: {leg1.headers.get('To')};tag=a\r\nTo: {leg1.headers.get('From')}\r\n"
               f"Call-ID: {leg1.call_id}\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\n"
               f"Content-Length: 0\r\n\r\n")
        box.receive(bye, PHONE1)
        assert box.responses(PHONE1)[-1].status == 481
        assert not any(isinstance(e, events.CallEnded) for e in box.events)
    asyncio.run(scenario())
