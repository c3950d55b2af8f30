"""The payload types each party's SDP names reach its relay session (for the recorder)."""

from __future__ import annotations

import asyncio

from tests.pbx.b2bua_wire import PHONE1, PHONE2, TRUNK, Box, reply, settle, trunk_invite


def offer(host: str, port: int, formats: str, maps: str) -> bytes:
    return (f"v=0\r\no=x 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {formats}\r\n{maps}").encode()


def test_each_sides_formats_are_noted_on_its_relay_session():
    async def scenario():
        box = Box()
        caller = offer("127.0.0.2", 40000, "96 9 101",
                       "a=rtpmap:96 PCMU/8000\r\na=rtpmap:9 G722/8000\r\n"
                       "a=rtpmap:101 telephone-event/8000\r\n")
        box.receive(trunk_invite(body=caller), TRUNK)
        await settle()
        leg1 = box.requests("INVITE", PHONE1)[0]
        box.receive(reply(leg1, 200, "a", offer("127.0.0.11", 41000, "96",
                                                 "a=rtpmap:96 PCMU/8000\r\n")), PHONE1)
        session = box.relay.sessions[0]
        assert session.formats == {
            "a": {"96": "pcmu/8000", "9": "g722/8000", "101": "telephone-event/8000"},
            "b": {"96": "pcmu/8000"}}
        assert box.requests("INVITE", PHONE2)          # rung too, never answered: no formats
    asyncio.run(scenario())
