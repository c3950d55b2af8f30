"""The B2BUA driven message by message, with a fake endpoint and relay: no sockets."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from firmware.config import parse_config
from firmware.pbx import events
from firmware.pbx.b2bua import B2BUA
from firmware.pbx.bindings import Binding, Bindings
from firmware.pbx.sip.digest import DigestServer, answer_challenge
from firmware.pbx.sip.message import make_response, parse_message
from firmware.pbx.transport import Address

CONFIG_TEXT = """
[[trunk]]
name = "provider"
host = "127.0.0.2"
register = false
[[extension]]
number = "101"
password = "secret-101-pw"
[[extension]]
number = "102"
password = "secret-102-pw"
[[campaign]]
name = "Shop window"
number = "+48221234567"
ring = ["101", "102"]
[tracking]
ring_timeout_seconds = 5
"""
CONFIG = parse_config(CONFIG_TEXT)
TRUNK = Address("127.0.0.2", 5060)
SDP = b"v=0\r\no=x 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n" \
      b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"


class Txn(SimpleNamespace):
    pass


class FakeEndpoint:
    def __init__(self):
        self.responses, self.requests, self.stateless = [], [], []
        self.cancels = {}
        self.table = SimpleNamespace(invite_for_cancel=lambda c: self.cancels.get(c.call_id))

    def respond(self, txn, response):
        self.responses.append(response)

    def send_request(self, request, dest, owner=None):
        txn = Txn(request=request, owner=owner, dest=dest)
        self.requests.append(txn)
        return txn

    def send_stateless(self, message, dest):
        self.stateless.append(message)

    def statuses(self):
        return [r.status for r in self.responses]


class FakeSession:
    def __init__(self):
        self.a, self.b = SimpleNamespace(local_port=30000), SimpleNamespace(local_port=30002)
        self.remotes, self.closed, self.idle_timeout = {}, False, 120

    def set_remote(self, leg, host, port):
        self.remotes[leg] = (host, port)

    def close(self):
        self.closed = True

    def idle(self):
        return False


class FakeRelay:
    async def open_session(self, key):
        return FakeSession()


def make_pbx():
    """A B2BUA with 101 and 102 registered, a fake endpoint and relay, events recorded."""
    bus = events.EventBus()
    seen = []
    bus.subscribe(seen.append)
    bindings = Bindings()
    for ext, ip in (("101", "127.0.0.11"), ("102", "127.0.0.12")):
        bindings.put(ext, Binding(f"sip:{ext}@{ip}:5060", 1e12, ip, 5060, "UDP", "c", 1))
    endpoint = FakeEndpoint()
    b2bua = B2BUA(CONFIG, endpoint, FakeRelay(), bindings, DigestServer("callbox", b"k" * 32,
                  algorithms=("MD5",)), bus, host="127.0.0.1", port=5060,
                  trunk_hosts={"127.0.0.2": "provider"})
    return SimpleNamespace(b2bua=b2bua, endpoint=endpoint, events=seen)


def invite(to="+48221234567", call_id="trunk-1", source_tag="t1", extra=""):
    return parse_message((
        f"INVITE sip:{to}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK{call_id}\r\n"
        f"From: <sip:+48600111222@127.0.0.2>;tag={source_tag}\r\nTo: <sip:{to}@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:trunk@127.0.0.2>\r\n{extra}"
        f"Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {len(SDP)}\r\n\r\n"
    ).encode() + SDP)


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


def reply(txn, status, tag="p", sdp=b""):
    headers = [("Contact", f"<{txn.request.uri}>")]
    response = make_response(txn.request, status, None, to_tag=tag, headers=headers, body=sdp)
    if sdp:
        response.headers.add("Content-Type", "application/sdp")
    return response


def kinds(seen):
    return [type(e).__name__ for e in seen]


async def ring_both(pbx):
    request = invite()
    txn = Txn(request=request, owner=None)
    pbx.b2bua.on_request(request, txn, TRUNK)
    await settle()
    legs = [t for t in pbx.endpoint.requests if t.request.method == "INVITE"]
    assert [t.dest.host for t in legs] == ["127.0.0.11", "127.0.0.12"]
    return txn, legs


def test_first_answer_wins_and_the_loser_is_cancelled():
    async def scenario():
        endpoint_pbx = make_pbx()
        _, (leg1, leg2) = await ring_both(endpoint_pbx)
        b2bua, endpoint = endpoint_pbx.b2bua, endpoint_pbx.endpoint
        b2bua.on_response(reply(leg1, 180, "a"), leg1, None)
        b2bua.on_response(reply(leg2, 200, "b", SDP), leg2, None)
        assert endpoint.statuses() == [100, 180, 200]
        cancels = [t for t in endpoint.requests if t.request.method == "CANCEL"]
        assert [c.dest.host for c in cancels] == ["127.0.0.11"]
        # 101 answers too late: it is ACKed and hung up at once
        b2bua.on_response(reply(leg1, 200, "a", SDP), leg1, None)
        byes = [t for t in endpoint.requests if t.request.method == "BYE"]
        assert [b.dest.host for b in byes] == ["127.0.0.11"]
        answered = [e for e in endpoint_pbx.events if isinstance(e, events.CallAnswered)]
        assert [e.extension for e in answered] == ["102"]
        # the caller got the box's own address and port in its SDP
        assert b"c=IN IP4 127.0.0.1" in endpoint.responses[-1].body
        assert b"m=audio 30000 " in endpoint.responses[-1].body
    asyncio.run(scenario())


def test_all_phones_busy_gives_486_and_busy_reason():
    async def scenario():
        p = make_pbx()
        _, (leg1, leg2) = await ring_both(p)
        p.b2bua.on_response(reply(leg1, 486), leg1, None)
        p.b2bua.on_response(reply(leg2, 486), leg2, None)
        assert p.endpoint.statuses()[-1] == 486
        assert p.events[-1] == events.CallEnded(p.events[-1].call_id, events.BUSY,
                                                p.events[-1].at)
    asyncio.run(scenario())


def test_one_busy_one_unavailable_gives_480():
    async def scenario():
        p = make_pbx()
        _, (leg1, leg2) = await ring_both(p)
        p.b2bua.on_response(reply(leg1, 486), leg1, None)
        p.b2bua.on_response(reply(leg2, 408), leg2, None)
        assert p.endpoint.statuses()[-1] == 480
        assert p.events[-1].reason == events.NOBODY_AVAILABLE
    asyncio.run(scenario())


def test_invite_from_a_stranger_gets_403():
    async def scenario():
        p = make_pbx()
        request = invite(to="+48600000000")
        p.b2bua.on_request(request, Txn(request=request, owner=None),
                           Address("203.0.113.9", 5060))
        assert p.endpoint.statuses() == [403]
        assert p.events == []
    asyncio.run(scenario())


def test_extension_dialling_out_is_challenged_then_checked():
    async def scenario():
        p = make_pbx()
        phone = Address("127.0.0.11", 5060)
        request = parse_message((
            "INVITE sip:+48600000000@127.0.0.1 SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.11;branch=z9hG4bKout1\r\n"
            "From: <sip:101@127.0.0.1>;tag=o1\r\nTo: <sip:+48600000000@127.0.0.1>\r\n"
            "Call-ID: out-1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode())
        p.b2bua.on_request(request, Txn(request=request, owner=None), phone)
        challenge = p.endpoint.responses[-1]
        assert challenge.status == 407
        value = challenge.headers.get("Proxy-Authenticate")
        for password, expected in (("wrong-password", 403), ("secret-101-pw", 100)):
            auth = answer_challenge(value, method="INVITE", uri=request.uri, username="101",
                                    password=password, cnonce=password[:6])
            again = parse_message(request.to_bytes().replace(
                b"CSeq: 1 INVITE", b"CSeq: 2 INVITE\r\nProxy-Authorization: " + auth.encode())
                .replace(b"out-1", b"out-" + password[:3].encode()))
            p.b2bua.on_request(again, Txn(request=again, owner=None), phone)
            assert p.endpoint.responses[-1].status == expected
        assert any(isinstance(e, events.DialledOut) and e.number == "+48600000000"
                   for e in p.events)
    asyncio.run(scenario())



def test_public_address_is_announced_to_the_trunk_only():
    async def scenario():
        p = make_pbx()
        public = '[sip]\npublic_address = "198.51.100.20"\n[[trunk]]'
        p.b2bua.config = parse_config(CONFIG_TEXT.replace("[[trunk]]", public))
        request = invite()
        p.b2bua.on_request(request, Txn(request=request, owner=None), TRUNK)
        await settle()
        leg1, leg2 = [t for t in p.endpoint.requests if t.request.method == "INVITE"]
        assert b"c=IN IP4 127.0.0.1" in leg1.request.body          # to the desk phone: LAN
        assert "127.0.0.1" in leg1.request.headers.get("Contact")
        p.b2bua.on_response(reply(leg1, 200, "a", SDP), leg1, None)
        answer = p.endpoint.responses[-1]
        assert b"c=IN IP4 198.51.100.20" in answer.body                # to the trunk: public
        assert "198.51.100.20" in answer.headers.get("Contact")
    asyncio.run(scenario())


def test_cancel_waits_for_the_first_provisional_response():
    async def scenario():
        p = make_pbx()
        _, (leg1, leg2) = await ring_both(p)
        p.b2bua.on_response(reply(leg2, 200, "b", SDP), leg2, None)
        cancels = lambda: [t for t in p.endpoint.requests if t.request.method == "CANCEL"]
        assert cancels() == []                      # 101 has not said a word yet
        p.b2bua.on_response(reply(leg1, 100), leg1, None)
        assert [c.dest.host for c in cancels()] == ["127.0.0.11"]
    asyncio.run(scenario())


def test_early_media_of_a_183_reaches_the_caller_through_the_relay():
    async def scenario():
        p = make_pbx()
        _, (leg1, _) = await ring_both(p)
        p.b2bua.on_response(reply(leg1, 183, "a", SDP), leg1, None)
        progress = p.endpoint.responses[-1]
        assert progress.status == 183
        assert b"c=IN IP4 127.0.0.1" in progress.body and b"m=audio 30000 " in progress.body
    asyncio.run(scenario())


def test_caller_cancelling_while_the_relay_opens_gives_the_ports_back():
    async def scenario():
        p = make_pbx()
        gate, sessions = asyncio.Event(), []

        async def slow_open(key):
            await gate.wait()
            sessions.append(FakeSession())
            return sessions[-1]

        p.b2bua.media.open_session = slow_open
        request = invite()
        txn = Txn(request=request, owner=None)
        p.b2bua.on_request(request, txn, TRUNK)
        p.endpoint.cancels[request.call_id] = txn
        cancel = parse_message(request.to_bytes().replace(b"INVITE sip:", b"CANCEL sip:", 1)
                               .replace(b"CSeq: 1 INVITE", b"CSeq: 1 CANCEL"))
        p.b2bua.on_request(cancel, Txn(request=cancel, owner=None), TRUNK)
        assert p.endpoint.statuses()[-2:] == [200, 487]
        gate.set()
        await settle()
        assert sessions[0].closed
        assert not [t for t in p.endpoint.requests if t.request.method == "INVITE"]
    asyncio.run(scenario())
