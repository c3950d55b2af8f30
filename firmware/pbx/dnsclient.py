"""The box's own small DNS client: one question at a time over UDP (TCP when truncated),
answers cached by their TTL.

Why not the C library's getaddrinfo: it has no SRV, blocks the event loop, and its cache
(if any) is not ours to read. Why not dnspython: the box asks two kinds of question, and the
wire code for them (firmware/pbx/dnswire.py) is smaller than the glue to a resolver we
could not test from bytes. Nameservers come from /etc/resolv.conf unless `[dns] servers`
names others (tests point it at a dnsmasq on 127.0.0.x).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import struct
import time
from pathlib import Path
from typing import Callable, Sequence

from firmware.pbx import dnswire
from firmware.pbx.dnswire import DnsFormatError, Message
from firmware.pbx.locate import parse_resolv_conf

logger = logging.getLogger(__name__)

MIN_CACHE_SECONDS = 30       # a TTL of 0 must not make the box ask again for every message
MAX_CACHE_SECONDS = 3600
NEGATIVE_CACHE_SECONDS = 30  # "no such name" and "no such record" are remembered this long
MAX_TCP_ANSWER = 65535


class DnsError(Exception):
    """A look-up gave no usable answer (timeout, SERVFAIL, garbage); the text says which."""


class DnsClient:
    """Asks `servers` in turn; `lookup(name, qtype)` -> the answer Message (cached)."""

    def __init__(self, servers: Sequence[tuple[str, int]], *, timeout: float = 2.0,
                 attempts: int = 2, clock: Callable[[], float] = time.monotonic,
                 resolv_conf: Path | None = None) -> None:
        self.servers = list(servers)
        self.timeout = timeout
        self.attempts = attempts
        self.clock = clock
        self.resolv_conf = resolv_conf   # when set, followed: DHCP may rewrite it
        self._resolv_stamp: tuple[float, int] | None = None
        self._cache: dict[tuple[str, int], tuple[float, Message]] = {}

    @classmethod
    def from_system(cls, servers: Sequence[tuple[str, int]] = (), *, timeout: float = 2.0,
                    resolv_conf: Path = Path("/etc/resolv.conf")) -> "DnsClient":
        """The configured servers; else those of /etc/resolv.conf (read again whenever it
        changes), else 127.0.0.1."""
        if servers:
            return cls(servers, timeout=timeout)
        client = cls([], timeout=timeout, resolv_conf=resolv_conf)
        client.follow_resolv_conf()
        return client

    def follow_resolv_conf(self) -> None:
        """Take up the nameservers of `resolv_conf` when the file changed since last read."""
        if self.resolv_conf is None:
            return
        try:
            info = self.resolv_conf.stat()
            stamp = (info.st_mtime, info.st_size)
            if stamp == self._resolv_stamp:
                return
            servers = parse_resolv_conf(self.resolv_conf.read_text(errors="replace"))
        except OSError as exc:
            if self._resolv_stamp != (0.0, -1):
                logger.warning("dns: cannot read %s (%s); asking 127.0.0.1", self.resolv_conf,
                               exc)
            self._resolv_stamp = (0.0, -1)
            self.servers = [("127.0.0.1", 53)]
            return
        if self._resolv_stamp is not None and servers != self.servers:
            logger.info("dns: nameservers now %s (from %s)",
                        ", ".join(f"{h}:{p}" for h, p in servers) or "none", self.resolv_conf)
        self._resolv_stamp = stamp
        self.servers = servers or [("127.0.0.1", 53)]

    async def lookup(self, name: str, qtype: int) -> Message:
        """The answer to (name, qtype): NOERROR or NXDOMAIN; raises DnsError otherwise."""
        key = (dnswire.normalise(name), qtype)
        now = self.clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        self.follow_resolv_conf()
        message = await self._ask_all(key[0], qtype)
        self._cache[key] = (now + _cache_seconds(message), message)
        return message

    async def srv(self, name: str) -> list[tuple[dnswire.Srv, int]]:
        return (await self.lookup(name, dnswire.TYPE_SRV)).srv(name)

    async def addresses(self, name: str) -> list[tuple[str, int]]:
        return (await self.lookup(name, dnswire.TYPE_A)).addresses(name)

    async def _ask_all(self, name: str, qtype: int) -> Message:
        problems = []
        for _ in range(self.attempts):
            for server in self.servers:
                try:
                    message = await self._ask(server, name, qtype)
                except DnsError as exc:
                    problems.append(f"{server[0]}:{server[1]} {exc}")
                    continue
                if message.rcode in (dnswire.NOERROR, dnswire.NXDOMAIN):
                    return message
                problems.append(f"{server[0]}:{server[1]} answered {message.rcode_name}")
        raise DnsError("; ".join(dict.fromkeys(problems)) or "no nameserver configured")

    async def _ask(self, server: tuple[str, int], name: str, qtype: int) -> Message:
        query_id = secrets.randbelow(0x10000)
        try:
            payload = dnswire.build_query(query_id, name, qtype)
        except DnsFormatError as exc:
            raise DnsError(str(exc)) from None
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Message] = loop.create_future()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Reply(answer, query_id, name, qtype), remote_addr=server)
        except OSError as exc:
            raise DnsError(f"cannot send ({exc.strerror or exc})") from None
        try:
            transport.sendto(payload)
            message = await asyncio.wait_for(answer, self.timeout)
        except asyncio.TimeoutError:
            raise DnsError(f"no answer in {self.timeout:g} s") from None
        finally:
            transport.close()
        if message.truncated:
            return await self._ask_tcp(server, payload, query_id, name, qtype)
        return message

    async def _ask_tcp(self, server: tuple[str, int], payload: bytes, query_id: int,
                       name: str, qtype: int) -> Message:
        """The same question over TCP (RFC 7766), for an answer too big for a datagram."""
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*server),
                                                    self.timeout)
            writer.write(struct.pack("!H", len(payload)) + payload)
            size = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2),
                                                               self.timeout))[0]
            data = await asyncio.wait_for(reader.readexactly(size), self.timeout)
            message = dnswire.parse_message(data)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                DnsFormatError) as exc:
            raise DnsError(f"truncated answer, and over TCP: {exc or type(exc).__name__}") \
                from None
        finally:
            if writer is not None:
                writer.close()
        if not _answers(message, query_id, name, qtype):
            raise DnsError("TCP answer to another question")
        return message


class _Reply(asyncio.DatagramProtocol):
    """Waits for the one datagram that answers our question; ignores anything else."""

    def __init__(self, answer: asyncio.Future, query_id: int, name: str, qtype: int) -> None:
        self.answer, self.query_id, self.name, self.qtype = answer, query_id, name, qtype

    def datagram_received(self, data: bytes, addr) -> None:
        if self.answer.done():
            return
        try:
            message = dnswire.parse_message(data)
        except DnsFormatError as exc:
            logger.debug("dns: unreadable answer from %s: %s", addr, exc)
            return
        if _answers(message, self.query_id, self.name, self.qtype):
            self.answer.set_result(message)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():      # ICMP port unreachable: nobody serves DNS there
            self.answer.set_exception(DnsError(f"refused ({exc})"))


def _answers(message: Message, query_id: int, name: str, qtype: int) -> bool:
    return message.id == query_id and message.question == (dnswire.normalise(name), qtype)


def _cache_seconds(message: Message) -> float:
    if message.rcode != dnswire.NOERROR or not message.records:
        return NEGATIVE_CACHE_SECONDS
    ttl = min(record.ttl for record in message.records)
    return float(min(max(ttl, MIN_CACHE_SECONDS), MAX_CACHE_SECONDS))
