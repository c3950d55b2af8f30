"""Call control through the real endpoint, bytes in and bytes out, on frozen clocks."""

from __future__ import annotations

import asyncio

import pytest

from firmware.pbx import events
from firmware.pbx.callstate import CallState
from firmware.pbx.sip.message import Request
from tests.pbx.b2bua_wire import (
    CONFIG_TEXT, PHONE1, PHONE2, TRUNK, Box, in_dialog, reply, sdp, settle, trunk_invite)


def run(scenario):
    asyncio.run(scenario())


def from_phone(invite: Request, method: str, cseq: int, tag: str = "a", body: bytes = b"",
               extra: str = "") -> str:
    """A request a rung phone sends inside the dialog of the box's INVITE to it."""
    content = "Content-Type: application/sdp\r\n" if body else ""
    return (f"{method} sip:callbox@127.0.0.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK{method}{cseq}{tag}\r\n"
            f"From: {invite.headers.get('To')};tag={tag}\r\nTo: {invite.headers.get('From')}\r\n"
            f"Call-ID: {invite.call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
            f"{extra}{content}Content-Length: {len(body)}\r\n\r\n") + body.decode()


async def ring_both(box: Box, **kwargs) -> tuple[Request, Request]:
    box.receive(trunk_invite(**kwargs), TRUNK)
    await settle()
    return box.requests("INVITE", PHONE1)[0], box.requests("INVITE", PHONE2)[0]


async def answered_call(box: Box, **kwargs) -> tuple[Request, Request]:
    """101 and 102 rung, 101 answers; returns (INVITE to 101, INVITE to 102)."""
    leg1, leg2 = await ring_both(box, **kwargs)
    box.receive(reply(leg2, 180, "b"), PHONE2)
    box.receive(reply(leg1, 200, "a", sdp("127.0.0.11", 41000)), PHONE1)
    return leg1, leg2


def test_first_answer_wins_the_loser_is_cancelled_and_the_caller_gets_the_relay():
    async def scenario():
        box = Box()
        leg1, leg2 = await ring_both(box)
        box.receive(reply(leg1, 180, "a"), PHONE1)
        box.receive(reply(leg2, 200, "b", sdp("127.0.0.12", 41000)), PHONE2)
        assert box.statuses() == [100, 180, 200]
        assert [c.call_id for c in box.requests("CANCEL", PHONE1)] == [leg1.call_id]
        box.receive(reply(leg1, 200, "a", sdp("127.0.0.11", 41000)), PHONE1)   # too late
        assert [b.call_id for b in box.requests("BYE", PHONE1)] == [leg1.call_id]
        answered = [e for e in box.events if isinstance(e, events.CallAnswered)]
        assert [e.extension for e in answered] == ["102"]
        ok = box.responses(TRUNK)[-1]
        assert b"c=IN IP4 127.0.0.1" in ok.body and b"m=audio 30000 " in ok.body
        assert box.relay.sessions[0].remotes == {"a": ("127.0.0.2", 40000),
                                                 "b": ("127.0.0.12", 41000)}
    run(scenario)


def test_responses_to_the_provider_carry_its_record_route_and_requests_follow_it():
    async def scenario():
        box = Box()
        rr = "Record-Route: <sip:127.0.0.2;lr;ftag=x>\r\n"
        leg1, _ = await answered_call(box, extra=rr)
        for response in box.responses(TRUNK)[1:]:     # 180 and 200, not 100
            assert response.headers.get_all("Record-Route") == ["<sip:127.0.0.2;lr;ftag=x>"]
        ok = box.responses(TRUNK)[-1]
        box.receive(in_dialog(ok, "ACK", 1, "sip:callbox@127.0.0.1"), TRUNK)
        box.receive(from_phone(leg1, "BYE", 2), PHONE1)      # the desk phone hangs up
        bye = box.requests("BYE", TRUNK)[0]
        assert bye.uri == "sip:trunk@127.0.0.2"
        assert bye.headers.get_all("Route") == ["<sip:127.0.0.2;lr;ftag=x>"]
    run(scenario)


@pytest.mark.parametrize("ruri, to, extra, campaign_number", [
    ("hotelzdroj", "+48221234567", "", "+48221234567"),              # registering trunk
    ("48221234567", "+48221234568", "", "+48221234568"),             # numeric trunk user
    ("+48221234568", "+48221234567", "", "+48221234568"),            # R-URI is a campaign
    ("hotelzdroj", "hotelzdroj", "P-Called-Party-ID: <tel:+48221234568>\r\n", "+48221234568"),
    ("hotelzdroj", "hotelzdroj",
     "Diversion: <sip:0221234567@p.example>;reason=unconditional\r\n", "+48221234567"),
    ("hotelzdroj", "hotelzdroj", "Diversion: <<<garbage\r\n"
     "History-Info: <sip:+48221234568@p.example>;index=1\r\n", "+48221234568"),
])
def test_the_campaign_is_the_number_the_caller_dialled_wherever_the_provider_puts_it(
        ruri, to, extra, campaign_number):
    async def scenario():
        box = Box()
        box.receive(trunk_invite(ruri, to, extra=extra), TRUNK)
        await settle()
        offered = [e for e in box.events if isinstance(e, events.CallOffered)]
        assert [e.dialled for e in offered] == [campaign_number]
        assert box.requests("INVITE", PHONE1)
    run(scenario)


def test_a_trunk_can_name_where_its_dialled_number_is():
    async def scenario():
        box = Box(CONFIG_TEXT.replace('register = false',
                                      'register = false\ncalled_number_from = ["to"]'))
        box.receive(trunk_invite("+48221234568", "+48221234567"), TRUNK)
        await settle()
        assert [e.dialled for e in box.events if isinstance(e, events.CallOffered)] == \
            ["+48221234567"]
    run(scenario)


def test_a_number_nobody_serves_gets_404_and_no_record():
    async def scenario():
        box = Box()
        box.receive(trunk_invite("hotelzdroj", "hotelzdroj"), TRUNK)
        await settle()
        assert box.statuses() == [404]
        assert box.events == []
    run(scenario)


def test_all_phones_busy_gives_486_and_busy_reason():
    async def scenario():
        box = Box()
        leg1, leg2 = await ring_both(box)
        box.receive(reply(leg1, 486), PHONE1)
        box.receive(reply(leg2, 486), PHONE2)
        assert box.statuses()[-1] == 486
        assert box.events[-1].reason == events.BUSY
    run(scenario)


def test_a_newline_in_the_caller_id_never_reaches_a_number_and_the_call_rings():
    async def scenario():
        box = Box()
        box.receive(trunk_invite(from_user="%0A%0D%1B"), TRUNK)
        await settle()
        offered = [e for e in box.events if isinstance(e, events.CallOffered)]
        assert [e.caller for e in offered] == ["anonymous"]
        invite = box.requests("INVITE", PHONE1)[0]
        assert all(ord(ch) >= 32 for ch in invite.headers.get("From"))
    run(scenario)


def test_a_failure_while_setting_up_ends_the_call_cleanly_and_frees_its_ports():
    async def scenario():
        box = Box()

        def broken(*args, **kwargs):
            raise KeyError("a bug in ringing")
        box.b2bua.ring = broken
        box.receive(trunk_invite(), TRUNK)
        await settle()
        assert box.statuses() == [100, 500]
        assert box.relay.sessions[0].closed
        assert box.events[-1].reason == events.FAILED
        call = next(iter(box.b2bua.calls.values()))
        assert call.state is CallState.ENDED
        box.advance(60)
        assert box.b2bua.calls == {} and box.b2bua.by_dialog == {}
    run(scenario)


def test_the_ring_timeout_is_armed_before_the_relay_opens():
    async def scenario():
        box = Box()
        box.relay.open_session = lambda key: asyncio.get_running_loop().create_future()
        box.receive(trunk_invite(), TRUNK)
        await settle()
        box.advance(5.1)
        assert box.statuses() == [100, 480]
        assert box.events[-1].reason == events.RING_TIMEOUT
    run(scenario)


def test_a_phone_that_lost_the_race_controls_nothing():
    async def scenario():
        box = Box()
        leg1, leg2 = await ring_both(box)
        box.receive(reply(leg2, 180, "b"), PHONE2)
        box.receive(reply(leg1, 200, "a", sdp("127.0.0.11", 41000)), PHONE1)
        reinvite = from_phone(leg2, "INVITE", 2, tag="b", body=sdp("127.0.0.12", 42000))
        box.receive(reinvite, PHONE2)
        box.receive(from_phone(leg2, "BYE", 3, tag="b"), PHONE2)
        assert [r.status for r in box.responses(PHONE2)] == [481, 481]
        assert box.relay.sessions[0].remotes["b"] == ("127.0.0.11", 41000)
        assert box.requests("BYE", TRUNK) == []
    run(scenario)


def test_bye_or_cancel_from_another_address_is_refused():
    async def scenario():
        box = Box()
        leg1, _ = await answered_call(box)
        box.receive(from_phone(leg1, "BYE", 2), PHONE2)        # 101's dialog, 102's address
        assert box.responses(PHONE2)[-1].status == 481
        assert box.requests("BYE", TRUNK) == []
        other = Box()
        other.receive(trunk_invite(), TRUNK)
        cancel = trunk_invite().replace("INVITE sip:", "CANCEL sip:", 1).replace(
            "CSeq: 1 INVITE", "CSeq: 1 CANCEL")
        other.receive(cancel, PHONE1)
        await settle()
        assert other.responses(PHONE1)[-1].status == 481
        assert other.requests("INVITE", PHONE1)
    run(scenario)


def test_a_relayed_info_nobody_answers_is_answered_408():
    async def scenario():
        box = Box()
        leg1, _ = await answered_call(box)
        ok = box.responses(TRUNK)[-1]
        box.receive(in_dialog(ok, "ACK", 1, "sip:callbox@127.0.0.1"), TRUNK)
        box.receive(in_dialog(ok, "INFO", 2, "sip:callbox@127.0.0.1"), TRUNK)
        assert box.requests("INFO", PHONE1)
        box.advance(40)
        assert box.responses(TRUNK)[-1].status == 408
    run(scenario)


def test_late_offer_the_phones_offer_goes_to_the_caller_and_its_answer_comes_back_in_ack():
    async def scenario():
        box = Box()
        leg1, _ = await ring_both(box, body=b"")
        assert not leg1.body
        box.receive(reply(leg1, 200, "a", sdp("127.0.0.11", 41000)), PHONE1)
        ok = box.responses(TRUNK)[-1]
        assert ok.status == 200 and b"m=audio 30000 " in ok.body
        assert box.requests("ACK", PHONE1) == []          # waits for the caller's answer
        box.receive(in_dialog(ok, "ACK", 1, "sip:callbox@127.0.0.1", body=sdp()), TRUNK)
        ack = box.requests("ACK", PHONE1)[0]
        assert b"m=audio 30002 " in ack.body
        assert box.relay.sessions[0].remotes == {"a": ("127.0.0.2", 40000),
                                                 "b": ("127.0.0.11", 41000)}
    run(scenario)


def test_a_caller_that_requires_100rel_gets_reliable_ringing_until_its_prack():
    async def scenario():
        box = Box()
        leg1, _ = await ring_both(box, extra="Require: 100rel\r\nSupported: 100rel\r\n")
        box.receive(reply(leg1, 180, "a"), PHONE1)
        ringing = box.responses(TRUNK)[-1]
        assert ringing.status == 180 and ringing.headers.get("RSeq") == "1"
        box.advance(0.6)
        assert [r.status for r in box.responses(TRUNK)].count(180) == 2   # resent
        prack = in_dialog(ringing, "PRACK", 2, "sip:callbox@127.0.0.1", extra="RAck: 7 1 INVITE\r\n")
        box.receive(prack, TRUNK)
        assert box.responses(TRUNK)[-1].status == 481                     # unknown RSeq
        box.receive(prack.replace("RAck: 7", "RAck: 1").replace("PRACK2", "PRACK3"), TRUNK)
        assert box.responses(TRUNK)[-1].status == 200
        box.advance(10)
        assert [r.status for r in box.responses(TRUNK)].count(180) == 2   # no more
    run(scenario)


def test_a_phones_reliable_ringing_is_pracked():
    async def scenario():
        box = Box()
        leg1, _ = await ring_both(box)
        box.receive(reply(leg1, 180, "a", extra=[("Require", "100rel"), ("RSeq", "5")]), PHONE1)
        prack = box.requests("PRACK", PHONE1)[0]
        assert prack.headers.get("RAck") == "5 1 INVITE"
    run(scenario)


def test_a_session_timer_never_refreshed_ends_the_call_with_bye_both_ways():
    async def scenario():
        box = Box()
        leg1, _ = await answered_call(box, extra="Session-Expires: 90\r\nSupported: timer\r\n")
        ok = box.responses(TRUNK)[-1]
        assert ok.headers.get("Session-Expires") == "90;refresher=uac"
        box.receive(in_dialog(ok, "ACK", 1, "sip:callbox@127.0.0.1"), TRUNK)
        box.advance(60)
        box.receive(in_dialog(ok, "UPDATE", 2, "sip:callbox@127.0.0.1"), TRUNK)   # refresh
        box.advance(80)
        assert box.requests("BYE") == []
        box.advance(20)
        assert len({r.headers.get("CSeq") for r in box.requests("BYE", TRUNK)}) == 1
        assert len({r.headers.get("CSeq") for r in box.requests("BYE", PHONE1)}) == 1
        assert box.events[-1].reason == events.COMPLETED
        assert box.relay.sessions[0].closed
    run(scenario)


def test_too_small_a_session_interval_gets_422():
    async def scenario():
        box = Box()
        box.receive(trunk_invite(extra="Session-Expires: 30\r\nSupported: timer\r\n"), TRUNK)
        await settle()
        assert box.statuses() == [422]
        assert box.responses(TRUNK)[-1].headers.get("Min-SE") == "90"
    run(scenario)


def test_a_call_is_hung_up_after_max_call_minutes():
    async def scenario():
        box = Box(CONFIG_TEXT + "[sip]\nmax_call_minutes = 1\n")
        await answered_call(box)
        ok = box.responses(TRUNK)[-1]
        box.receive(in_dialog(ok, "ACK", 1, "sip:callbox@127.0.0.1"), TRUNK)
        box.advance(59)
        assert box.requests("BYE") == []
        box.advance(2)
        assert box.requests("BYE", TRUNK) and box.requests("BYE", PHONE1)
    run(scenario)


def test_a_provider_reinvite_moves_its_media_address():
    async def scenario():
        box = Box()
        await answered_call(box)
        ok = box.responses(TRUNK)[-1]
        box.receive(in_dialog(ok, "ACK", 1, "sip:callbox@127.0.0.1"), TRUNK)
        box.receive(in_dialog(ok, "INVITE", 2, "sip:callbox@127.0.0.1",
                              body=sdp("127.0.0.2", 45000)), TRUNK)
        assert box.relay.sessions[0].remotes["a"] == ("127.0.0.2", 45000)
        relayed = box.requests("INVITE", PHONE1)[-1]
        assert b"m=audio 30002 " in relayed.body
    run(scenario)


def test_an_unanswered_caller_2xx_is_resent_then_the_call_ends():
    async def scenario():
        box = Box()
        await answered_call(box)
        box.advance(40)
        assert box.statuses().count(200) > 5
        assert box.requests("BYE", PHONE1) and box.events[-1].reason == events.COMPLETED
    run(scenario)


def test_the_desk_phone_shows_the_campaign_and_a_known_callers_name():
    async def scenario():
        box = Box()
        box.b2bua.contact_name = {"+48600111222": "Jan Kowalski"}.get
        leg1, _ = await ring_both(box)
        assert leg1.headers.get("From").startswith('"Shop window: Jan Kowalski" <sip:+48600111222@')
        other = Box()
        leg1, _ = await ring_both(other)
        assert leg1.headers.get("From").startswith(
            '"Shop window: +48 600 111 222" <sip:+48600111222@')
    run(scenario)


def test_a_trunk_address_cannot_offer_calls_without_limit():
    async def scenario():
        box = Box(CONFIG_TEXT + "[security]\ntrunk_calls_per_minute = 3\n")
        for n in range(5):
            box.receive(trunk_invite(call_id=f"spoof{n}"), TRUNK)
        await settle()
        finals = [r.status for r in box.responses(TRUNK) if r.status != 100]
        assert finals.count(503) == 2
        assert len([e for e in box.events if isinstance(e, events.CallOffered)]) == 3
        box.advance(20)          # a minute's budget comes back over the minute
        box.receive(trunk_invite(call_id="later"), TRUNK)
        await settle()
        assert len([e for e in box.events if isinstance(e, events.CallOffered)]) == 4
    run(scenario)


def phone_invite(dialled: str, ext: str = "101", ip: str = "127.0.0.11", call_id: str = "p1",
                 body: bytes | None = None) -> str:
    """An INVITE from a registered phone (credentials are added by `authed`)."""
    body = sdp(ip, 43000) if body is None else body
    return (f"INVITE sip:{dialled}@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {ip};branch=z9hG4bK{call_id}\r\n"
            f"From: <sip:{ext}@127.0.0.1>;tag=f{call_id}\r\nTo: <sip:{dialled}@127.0.0.1>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:{ext}@{ip}:5060>\r\n"
            f"Max-Forwards: 70\r\nContent-Type: application/sdp\r\n"
            f"Content-Length: {len(body)}\r\n\r\n") + body.decode()


def authed(box: Box, text: str, source, ext: str = "101") -> None:
    """Send a phone's INVITE, answer the box's 407 with the extension's password."""
    from firmware.pbx.sip.digest import answer_challenge
    from firmware.pbx.sip.message import parse_message
    box.receive(text, source)
    challenge = box.responses(source)[-1]
    assert challenge.status == 407
    request = parse_message(text.encode())
    auth = answer_challenge(challenge.headers.get("Proxy-Authenticate"), method="INVITE",
                            uri=request.uri, username=ext, password=f"secret-{ext}-pw",
                            cnonce="c0ffee")
    box.receive(text.replace("CSeq: 1 INVITE", "CSeq: 2 INVITE\r\nProxy-Authorization: " + auth)
                .replace("branch=z9hG4bK", "branch=z9hG4bK2"), source)


def test_do_not_disturb_from_the_phone_keeps_it_from_ringing():
    async def scenario():
        box = Box()
        authed(box, phone_invite("*78", ext="102", ip="127.0.0.12", call_id="dnd1"), PHONE2,
               ext="102")
        assert box.responses(PHONE2)[-1].status == 480
        assert box.responses(PHONE2)[-1].reason == "Do Not Disturb On"
        assert box.b2bua.presence.dnd("102") and box.events == []
        box.receive(trunk_invite(), TRUNK)
        await settle()
        assert box.requests("INVITE", PHONE1) and not box.requests("INVITE", PHONE2)
        box.b2bua.presence.set_dnd("101", True)          # the panel's switch
        box.receive(trunk_invite(call_id="trunk-2"), TRUNK)
        await settle()
        assert box.statuses()[-1] == 480
        assert box.events[-1].reason == events.NOBODY_AVAILABLE
    run(scenario)


@pytest.mark.parametrize("code", ["*8", "**102"])
def test_pickup_answers_the_ringing_call_and_the_others_stop(code):
    async def scenario():
        box = Box()
        leg1, leg2 = await ring_both(box)
        box.receive(reply(leg1, 180, "a"), PHONE1)
        box.receive(reply(leg2, 180, "b"), PHONE2)
        picker = Address("127.0.0.13", 5060)
        box.b2bua.bindings.put("103", Binding("sip:103@127.0.0.13:5060", box.wall + 3600,
                                             "127.0.0.13", 5060, "UDP", "c", 1))
        box.b2bua.config = box.b2bua.config.__class__(
            **{**box.b2bua.config.__dict__,
               "extensions": box.b2bua.config.extensions + (Extension("103", "", "secret-103-pw"),),
               "campaigns": tuple(c.__class__(**{**c.__dict__, "ring": c.ring + ("103",)})
                                  for c in box.b2bua.config.campaigns)})
        authed(box, phone_invite(code, ext="103", ip="127.0.0.13", call_id="pick1"), picker,
               ext="103")
        ok = box.responses(picker)[-1]
        assert ok.status == 200 and b"m=audio 30002 " in ok.body
        assert box.statuses()[-1] == 200 and b"m=audio 30000 " in box.responses(TRUNK)[-1].body
        assert box.requests("CANCEL", PHONE1) and box.requests("CANCEL", PHONE2)
        answered = [e for e in box.events if isinstance(e, events.CallAnswered)]
        assert [e.extension for e in answered] == ["103"]
        assert box.b2bua.live()["calls"][0]["state"] == "talking"
    from firmware.config import Extension
    from firmware.pbx.bindings import Binding
    from firmware.pbx.transport import Address
    run(scenario)


def test_a_pickup_with_nothing_ringing_gets_404_and_changes_nothing():
    async def scenario():
        box = Box()
        authed(box, phone_invite("*8"), PHONE1)
        assert box.responses(PHONE1)[-1].status == 404
        assert box.events == [] and box.b2bua.calls == {}
    run(scenario)


def test_the_live_board_shows_ringing_talking_and_held_calls():
    async def scenario():
        box = Box()
        leg1, leg2 = await ring_both(box)
        live = box.b2bua.live()
        assert [(c["state"], c["campaign"], c["caller"]) for c in live["calls"]] == \
            [("ringing", "Shop window", "+48600111222")]
        box.receive(reply(leg1, 200, "a", sdp("127.0.0.11", 41000)), PHONE1)
        ok = box.responses(TRUNK)[-1]
        box.receive(in_dialog(ok, "ACK", 1, "sip:callbox@127.0.0.1"), TRUNK)
        live = box.b2bua.live()
        assert live["calls"][0]["state"] == "talking" and live["calls"][0]["extensions"] == ["101"]
        assert {p["extension"]: p["in_call"] for p in live["phones"]} == {"101": True, "102": False}
        held = sdp().replace(b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n")
        box.receive(in_dialog(ok, "INVITE", 2, "sip:callbox@127.0.0.1", body=held), TRUNK)
        assert box.b2bua.live()["calls"][0]["state"] == "held"
    run(scenario)


def test_click_to_call_rings_the_desk_phone_then_dials_the_number_with_its_codec():
    async def scenario():
        from firmware.pbx.callio import Originate
        box = Box()
        box.endpoint.feed(Originate("c2c1", "101", "601234567"))
        await settle()
        ring = box.requests("INVITE", PHONE1)[0]
        assert ring.headers.get("From").startswith('"Call +48 601 234 567"')
        assert b"RTP/AVP 8 0 101" in ring.body and box.events == []
        pcmu = sdp("127.0.0.11", 41000)        # the phone picks PCMU
        box.receive(reply(ring, 180, "ph"), PHONE1)
        box.receive(reply(ring, 200, "ph", pcmu), PHONE1)
        assert box.requests("ACK", PHONE1)
        out = box.requests("INVITE", TRUNK)[0]
        assert out.uri.startswith("sip:+48601234567@")
        assert b"m=audio 30002 RTP/AVP 0\r\n" in out.body
        assert [type(e).__name__ for e in box.events] == ["DialledOut"]
        assert box.events[0].extension == "101" and box.events[0].number == "+48601234567"
        box.receive(reply(out, 200, "far", sdp("127.0.0.2", 45000)), TRUNK)
        assert box.requests("ACK", TRUNK)
        assert box.relay.sessions[0].remotes == {"a": ("127.0.0.11", 41000),
                                                 "b": ("127.0.0.2", 45000)}
        bye = (f"BYE sip:callbox@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bKb1\r\n"
               f"From: {out.headers.get('To')};tag=far\r\nTo: {out.headers.get('From')}\r\n"
               f"Call-ID: {out.call_id}\r\nCSeq: 5 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        box.receive(bye, TRUNK)
        assert box.requests("BYE", PHONE1)
        assert box.kinds() == ["DialledOut", "CallAnswered", "CallEnded"]
        assert [r.status for r in box.responses(TRUNK)] == [200]   # to its BYE only
    run(scenario)


def test_click_to_call_to_a_refused_number_rings_nobody():
    async def scenario():
        from firmware.pbx.callio import Originate
        box = Box()
        box.endpoint.feed(Originate("c2c2", "101", "+4870012345"))   # premium rate
        box.endpoint.feed(Originate("c2c3", "103", "+48601234567"))  # nobody registered
        await settle()
        assert box.sent == [] and box.events == []
        assert set(box.b2bua.refused) == {"c2c2", "c2c3"}
    run(scenario)


def test_a_click_to_call_the_phone_does_not_answer_leaves_no_record():
    async def scenario():
        from firmware.pbx.callio import Originate
        box = Box()
        box.endpoint.feed(Originate("c2c4", "101", "+48601234567"))
        await settle()
        ring = box.requests("INVITE", PHONE1)[0]
        box.receive(reply(ring, 486, "ph"), PHONE1)
        assert box.events == [] and box.requests("INVITE", TRUNK) == []
        assert box.b2bua.calls["c2c4"].state is CallState.ENDED
    run(scenario)


async def talking_with_101(box: Box) -> tuple[Request, Request]:
    leg1, leg2 = await answered_call(box)
    ok = box.responses(TRUNK)[-1]
    box.receive(in_dialog(ok, "ACK", 1, "sip:callbox@127.0.0.1"), TRUNK)
    return leg1, leg2


def refer(leg1: Request, target: str, cseq: int = 2) -> str:
    return from_phone(leg1, "REFER", cseq, extra=f"Refer-To: <sip:{target}@127.0.0.1>\r\n"
                                                   "Referred-By: <sip:101@127.0.0.1>\r\n")


def notifies(box: Box) -> list[str]:
    return [n.body.decode().strip() for n in box.requests("NOTIFY", PHONE1)]


def test_blind_transfer_the_caller_moves_to_102_and_never_drops():
    async def scenario():
        box = Box()
        leg1, _ = await talking_with_101(box)
        box.receive(refer(leg1, "102"), PHONE1)
        assert box.responses(PHONE1)[-1].status == 202
        assert notifies(box) == ["SIP/2.0 100 Trying"]
        target = box.requests("INVITE", PHONE2)[-1]
        assert b"m=audio 30002 " in target.body and b"RTP/AVP 0" in target.body
        box.receive(from_phone(leg1, "BYE", 3), PHONE1)          # 101 hangs up at once
        assert box.responses(PHONE1)[-1].status == 200
        assert box.requests("BYE", TRUNK) == []                  # the caller stays
        box.receive(reply(target, 200, "t2", sdp("127.0.0.12", 42000)), PHONE2)
        assert box.requests("ACK", PHONE2)
        assert box.relay.sessions[0].remotes["b"] == ("127.0.0.12", 42000)
        moved = [e for e in box.events if isinstance(e, events.CallTransferred)]
        assert [e.extension for e in moved] == ["102"]
        box.receive(from_phone(target, "BYE", 2, tag="t2"), PHONE2)
        assert box.requests("BYE", TRUNK) and box.events[-1].reason == events.COMPLETED
    run(scenario)


def test_a_refused_transfer_leaves_the_caller_with_the_transferor():
    async def scenario():
        box = Box()
        leg1, _ = await talking_with_101(box)
        box.receive(refer(leg1, "102"), PHONE1)
        target = box.requests("INVITE", PHONE2)[-1]
        box.receive(reply(target, 486, "t2"), PHONE2)
        assert notifies(box) == ["SIP/2.0 100 Trying", "SIP/2.0 486 Busy Here"]
        assert box.requests("BYE") == [] and box.b2bua.live()["calls"][0]["extensions"] == ["101"]
    run(scenario)


def test_a_transfer_nobody_answers_after_the_transferor_left_rings_the_campaign_again():
    async def scenario():
        box = Box()
        leg1, _ = await talking_with_101(box)
        box.receive(refer(leg1, "102"), PHONE1)
        box.receive(from_phone(leg1, "BYE", 3), PHONE1)
        box.advance(5.5)                                         # 102 never answers
        recall = [r for r in box.requests("INVITE") if r.call_id != leg1.call_id]
        assert {r.uri for r in recall} >= {"sip:101@127.0.0.11:5060"}
        assert box.requests("BYE", TRUNK) == []
    run(scenario)


@pytest.mark.parametrize("target, sipfrag", [("+48700123456", "SIP/2.0 403 Forbidden"),
                                             ("999999", "SIP/2.0 403 Forbidden"),
                                             ("", "SIP/2.0 404 Not Found")])
def test_transfers_follow_the_transferors_dialling_rules(target, sipfrag):
    async def scenario():
        box = Box()
        leg1, _ = await talking_with_101(box)
        box.receive(refer(leg1, target), PHONE1)
        assert notifies(box)[-1] == sipfrag
        assert box.requests("INVITE", TRUNK) == [] and box.requests("BYE") == []
    run(scenario)


async def consultation(box: Box) -> tuple[Request, Request, Request]:
    """Call A: the trunk talks to 101. Call B: 101 calls 102, who answers.
    Returns (A's INVITE to 101, B's INVITE to 102, the box's 200 to 101 for B)."""
    leg1, _ = await talking_with_101(box)
    authed(box, phone_invite("102", call_id="consult"), PHONE1)
    await settle()
    to_102 = [r for r in box.requests("INVITE", PHONE2) if r.call_id != leg1.call_id][-1]
    box.receive(reply(to_102, 200, "b102", sdp("127.0.0.12", 42000)), PHONE2)
    ok_b = [r for r in box.responses(PHONE1) if r.call_id == "consult" and r.status == 200][-1]
    return leg1, to_102, ok_b


def test_attended_transfer_joins_the_caller_with_the_consulted_phone():
    async def scenario():
        box = Box()
        leg1, to_102, ok_b = await consultation(box)
        replaces = f"consult%3Bto-tag%3D{ok_b.to.tag}%3Bfrom-tag%3Dfconsult"
        box.receive(from_phone(leg1, "REFER", 2, extra=f"Refer-To: <sip:102@127.0.0.1?Replaces="
                               f"{replaces}>\r\n"), PHONE1)
        assert box.responses(PHONE1)[-1].status == 202
        reinvite = box.requests("INVITE", PHONE2)[-1]
        assert reinvite.call_id == to_102.call_id and reinvite.to.tag == "b102"
        assert b"m=audio 30002 " in reinvite.body        # call A's relay, A's codec
        box.receive(reply(reinvite, 200, "b102", sdp("127.0.0.12", 42002)), PHONE2)
        assert notifies(box)[-1] == "SIP/2.0 200 OK"
        assert {b.call_id for b in box.requests("BYE", PHONE1)} == {leg1.call_id, "consult"}
        assert box.relay.sessions[0].remotes["b"] == ("127.0.0.12", 42002)
        assert box.relay.sessions[1].closed                       # B's relay is gone
        moved = [e for e in box.events if isinstance(e, events.CallTransferred)]
        assert [e.extension for e in moved] == ["102"]
        box.receive(from_phone(to_102, "BYE", 3, tag="b102"), PHONE2)
        assert box.requests("BYE", TRUNK)
    run(scenario)


def test_a_replaces_naming_no_dialog_gets_481():
    async def scenario():
        box = Box()
        leg1, _ = await talking_with_101(box)
        box.receive(from_phone(leg1, "REFER", 2, extra="Refer-To: <sip:102@127.0.0.1?Replaces="
                               "nope%3Bto-tag%3Da%3Bfrom-tag%3Db>\r\n"), PHONE1)
        assert box.responses(PHONE1)[-1].status == 481
        authed(box, phone_invite("102", ext="102", ip="127.0.0.12", call_id="r1")
               .replace("Max-Forwards", "Replaces: nope;to-tag=a;from-tag=b\r\nMax-Forwards"),
               PHONE2, ext="102")
        assert box.responses(PHONE2)[-1].status == 481
    run(scenario)


def test_an_invite_with_replaces_takes_over_a_call_in_conversation():
    async def scenario():
        box = Box()
        leg1, _ = await talking_with_101(box)
        ok_101 = [r for r, d in box.sent if getattr(r, "method", "") == "ACK"
                  and d.host == PHONE1.host][0]
        value = f"{leg1.call_id};to-tag=a;from-tag={ok_101.from_.tag}"
        authed(box, phone_invite("101", ext="102", ip="127.0.0.12", call_id="take1")
               .replace("Max-Forwards", f"Replaces: {value}\r\nMax-Forwards"), PHONE2, ext="102")
        taken = box.responses(PHONE2)[-1]
        assert taken.status == 200 and b"m=audio 30002 " in taken.body
        assert box.requests("BYE", PHONE1) and not box.requests("BYE", TRUNK)
        assert [e.extension for e in box.events if isinstance(e, events.CallTransferred)] == ["102"]
    run(scenario)


def subscribe(watched: str, expires: int = 600, event: str = "dialog", to_tag: str = "",
              cseq: int = 1) -> str:
    tag = f";tag={to_tag}" if to_tag else ""
    return (f"SUBSCRIBE sip:{watched}@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.12;branch=z9hG4bKsub{cseq}\r\n"
            f"From: <sip:102@127.0.0.1>;tag=w102\r\nTo: <sip:{watched}@127.0.0.1>{tag}\r\n"
            f"Call-ID: blf-1\r\nCSeq: {cseq} SUBSCRIBE\r\nContact: <sip:102@127.0.0.12:5060>\r\n"
            f"Event: {event}\r\nExpires: {expires}\r\nAccept: application/dialog-info+xml\r\n"
            "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")


def lamp(box: Box) -> str:
    body = box.requests("NOTIFY", PHONE2)[-1].body.decode()
    return body.split("<state>")[1].split("</state>")[0]


def test_a_busy_lamp_follows_a_colleagues_line_idle_ringing_busy_idle():
    async def scenario():
        box = Box()
        box.receive(subscribe("101"), PHONE2)
        ok = box.responses(PHONE2)[-1]
        assert ok.status == 200 and ok.headers.get("Expires") == "600"
        notify = box.requests("NOTIFY", PHONE2)[-1]
        assert notify.headers.get("Event") == "dialog" and lamp(box) == "terminated"
        assert notify.headers.get("Content-Type") == "application/dialog-info+xml"
        leg1, leg2 = await ring_both(box)
        assert lamp(box) == "early"
        assert f'call-id="{leg1.call_id}"' in box.requests("NOTIFY", PHONE2)[-1].body.decode()
        box.receive(reply(leg1, 200, "a", sdp("127.0.0.11", 41000)), PHONE1)
        assert lamp(box) == "confirmed"
        box.receive(from_phone(leg1, "BYE", 2), PHONE1)
        assert lamp(box) == "terminated"
        count = len(box.requests("NOTIFY", PHONE2))
        box.receive(subscribe("101", expires=0, to_tag=ok.to.tag, cseq=2), PHONE2)
        assert len(box.requests("NOTIFY", PHONE2)) == count + 1
        assert box.requests("NOTIFY", PHONE2)[-1].headers.get("Subscription-State") \
            .startswith("terminated")
        assert box.b2bua.subscriptions == {}
    run(scenario)


def test_subscriptions_need_a_registered_phone_the_dialog_event_and_a_real_line():
    async def scenario():
        box = Box()
        box.receive(subscribe("101", event="presence"), PHONE2)
        assert box.responses(PHONE2)[-1].status == 489
        box.receive(subscribe("999", cseq=2), PHONE2)
        assert box.responses(PHONE2)[-1].status == 404
        stranger = Address("127.0.0.66", 5060)
        box.receive(subscribe("101", cseq=3), stranger)
        assert box.responses(stranger)[-1].status == 403
        box.receive(subscribe("101", expires=120, cseq=4), PHONE2)
        box.advance(121)
        assert box.b2bua.subscriptions == {}
    from firmware.pbx.transport import Address
    run(scenario)


def test_a_call_out_fails_over_to_the_trunks_next_target():
    async def scenario():
        box = Box()
        targets = [Address("127.0.0.2", 5060), Address("127.0.0.5", 5070)]
        box.b2bua.trunk_hosts["127.0.0.5"] = "provider"
        box.b2bua.trunk_route = lambda name: (targets[0], ())
        failed = []

        def failover(name, dest, why):
            failed.append((name, dest.host, why))
            targets.pop(0)
            return bool(targets)
        box.b2bua.trunk_failover = failover
        authed(box, phone_invite("+48601234567", call_id="fo1"), PHONE1)
        await settle()
        first = box.requests("INVITE", TRUNK)[-1]
        box.receive(reply(first, 503, "x"), TRUNK)
        again = [m for m, d in box.sent if getattr(m, "method", "") == "INVITE"
                 and d.host == "127.0.0.5"]
        assert failed == [("provider", "127.0.0.2", "503")] and again
        assert again[0].cseq[0] == first.cseq[0] + 1 and again[0].call_id == first.call_id
        assert box.responses(PHONE1)[-1].status != 503           # the phone still waits
    from firmware.pbx.transport import Address
    run(scenario)
