"""The RTP relay: the only owner of the RTP sockets.

Why it looks like this:
- The box anchors audio. Each call gets a RelaySession with two legs, "a" (the caller side,
  usually the trunk) and "b" (the desk phone side). Each leg has its own RTP port (even) and
  RTCP port (RTP + 1) on the box; what arrives on one leg's socket is sent from the other
  leg's socket to the other party. The SDP each party sees names only the box
  (`sdp.rewrite_for_relay`), so a party's packets always arrive on its own leg's socket.
- Strict source (rtpengine's strict-source, issue 14.2): a leg accepts packets only from the
  IP addresses its party's signalling and SDP name (`set_remote(..., signalled_from=)`,
  `allow_source`); everything else is dropped and counted as spoofed, however long the party
  has been silent. Before SDP names the party nothing is accepted. Within those addresses
  latching is symmetric RTP (RFC 4961 practice): a phone behind NAT announces a port it cannot
  be reached on, its packets come from the one that works, so the first accepted packet fixes
  ("latches") the leg's remote address to its source. Another port of the same addresses may
  take over after RELATCH_AFTER seconds of silence (a NAT binding that changed), or at once
  when it is exactly the address the SDP announced. RTP and RTCP latch separately.
  A new address from SDP (re-INVITE) undoes the latch; the same address again keeps it.
- The relay never sends to an address the SDP should not name: loopback is refused unless
  the party itself is on loopback (sdp.refused_media_address); such a leg is sent nothing.
- Hot path: datagram_received runs 100 times a second per call. It checks only the first byte
  and the length, reads one clock, and sends with the other leg's transport; no logging, no
  parsing, no allocation beyond what asyncio does. Anything rare (latching) is a method call.
- Ports: PortAllocator is pure bookkeeping; it hands out free ports at random (a stranger
  cannot guess the next call's ports from this one's). MediaRelay binds, and tries the next pair when a
  port is taken by somebody else. A port goes back to the allocator only when its socket is
  really closed (connection_lost), so a freed port can always be bound again.
- Clock: time.monotonic() everywhere (last_activity, idle, relatching).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import random
import socket
import time
from dataclasses import dataclass
from typing import Callable

from firmware.pbx.sdp import refused_media_address

logger = logging.getLogger(__name__)

LEGS = ("a", "b")
RELATCH_AFTER = 2.0         # seconds of silence from the latched source before another may latch
IDLE_TIMEOUT = 120.0        # seconds without any packet before a session reports idle
RTP_MIN_LENGTH = 12         # fixed RTP header (RFC 3550 section 5.1)
RTCP_MIN_LENGTH = 8         # RTCP header and SSRC (an empty receiver report)
DSCP_EF = 46 << 2           # Expedited Forwarding: voice, for switches that honour it

Tap = Callable[[str, bytes], None]


class MediaError(Exception):
    """Root of the relay's own errors."""


class NoPortsLeft(MediaError, RuntimeError):
    """Every RTP port of the configured range is in use (or taken by another program)."""


class PortAllocator:
    """Even RTP ports from [low, high] (inclusive), each with port + 1 for RTCP.

    A free port is picked at random (rtpengine does the same): ports handed out in order let
    a stranger who saw one call's ports aim at the next call's before its parties send.
    `rng` is for tests; by default the OS's entropy (random.SystemRandom).
    """

    def __init__(self, low: int, high: int, *, rng: random.Random | None = None) -> None:
        if not 0 < low <= high <= 65535:
            raise ValueError(f"bad RTP port range {low}-{high}")
        first = low + (low % 2)
        self.ports = list(range(first, high, 2))    # port + 1 <= high for every one
        if not self.ports:
            raise ValueError(f"RTP port range {low}-{high} holds no even port with port + 1")
        self.low, self.high = low, high
        self._free = list(self.ports)               # unordered; swap-and-pop keeps it O(1)
        self._in_use: set[int] = set()
        self._rng = rng or random.SystemRandom()

    @property
    def capacity(self) -> int:
        return len(self.ports)

    @property
    def in_use(self) -> int:
        return len(self._in_use)

    def allocate(self) -> int:
        """A free even port picked at random; NoPortsLeft when there is none."""
        free = self._free
        if not free:
            count = len(self.ports)
            raise NoPortsLeft(f"all {count} RTP ports of {self.low}-{self.high} are in use")
        index = self._rng.randrange(len(free))
        free[index], free[-1] = free[-1], free[index]
        port = free.pop()
        self._in_use.add(port)
        return port

    def release(self, port: int) -> None:
        """Give `port` back. Releasing a port that is not handed out is a bug: ValueError."""
        if port not in self._in_use:
            raise ValueError(f"RTP port {port} is not allocated")
        self._in_use.remove(port)
        self._free.append(port)

    def __contains__(self, port: int) -> bool:
        return port in self._in_use


class _Channel(asyncio.DatagramProtocol):
    """One socket of one leg (RTP or RTCP): its latch, its counters, and the forwarding.

    `remote` is where this channel's party receives packets; `peer` is the same channel of the
    other leg, whose socket and remote a packet arriving here leaves by.
    """

    __slots__ = ("leg", "session", "min_length", "transport", "peer", "remote", "source",
                 "sdp_remote", "allowed", "hold", "last_rx", "packets_in", "bytes", "dropped",
                 "spoofed", "send_errors", "tap", "closed")

    def __init__(self, leg: str, session: RelaySession, min_length: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.leg = leg
        self.session = session
        self.min_length = min_length
        self.transport: asyncio.DatagramTransport | None = None
        self.peer: _Channel = self
        self.remote: tuple | None = None        # where packets for this party go
        self.source: tuple | None = None        # the latched source, None until latched
        self.sdp_remote: tuple | None = None    # the address the party's SDP gave
        self.allowed: frozenset[str] = frozenset()  # IPs the party's SDP and signalling name
        self.hold = False                       # party asked for no media (0.0.0.0 / port 0)
        self.last_rx = 0.0
        self.packets_in = 0                     # from this party, relayed to the other
        self.bytes = 0                          # their bytes
        self.dropped = 0                        # not relayed: junk, foreign source, nowhere to go
        self.spoofed = 0                        # of which from a source other than the latched one
        self.send_errors = 0
        self.tap: Tap | None = None
        self.closed: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple, _now=time.monotonic) -> None:
        size = len(data)
        if size < self.min_length or data[0] & 0xC0 != 0x80:
            self.dropped += 1
            return
        now = _now()
        if addr != self.source and not self._latch(addr, now):
            return
        self.last_rx = now
        peer = self.peer
        remote = peer.remote
        if remote is None:
            self.dropped += 1
            if self.tap is not None:     # the box itself is the other party (voicemail)
                self._call_tap(data)
            return
        peer.transport.sendto(data, remote)
        self.packets_in += 1
        self.bytes += size
        if self.tap is not None:
            self._call_tap(data)

    def _latch(self, addr: tuple, now: float) -> bool:
        if addr[0] not in self.allowed or (
                self.source is not None and now - self.last_rx < RELATCH_AFTER
                and addr[:2] != self.sdp_remote):
            self.dropped += 1
            self.spoofed += 1
            return False
        if self.source is not None:
            logger.info("%s leg %s: %s:%s silent, relatched to %s:%s", self.session.call_key,
                        self.leg, self.source[0], self.source[1], addr[0], addr[1])
        elif addr[:2] != self.sdp_remote:
            logger.debug("%s leg %s latched to %s:%s (SDP said %s)", self.session.call_key,
                         self.leg, addr[0], addr[1], self.sdp_remote)
        self.source = addr
        if not self.hold:
            self.remote = addr
        return True

    def _call_tap(self, data: bytes) -> None:
        try:
            self.tap(self.leg, data)  # type: ignore[misc]
        except Exception:
            # A broken recorder must not cost the call its audio, nor flood the log 50 times a
            # second: say it once and unhook it.
            logger.exception("%s: recording tap failed; tap removed", self.session.call_key)
            self.session.tap = None

    def error_received(self, exc: Exception) -> None:
        # ICMP unreachable and the like for a party that has gone; counted, not logged, since
        # it comes once per packet sent.
        self.send_errors += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    @property
    def packets_out(self) -> int:
        """Packets sent to this party: those the other party's channel relayed."""
        return self.peer.packets_in if self.peer is not self else 0

    def set_remote(self, address: tuple | None) -> None:
        if address == self.sdp_remote:
            return  # a re-INVITE repeating the same address keeps the latch
        self.sdp_remote = address
        self.source = None
        self.hold = address is None
        self.remote = address


class Leg:
    """One side of a session: its local port pair and the RTP/RTCP channels bound on them.

    The counters read here are RTP's; `leg.rtcp` has its own.
    """

    def __init__(self, name: str, local_port: int, rtp: _Channel, rtcp: _Channel) -> None:
        self.name = name
        self.local_port = local_port
        self.rtp = rtp
        self.rtcp = rtcp

    @property
    def remote(self) -> tuple | None:
        """Where this leg's party gets its RTP now (latched source, else the SDP address)."""
        return self.rtp.remote

    @property
    def latched(self) -> bool:
        return self.rtp.source is not None

    @property
    def packets_in(self) -> int:
        return self.rtp.packets_in

    @property
    def packets_out(self) -> int:
        return self.rtp.packets_out

    @property
    def bytes(self) -> int:
        return self.rtp.bytes

    @property
    def dropped(self) -> int:
        return self.rtp.dropped

    @property
    def spoofed(self) -> int:
        return self.rtp.spoofed

    def counters(self) -> dict[str, int]:
        rtp, rtcp = self.rtp, self.rtcp
        return {"packets_in": rtp.packets_in, "packets_out": rtp.packets_out,
                "bytes": rtp.bytes, "dropped": rtp.dropped, "spoofed": rtp.spoofed,
                "rtcp_in": rtcp.packets_in, "rtcp_out": rtcp.packets_out,
                "rtcp_dropped": rtcp.dropped}


class RelaySession:
    """The media of one call: legs "a" and "b", made by MediaRelay.open_session()."""

    def __init__(self, relay: MediaRelay, call_key: str, idle_timeout: float) -> None:
        self.relay = relay
        self.call_key = call_key
        self.idle_timeout = idle_timeout
        self.legs: dict[str, Leg] = {}
        self.opened_at = time.monotonic()
        self.closed = False
        self._tap: Tap | None = None
        self._signalled: dict[str, set[str]] = {}   # leg -> IPs its signalling came from
        # leg -> {payload type: "encoding/clock"} of the SDP that leg's party sent; replaced
        # (never changed in place) so a reader on another thread sees one whole version
        self.formats: dict[str, dict[str, str]] = {}

    @property
    def a(self) -> Leg:
        return self.legs["a"]

    @property
    def b(self) -> Leg:
        return self.legs["b"]

    def _channels(self) -> list[_Channel]:
        return [c for leg in self.legs.values() for c in (leg.rtp, leg.rtcp)]

    @property
    def tap(self) -> Tap | None:
        """Called as tap(leg, packet) with each RTP packet accepted on `leg`, header included
        (a recorder orders by sequence number and picks the decoder by payload type)."""
        return self._tap

    @tap.setter
    def tap(self, tap: Tap | None) -> None:
        self._tap = tap
        for leg in self.legs.values():
            leg.rtp.tap = tap

    def set_remote(self, leg: str, host: str, port: int, rtcp_port: int | None = None, *,
                   signalled_from: str | None = None) -> None:
        """Where `leg`'s party wants its audio, from the SDP it sent (see sdp.audio_endpoint).

        `host` must be an IP address (resolve names first: sendto must not block on DNS).
        "0.0.0.0" / "::" (RFC 2543 hold) or port 0 means: send nothing to this party.
        RTCP goes to `rtcp_port`, else port + 1. Latching may still move both, within the
        addresses this leg accepts: `host` and `signalled_from` (the IP the party's SIP
        messages came from, for a phone behind NAT; see allow_source).
        A loopback `host` from a party not on loopback is refused (logged, nothing sent).
        """
        if leg not in self.legs:
            raise ValueError(f"no leg {leg!r}: legs are {LEGS}")
        ip = ipaddress.ip_address(host)
        if not 0 <= port <= 65535 or (rtcp_port is not None and not 0 < rtcp_port <= 65535):
            raise ValueError(f"bad media port {port}/{rtcp_port}")
        if port and self.relay._is_own(ip, port):
            raise ValueError(f"{host}:{port} is the relay itself: packets would loop")
        if signalled_from is not None:
            self.allow_source(leg, signalled_from)
        channels = self.legs[leg]
        if ip.is_unspecified or port == 0:
            channels.rtp.set_remote(None)
            channels.rtcp.set_remote(None)
            return
        peers = self._signalled.get(leg) or {self.relay.host}
        refusal = refused_media_address(str(ip), peers)
        if refusal is not None:
            logger.warning("%s leg %s: SDP address %s refused (%s); sending nothing",
                           self.call_key, leg, ip, refusal)
            channels.rtp.set_remote(None)
            channels.rtcp.set_remote(None)
            return
        channels.rtp.set_remote((str(ip), port))
        channels.rtcp.set_remote((str(ip), rtcp_port or min(port + 1, 65535)))
        self._update_allowed(leg)

    def note_formats(self, leg: str, formats: dict[str, str]) -> None:
        """The payload types `leg`'s party named in its SDP (sdp.format_names): the relay
        never looks at them; the call's recorder decodes by them."""
        self.formats = {**self.formats, leg: dict(formats)}

    def allow_source(self, leg: str, host: str) -> None:
        """Also accept `leg`'s media from `host`: the address its signalling came from.

        A phone behind NAT names its private address in SDP but sends from the public one
        its SIP messages come from; strict source accepts both and no other.
        """
        if leg not in self.legs:
            raise ValueError(f"no leg {leg!r}: legs are {LEGS}")
        self._signalled.setdefault(leg, set()).add(str(ipaddress.ip_address(host)))
        self._update_allowed(leg)

    def _update_allowed(self, leg: str) -> None:
        channels = self.legs[leg]
        allowed = set(self._signalled.get(leg, ()))
        if channels.rtp.sdp_remote is not None:
            allowed.add(channels.rtp.sdp_remote[0])
        elif channels.rtp.allowed:
            allowed |= channels.rtp.allowed     # on hold: whoever was allowed still is
        if any(ipaddress.ip_address(host).is_loopback for host in allowed):
            # A party on loopback runs on the box itself; a socket it bound to the wildcard
            # sends from the box's own loopback address (baresip does), not from the one it
            # named. Only the box's own address: 127.0.0.66 stays a stranger.
            allowed.add(self.relay.host if self.relay._ip.is_loopback else "127.0.0.1")
        channels.rtp.allowed = channels.rtcp.allowed = frozenset(allowed)

    @property
    def last_activity(self) -> float:
        """time.monotonic() of the last packet accepted on any socket (or of the opening)."""
        return max([self.opened_at, *(c.last_rx for c in self._channels())])

    def idle(self, now: float | None = None) -> bool:
        """True when nothing came for idle_timeout seconds; the B2BUA decides what to do."""
        return (time.monotonic() if now is None else now) - self.last_activity > self.idle_timeout

    def stats(self) -> dict[str, dict[str, int]]:
        return {name: leg.counters() for name, leg in self.legs.items()}

    def close(self) -> None:
        """Stop relaying and close the sockets; ports return to the allocator once closed.

        Idempotent. `await wait_closed()` to know the ports are free.
        """
        if self.closed:
            return
        self.closed = True
        for channel in self._channels():
            if channel.transport is not None:
                channel.transport.close()
        self.relay._forget(self)

    async def wait_closed(self) -> None:
        await asyncio.gather(*(c.closed for c in self._channels()))


@dataclass(frozen=True)
class RelayStats:
    """Totals since the relay started (closed sessions included, except `sessions`)."""

    sessions: int
    packets_relayed: int
    bytes_relayed: int
    dropped: int


class MediaRelay:
    """Opens RelaySessions on `host`, with RTP ports from [low, high]."""

    def __init__(self, host: str, low: int, high: int, *,
                 loop: asyncio.AbstractEventLoop | None = None,
                 idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.host = host
        self._ip = ipaddress.ip_address(host)   # an address to bind, never a name
        self._family = socket.AF_INET6 if self._ip.version == 6 else socket.AF_INET
        self.allocator = PortAllocator(low, high)
        self.idle_timeout = idle_timeout
        self.sessions: dict[str, RelaySession] = {}
        self._loop = loop
        self._totals = [0, 0, 0]    # packets, bytes, dropped of closed sessions
        self._live: set[_Channel] = set()   # channels whose socket is not closed yet

    async def open_session(self, call_key: str) -> RelaySession:
        """Bind two port pairs and return the session; NoPortsLeft when the range is full."""
        if call_key in self.sessions:
            raise ValueError(f"a media session for {call_key!r} is already open")
        session = RelaySession(self, call_key, self.idle_timeout)
        try:
            for name in LEGS:
                session.legs[name] = await self._open_leg(name, session)
        except BaseException:
            self._release_half_open(session)
            raise
        a, b = session.legs["a"], session.legs["b"]
        a.rtp.peer, b.rtp.peer = b.rtp, a.rtp
        a.rtcp.peer, b.rtcp.peer = b.rtcp, a.rtcp
        self.sessions[call_key] = session
        logger.debug("%s: media on ports %d (a) and %d (b)", call_key, a.local_port, b.local_port)
        return session

    async def _open_leg(self, name: str, session: RelaySession) -> Leg:
        loop = self._loop or asyncio.get_running_loop()
        skipped: list[int] = []     # taken by someone else: kept out of the draw until done
        try:
            while True:
                try:
                    port = self.allocator.allocate()
                except NoPortsLeft:
                    if skipped:
                        raise NoPortsLeft(f"no RTP port pair in {self.allocator.low}-"
                                          f"{self.allocator.high} could be bound") from None
                    raise
                try:
                    rtp_sock = self._bind(port)
                    try:
                        rtcp_sock = self._bind(port + 1)
                    except BaseException:
                        rtp_sock.close()
                        raise
                except OSError as exc:
                    if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                        logger.warning("RTP port %d or %d is taken by someone else; next",
                                       port, port + 1)
                        skipped.append(port)
                        continue
                    self.allocator.release(port)
                    raise
                except BaseException:
                    self.allocator.release(port)
                    raise
                return await self._start_leg(name, session, loop, port, rtp_sock, rtcp_sock)
        finally:
            for port in skipped:
                self.allocator.release(port)

    async def _start_leg(self, name: str, session: RelaySession,
                         loop: asyncio.AbstractEventLoop, port: int,
                         rtp_sock: socket.socket, rtcp_sock: socket.socket) -> Leg:
        rtp = _Channel(name, session, RTP_MIN_LENGTH, loop)
        rtcp = _Channel(name, session, RTCP_MIN_LENGTH, loop)
        try:
            await loop.create_datagram_endpoint(lambda: rtp, sock=rtp_sock)
        except BaseException:
            rtp_sock.close()
            rtcp_sock.close()
            self.allocator.release(port)
            raise
        try:
            await loop.create_datagram_endpoint(lambda: rtcp, sock=rtcp_sock)
        except BaseException:
            rtcp_sock.close()
            rtp.transport.close()  # type: ignore[union-attr]
            raise
        finally:
            self._release_when_closed(port, rtp, rtcp)
        return Leg(name, port, rtp, rtcp)

    def _bind(self, port: int) -> socket.socket:
        sock = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            try:
                if self._family == socket.AF_INET:
                    sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, DSCP_EF)
                else:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, DSCP_EF)
            except OSError as exc:  # QoS marking is a nicety; say so and carry on without it
                logger.debug("cannot mark RTP socket DSCP EF: %s", exc)
            sock.bind((self.host, port))
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return sock

    def _release_when_closed(self, port: int, *channels: _Channel) -> None:
        """Give the port pair back once every socket on it is really closed."""
        live = [c for c in channels if c.transport is not None]
        if not live:
            self.allocator.release(port)
            return
        remaining = [len(live)]

        def done(future: asyncio.Future) -> None:
            remaining[0] -= 1
            if remaining[0] == 0:
                self.allocator.release(port)

        for channel in live:
            self._live.add(channel)
            channel.closed.add_done_callback(lambda _, c=channel: self._live.discard(c))
            channel.closed.add_done_callback(done)

    def _release_half_open(self, session: RelaySession) -> None:
        for channel in session._channels():
            if channel.transport is not None:
                channel.transport.close()

    def _forget(self, session: RelaySession) -> None:
        if self.sessions.get(session.call_key) is session:
            del self.sessions[session.call_key]
        for channel in session._channels():
            self._totals[0] += channel.packets_in
            self._totals[1] += channel.bytes
            self._totals[2] += channel.dropped

    def _is_own(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> bool:
        """Whether (ip, port) is one of this relay's sockets (a loop waiting to happen)."""
        if port not in self.allocator and port - 1 not in self.allocator:
            return False
        return ip == self._ip or (self._ip.is_unspecified and (ip.is_loopback or ip.is_unspecified))

    def stats(self) -> RelayStats:
        packets, size, dropped = self._totals
        for session in self.sessions.values():
            for channel in session._channels():
                packets += channel.packets_in
                size += channel.bytes
                dropped += channel.dropped
        return RelayStats(len(self.sessions), packets, size, dropped)

    def idle_sessions(self, now: float | None = None) -> list[RelaySession]:
        """Sessions with no packet for their idle_timeout, for the B2BUA to look into."""
        return [s for s in self.sessions.values() if s.idle(now)]

    async def close(self) -> None:
        """Close every session and wait until all their sockets are closed."""
        for session in list(self.sessions.values()):
            session.close()
        await asyncio.gather(*(channel.closed for channel in list(self._live)))

    async def __aenter__(self) -> MediaRelay:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
