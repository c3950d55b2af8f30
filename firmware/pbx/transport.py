"""The only owner of the SIP sockets: UDP and TCP on `sip.listen`, bytes in, bytes out.

Everything above this module sees `Packet(data, source, transport)` and calls `send()`; no
other module opens a SIP socket. TCP framing uses the pure `frame_stream`; a peer that sends
junk, too much, or nothing at all is cut off without holding up anyone else (each connection
is its own asyncio protocol, and an idle one is closed after IDLE_TIMEOUT).
TCP slots are capped in total (MAX_TCP_CONNECTIONS) and per source address
(MAX_TCP_PER_ADDRESS, issue 14.10): one host cannot take every slot and lock the phones
out, and a banned host (`banned(host)`, the defences) gets none at all.

The box also connects out over TCP, to its trunks only (`may_connect`): the first message
to a trunk opens the connection (messages wait for it), later ones reuse it, and after it
closed the next message opens a new one. A connection that cannot be opened, or one that
closes, is told to `on_failure` listeners (the trunk registration fails over on it).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
from dataclasses import dataclass
from typing import Callable

from firmware.pbx.sip.errors import SipParseError
from firmware.pbx.sip.message import frame_stream

logger = logging.getLogger(__name__)

MAX_DATAGRAM = 65535
MAX_TCP_BUFFER = 256 * 1024
IDLE_TIMEOUT = 600.0       # seconds a TCP connection may stay silent (phones keep-alive each 30-120 s)
MAX_TCP_CONNECTIONS = 512
MAX_TCP_PER_ADDRESS = 32   # an office NAT with its phones; never the whole table
CONNECT_TIMEOUT = 5.0      # seconds to open a TCP connection to a trunk
MAX_PENDING = 64           # messages waiting for one connection to open


@dataclass(frozen=True)
class Address:
    """Where a message came from or goes to: host, port and transport ("UDP"/"TCP")."""

    host: str
    port: int
    transport: str = "UDP"

    def __str__(self) -> str:
        return f"{self.transport.lower()}:{self.host}:{self.port}"


Receiver = Callable[[bytes, Address], None]


@functools.lru_cache(maxsize=4096)
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: "SipTransport") -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.owner.deliver(data, Address(addr[0], addr[1], "UDP"))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the peer is gone; transactions time out by themselves.
        logger.debug("udp error: %s", exc)


class _TcpConnection(asyncio.Protocol):
    def __init__(self, owner: "SipTransport") -> None:
        self.owner = owner
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.address: Address | None = None
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.address = Address(peer[0], peer[1], "TCP")
        owner = self.owner
        host = self.address.host
        if owner.banned(host):
            transport.close()               # silently, as the defences drop its datagrams
            return
        if len(owner.connections) >= MAX_TCP_CONNECTIONS:
            logger.warning("tcp: too many connections, refusing %s", self.address)
            transport.close()
            return
        if owner.per_host.get(host, 0) >= MAX_TCP_PER_ADDRESS:
            if host not in owner.warned_hosts:
                owner.warned_hosts.add(host)
                logger.warning("tcp: %s has %d connections already, refusing more", host,
                               MAX_TCP_PER_ADDRESS)
            transport.close()
            return
        owner.connections[self.address] = self
        owner.per_host[host] = owner.per_host.get(host, 0) + 1
        self._touch()

    def _touch(self) -> None:
        if self.idle:
            self.idle.cancel()
        loop = asyncio.get_running_loop()
        self.idle = loop.call_later(IDLE_TIMEOUT, self._close, "idle")

    def _close(self, why: str) -> None:
        logger.info("tcp: closing %s (%s)", self.address, why)
        if self.transport:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self._touch()
        self.buffer += data
        if len(self.buffer) > MAX_TCP_BUFFER:
            self._close("message too large")
            return
        while True:
            try:
                message = frame_stream(self.buffer)
            except SipParseError as exc:
                self._close(f"bad framing: {exc.reason}")
                return
            if message is None:
                return
            assert self.address is not None
            self.owner.deliver(message, self.address)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle:
            self.idle.cancel()
        if self.address is not None and self.owner.connections.get(self.address) is self:
            del self.owner.connections[self.address]
            host = self.address.host
            left = self.owner.per_host.get(host, 1) - 1
            if left > 0:
                self.owner.per_host[host] = left
            else:
                self.owner.per_host.pop(host, None)
                self.owner.warned_hosts.discard(host)
            self.owner.failed(self.address, f"connection closed ({exc})" if exc
                              else "connection closed")

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self._touch()       # our own keep-alives count as traffic on a connection we opened
        self.transport.write(data)


class SipTransport:
    """UDP and TCP listeners on one address; `receiver(data, source)` gets every message."""

    def __init__(self, host: str, port: int, receiver: Receiver, *,
                 banned: Callable[[str], bool] = lambda host: False) -> None:
        self.host = host
        self.port = port
        self.receiver = receiver
        self.connections: dict[Address, _TcpConnection] = {}
        self.per_host: dict[str, int] = {}      # open TCP connections per source host
        self.warned_hosts: set[str] = set()     # hosts told about once while at their cap
        # Whether a host is banned now (box.py hands in the defences' answer).
        self.banned = banned
        self.may_connect: Callable[[Address], bool] = lambda dest: False
        self.on_failure: list[Callable[[Address, str], None]] = []
        self._pending: dict[Address, list[bytes]] = {}
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self), local_addr=(self.host, self.port), reuse_port=False)
        # asyncio reads each datagram into a fresh 256 KB buffer; above the box's fixed mmap
        # threshold (tracker/memory.py) that is an mmap and a munmap for every datagram. No
        # UDP datagram is larger than 64 KB, and a 64 KB buffer comes from the heap.
        self._udp.max_size = MAX_DATAGRAM
        self._tcp = await loop.create_server(lambda: _TcpConnection(self), self.host, self.port,
                                             reuse_address=True)
        logger.info("sip: listening on %s:%d (UDP and TCP)", self.host, self.port)

    def deliver(self, data: bytes, source: Address) -> None:
        try:
            self.receiver(data, source)
        except Exception:  # a bug on one message must not stop the box answering the next
            logger.exception("sip: failed to handle a message from %s", source)

    def send(self, data: bytes, dest: Address) -> None:
        """Send one message; over TCP on the open connection to `dest`, else (to a trunk
        only: phones connect to us) on a new one once it is open."""
        if dest.transport == "TCP":
            connection = self.connections.get(dest)
            if connection is not None and connection.transport is not None \
                    and not connection.transport.is_closing():
                connection.write(data)
            elif dest in self._pending:
                if len(self._pending[dest]) < MAX_PENDING:
                    self._pending[dest].append(data)
            elif self.may_connect(dest) and _is_ip(dest.host):
                self._pending[dest] = [data]
                asyncio.get_running_loop().create_task(self._connect(dest))
            else:
                logger.warning("sip: no TCP connection to %s, dropping %d bytes", dest, len(data))
            return
        if not _is_ip(dest.host):     # sendto() would look the name up, blocking the loop
            logger.warning("sip: %s is not an address (not looked up yet?), dropping %d bytes",
                           dest, len(data))
            self.failed(dest, "no address")
            return
        if self._udp is not None:
            self._udp.sendto(data, (dest.host, dest.port))

    def is_connected(self, dest: Address) -> bool:
        connection = self.connections.get(dest)
        return connection is not None and connection.transport is not None \
            and not connection.transport.is_closing()

    async def _connect(self, dest: Address) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.create_connection(
                lambda: _TcpConnection(self), dest.host, dest.port), CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as exc:
            dropped = self._pending.pop(dest, [])
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
                f"no answer in {CONNECT_TIMEOUT:g} s"
            logger.warning("sip: cannot connect to %s (%s); %d message(s) dropped", dest, why,
                           len(dropped))
            self.failed(dest, f"cannot connect: {why}")
            return
        logger.info("sip: connected to %s", dest)
        connection = self.connections.get(dest)
        for data in self._pending.pop(dest, []):
            if connection is not None and connection.transport is not None:
                connection.write(data)

    def failed(self, dest: Address, why: str) -> None:
        for listener in list(self.on_failure):
            try:
                listener(dest, why)
            except Exception:   # one listener's bug must not keep the others from hearing
                logger.exception("sip: a transport failure listener failed")

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            for connection in list(self.connections.values()):
                if connection.transport:
                    connection.transport.close()
            await self._tcp.wait_closed()
