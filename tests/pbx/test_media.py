"""The RTP relay with real UDP sockets on loopback: forwarding, latching, injection, ports."""

import asyncio
import logging
import random
import socket
import struct

import pytest

from firmware.pbx import media
from firmware.pbx.media import MediaRelay, NoPortsLeft, PortAllocator

RELAY = "127.0.0.1"
CALLER = "127.0.0.11"
PHONE = "127.0.0.2"
STRANGER = "127.0.0.3"


def rtp(seq: int, payload: bytes = b"\xd5" * 160, ssrc: int = 0x1234) -> bytes:
    """A G.711 A-law RTP packet: 12-byte header, 160-byte payload."""
    return struct.pack("!BBHII", 0x80, 8, seq, seq * 160, ssrc) + payload


async def until(condition, timeout: float = 2.0) -> None:
    """Wait for the relay to have handled what was sent (packets cross the loop, not a call)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.005)


def run(coro_fn):
    """Run an async test body with a deadline, so a lost packet fails instead of hanging."""
    return asyncio.run(asyncio.wait_for(coro_fn(), 10))


@pytest.fixture
def low():
    # Other suites may use ports at the same time; a random range and the relay's retry on
    # EADDRINUSE keep us out of each other's way.
    return random.randrange(20000, 30000, 2)


class Party(asyncio.DatagramProtocol):
    """A phone's (or a stranger's) UDP socket: send, and await what arrives."""

    def __init__(self) -> None:
        self.received: asyncio.Queue = asyncio.Queue()
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.received.put_nowait((data, addr))

    @property
    def address(self):
        return self.transport.get_extra_info("sockname")[:2]

    def send(self, data: bytes, port: int) -> None:
        self.transport.sendto(data, (RELAY, port))

    async def next(self, timeout: float = 2.0):
        return await asyncio.wait_for(self.received.get(), timeout)


class Parties:
    def __init__(self) -> None:
        self.opened: list[Party] = []

    async def open(self, host: str) -> Party:
        loop = asyncio.get_running_loop()
        _, party = await loop.create_datagram_endpoint(Party, local_addr=(host, 0))
        self.opened.append(party)
        return party

    def close(self) -> None:
        for party in self.opened:
            party.transport.close()


async def call(low, *, caller_sdp=None, phone_sdp=None):
    """A relay with one session whose parties' SDP addresses are right unless overridden."""
    relay = MediaRelay(RELAY, low, low + 99)
    parties = Parties()
    caller, phone = await parties.open(CALLER), await parties.open(PHONE)
    session = await relay.open_session("call-1")
    session.set_remote("a", *(caller_sdp or caller.address))
    session.set_remote("b", *(phone_sdp or phone.address))
    return relay, parties, session, caller, phone


def test_packets_cross_both_ways_unchanged(low):
    async def body():
        relay, parties, session, caller, phone = await call(low)
        try:
            for seq in range(3):
                caller.send(rtp(seq, bytes([seq]) * 160), session.a.local_port)
                data, source = await phone.next()
                assert data == rtp(seq, bytes([seq]) * 160)
                assert source == (RELAY, session.b.local_port)     # from the box's b leg
            phone.send(rtp(7, b"\x55" * 160, ssrc=9), session.b.local_port)
            data, source = await caller.next()
            assert data == rtp(7, b"\x55" * 160, ssrc=9)
            assert source == (RELAY, session.a.local_port)
            assert (session.a.packets_in, session.b.packets_out, session.a.bytes) == (3, 3, 3 * 172)
            assert (session.b.packets_in, session.a.packets_out) == (1, 1)
            assert relay.stats().packets_relayed == 4
            assert relay.stats().bytes_relayed == 4 * 172
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_rtcp_is_relayed_on_port_plus_one(low):
    async def body():
        relay, parties, session, caller, phone = await call(low)
        try:
            caller_rtcp, phone_rtcp = await parties.open(CALLER), await parties.open(PHONE)
            session.set_remote("b", *phone.address, rtcp_port=phone_rtcp.address[1])
            report = bytes([0x80, 201, 0, 1]) + b"\x00\x00\x12\x34"    # empty receiver report
            caller_rtcp.send(report, session.a.local_port + 1)
            assert await phone_rtcp.next() == (report, (RELAY, session.b.local_port + 1))
            assert session.a.rtcp.packets_in == 1 and session.a.packets_in == 0
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_latches_to_the_real_source_when_the_sdp_address_is_wrong(low):
    async def body():
        # The phone is behind NAT: its SDP names an address nobody can reach.
        relay, parties, session, caller, phone = await call(low, phone_sdp=(PHONE, 9))
        try:
            assert session.b.remote == (PHONE, 9) and not session.b.latched
            phone.send(rtp(1), session.b.local_port)
            assert (await caller.next())[0] == rtp(1)
            assert session.b.latched and session.b.remote == phone.address
            caller.send(rtp(2), session.a.local_port)
            assert (await phone.next())[0] == rtp(2)    # the reply goes where packets came from
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_injection_from_a_third_address_is_dropped_and_counted(low):
    async def body():
        relay, parties, session, caller, phone = await call(low)
        stranger = await parties.open(STRANGER)
        try:
            caller.send(rtp(1), session.a.local_port)
            assert (await phone.next())[0] == rtp(1)
            stranger.send(rtp(666, b"\x00" * 160), session.a.local_port)
            caller.send(rtp(2), session.a.local_port)
            assert (await phone.next())[0] == rtp(2)    # the injected packet never arrived
            assert session.a.dropped == 1 and session.a.spoofed == 1
            assert session.a.remote == caller.address
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_a_stranger_who_sends_first_is_never_relayed(low):
    """Issue 14.2: strict source; the stranger is neither heard nor latched to."""
    async def body():
        relay, parties, session, caller, phone = await call(low)
        stranger = await parties.open(STRANGER)
        try:
            stranger.send(rtp(666), session.a.local_port)
            stranger.send(rtp(666), session.b.local_port)
            caller.send(rtp(1), session.a.local_port)     # from the address its SDP gave
            assert (await phone.next())[0] == rtp(1)
            phone.send(rtp(2), session.b.local_port)
            assert (await caller.next())[0] == rtp(2)
            assert session.a.remote == caller.address and session.a.spoofed == 1
            assert session.b.remote == phone.address and session.b.spoofed == 1
            assert phone.received.empty() and caller.received.empty() \
                and stranger.received.empty()
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_a_stranger_never_takes_a_silent_leg_over(low, monkeypatch):
    monkeypatch.setattr(media, "RELATCH_AFTER", 0.05)

    async def body():
        relay, parties, session, caller, phone = await call(low)
        stranger = await parties.open(STRANGER)
        try:
            caller.send(rtp(1), session.a.local_port)
            await phone.next()
            await asyncio.sleep(0.15)                      # the caller is silent (on mute)
            for seq in range(5):
                stranger.send(rtp(600 + seq), session.a.local_port)
            phone.send(rtp(2), session.b.local_port)
            assert (await caller.next())[0] == rtp(2)      # the caller still gets the audio
            await until(lambda: session.a.spoofed == 5)
            assert phone.received.empty() and stranger.received.empty()
            assert session.a.remote == caller.address
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_nothing_is_accepted_before_sdp_names_the_party(low):
    async def body():
        relay = MediaRelay(RELAY, low, low + 99)
        parties = Parties()
        stranger, phone = await parties.open(STRANGER), await parties.open(PHONE)
        try:
            session = await relay.open_session("call-1")
            session.set_remote("b", *phone.address)
            stranger.send(rtp(1), session.a.local_port)
            await until(lambda: session.a.dropped == 1)
            assert phone.received.empty() and not session.a.latched
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_a_phone_behind_nat_is_accepted_from_its_signalling_address(low):
    """SDP names a private address; packets come from where its SIP came from."""
    async def body():
        relay, parties, session, caller, phone = await call(low)
        stranger = await parties.open(STRANGER)
        try:
            session.set_remote("b", "10.9.8.7", 4000, signalled_from=PHONE)
            phone.send(rtp(1), session.b.local_port)
            assert (await caller.next())[0] == rtp(1)
            assert session.b.remote == phone.address
            caller.send(rtp(2), session.a.local_port)
            assert (await phone.next())[0] == rtp(2)
            stranger.send(rtp(666), session.b.local_port)
            await until(lambda: session.b.spoofed == 1)
            assert caller.received.empty()
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_loopback_sdp_from_a_peer_not_on_loopback_gets_nothing(low):
    """Issue 14.17: the relay must not send to the box's own services."""
    async def body():
        relay, parties, session, caller, phone = await call(low)
        try:
            service = await parties.open("127.0.0.1")
            session.set_remote("b", *service.address, signalled_from="198.51.100.20")
            caller.send(rtp(1), session.a.local_port)
            await until(lambda: session.a.dropped == 1)
            assert service.received.empty() and session.b.remote is None
            session.set_remote("b", *phone.address, signalled_from=PHONE)   # loopback peer
            caller.send(rtp(2), session.a.local_port)
            assert (await phone.next())[0] == rtp(2)
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_relatches_after_the_latched_source_goes_silent(low, monkeypatch):
    monkeypatch.setattr(media, "RELATCH_AFTER", 0.1)

    async def body():
        relay, parties, session, caller, phone = await call(low)
        moved = await parties.open(CALLER)     # the caller's phone, after its NAT binding changed
        try:
            caller.send(rtp(1), session.a.local_port)
            await phone.next()
            await asyncio.sleep(0.2)
            moved.send(rtp(2), session.a.local_port)
            assert (await phone.next())[0] == rtp(2)
            assert session.a.remote == moved.address
            phone.send(rtp(3), session.b.local_port)
            assert (await moved.next())[0] == rtp(3)
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_junk_is_dropped_and_counted(low):
    async def body():
        relay, parties, session, caller, phone = await call(low)
        try:
            caller.send(b"hello", session.a.local_port)                    # too short
            caller.send(b"\x40" + rtp(1)[1:], session.a.local_port)        # RTP version 1
            caller.send(b"\x00" * 172, session.a.local_port)               # STUN-like, version 0
            caller.send(rtp(2), session.a.local_port)
            assert (await phone.next())[0] == rtp(2)
            assert session.a.dropped == 3 and session.a.packets_in == 1
            assert not phone.received.qsize()
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_nothing_is_sent_before_the_other_side_is_known_or_while_it_holds(low):
    async def body():
        relay = MediaRelay(RELAY, low, low + 99)
        parties = Parties()
        caller, phone = await parties.open(CALLER), await parties.open(PHONE)
        try:
            session = await relay.open_session("early")
            session.set_remote("a", *caller.address)
            caller.send(rtp(1), session.a.local_port)           # phone's SDP not in yet
            await until(lambda: session.a.dropped == 1)
            session.set_remote("b", "0.0.0.0", phone.address[1])   # old-style hold
            caller.send(rtp(2), session.a.local_port)
            await until(lambda: session.a.dropped == 2)
            session.set_remote("b", *phone.address)
            caller.send(rtp(3), session.a.local_port)
            assert (await phone.next())[0] == rtp(3)
            assert session.a.dropped == 2 and session.a.packets_in == 1
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_same_sdp_address_again_keeps_the_latch(low):
    async def body():
        relay, parties, session, caller, phone = await call(low, phone_sdp=(PHONE, 9))
        try:
            phone.send(rtp(1), session.b.local_port)
            await caller.next()
            session.set_remote("b", PHONE, 9)       # a re-INVITE refreshing the session
            assert session.b.remote == phone.address
            session.set_remote("b", PHONE, 11)      # the phone moved its media
            assert session.b.remote == (PHONE, 11) and not session.b.latched
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_tap_sees_every_rtp_packet_and_a_broken_tap_is_unhooked(low, caplog):
    async def body():
        relay, parties, session, caller, phone = await call(low)
        seen = []
        try:
            session.tap = lambda leg, packet: seen.append((leg, packet))
            caller.send(rtp(1), session.a.local_port)
            await phone.next()
            phone.send(rtp(2, ssrc=5), session.b.local_port)
            await caller.next()
            assert seen == [("a", rtp(1)), ("b", rtp(2, ssrc=5))]

            def broken(leg, packet):
                raise RuntimeError("disk full")
            session.tap = broken
            with caplog.at_level(logging.ERROR, logger="firmware.pbx.media"):
                for seq in (3, 4):
                    caller.send(rtp(seq), session.a.local_port)
                    assert (await phone.next())[0] == rtp(seq)    # audio goes on
            assert session.tap is None
            assert [r.message for r in caplog.records].count("call-1: recording tap failed; tap removed") == 1
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_close_frees_the_ports_and_is_idempotent(low):
    async def body():
        relay = MediaRelay(RELAY, low, low + 99)
        session = await relay.open_session("c")
        ports = [session.a.local_port, session.a.local_port + 1,
                 session.b.local_port, session.b.local_port + 1]
        assert relay.allocator.in_use == 2 and relay.stats().sessions == 1
        session.close()
        session.close()
        await session.wait_closed()
        assert relay.allocator.in_use == 0 and relay.sessions == {}
        for port in ports:                          # really free at the OS level
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((RELAY, port))
        again = await relay.open_session("c")       # and the same call key may come back
        assert again is relay.sessions["c"]
        await relay.close()
        await relay.close()
        assert relay.allocator.in_use == 0
    run(body)


def test_reopening_the_same_ports_works():
    async def body():
        low = random.randrange(30000, 40000, 2)
        relay = MediaRelay(RELAY, low, low + 3)     # exactly two port pairs: one session
        first = await relay.open_session("1")
        ports = (first.a.local_port, first.b.local_port)
        first.close()
        await first.wait_closed()
        second = await relay.open_session("2")
        assert sorted((second.a.local_port, second.b.local_port)) == sorted(ports)
        await relay.close()
    run(body)


def test_relay_runs_out_of_ports_and_gives_back_the_half_it_took():
    async def body():
        low = random.randrange(40000, 50000, 2)
        relay = MediaRelay(RELAY, low, low + 5)     # three pairs: one session and a half
        await relay.open_session("1")
        with pytest.raises(NoPortsLeft):
            await relay.open_session("2")
        await relay.close()
        assert relay.allocator.in_use == 0
    run(body)


def test_a_port_taken_by_another_program_is_skipped():
    async def body():
        low = random.randrange(50000, 60000, 2)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
            squatter.bind((RELAY, low + 1))         # the RTCP port of the first pair
            relay = MediaRelay(RELAY, low, low + 5)
            session = await relay.open_session("1")
            assert {session.a.local_port, session.b.local_port} == {low + 2, low + 4}
            assert relay.allocator.in_use == 2
            await relay.close()
    run(body)


def test_set_remote_refuses_names_and_the_relay_itself(low):
    async def body():
        relay = MediaRelay(RELAY, low, low + 99)
        session = await relay.open_session("c")
        try:
            with pytest.raises(ValueError):
                session.set_remote("a", "phone.example", 4000)
            with pytest.raises(ValueError, match="loop"):
                session.set_remote("a", RELAY, session.b.local_port)
            with pytest.raises(ValueError):
                session.set_remote("c", CALLER, 4000)
            with pytest.raises(ValueError, match="already open"):
                await relay.open_session("c")
        finally:
            await relay.close()
    run(body)


def test_idle_is_reported_not_acted_on(low):
    async def body():
        relay, parties, session, caller, phone = await call(low)
        try:
            opened = session.last_activity
            assert not session.idle()
            assert session.idle(now=opened + 121)
            caller.send(rtp(1), session.a.local_port)
            await phone.next()
            assert session.last_activity > opened
            assert relay.idle_sessions(now=session.last_activity + 121) == [session]
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_stats_keep_closed_sessions(low):
    async def body():
        relay, parties, session, caller, phone = await call(low)
        try:
            caller.send(rtp(1), session.a.local_port)
            await phone.next()
            session.close()
            stats = relay.stats()
            assert (stats.sessions, stats.packets_relayed, stats.bytes_relayed) == (0, 1, 172)
        finally:
            parties.close()
            await relay.close()
    run(body)


def test_allocator_hands_out_even_pairs_at_random():
    allocator = PortAllocator(10001, 10007, rng=random.Random(1))   # 10002, 10004, 10006
    assert allocator.capacity == 3
    ports = [allocator.allocate() for _ in range(3)]
    assert sorted(ports) == [10002, 10004, 10006]
    with pytest.raises(NoPortsLeft):
        allocator.allocate()
    allocator.release(10004)
    assert allocator.allocate() == 10004
    allocator.release(10006)
    with pytest.raises(ValueError):
        allocator.release(10006)                # twice is a bug
    assert isinstance(NoPortsLeft("x"), RuntimeError)


def test_ports_are_not_handed_out_in_order():
    """Issue 14.2: the next call's ports cannot be guessed from this one's."""
    allocator = PortAllocator(10000, 19999)
    ports = [allocator.allocate() for _ in range(20)]
    steps = {b - a for a, b in zip(ports, ports[1:])}
    assert steps != {2} and len(set(ports)) == 20
    assert all(p % 2 == 0 and 10000 <= p < 19999 for p in ports)


@pytest.mark.parametrize("low, high", [(10000, 10000), (0, 10), (10010, 10000), (65534, 65536)])
def test_allocator_refuses_useless_ranges(low, high):
    with pytest.raises(ValueError):
        PortAllocator(low, high)
