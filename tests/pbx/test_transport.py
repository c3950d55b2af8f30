"""Issue 14.10: TCP slots per source address, real sockets on loopback."""

import asyncio
import socket

from firmware.pbx import transport as transport_module
from firmware.pbx.transport import SipTransport
from tests.e2e.rig import free_port_block

OPTIONS = (b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.11;branch=z9hG4bK1\r\n"
           b"From: <sip:a@b>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n"
           b"Content-Length: 0\r\n\r\n")


async def _closed_by_peer(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), 0.5) == b""
    except asyncio.TimeoutError:
        return False


def test_one_host_cannot_take_every_slot_and_a_banned_host_gets_none(monkeypatch):
    monkeypatch.setattr(transport_module, "MAX_TCP_PER_ADDRESS", 4)

    async def body():
        received = []
        port = free_port_block(1)
        sip = SipTransport("127.0.0.1", port, lambda data, source: received.append(source))
        sip.banned = lambda host: host == "127.0.0.99"
        await sip.start()
        opened = []
        try:
            for _ in range(6):
                opened.append(await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=("127.0.0.66", 0)))
            closed = [await _closed_by_peer(reader) for reader, _ in opened]
            assert closed == [False] * 4 + [True] * 2
            assert sip.per_host == {"127.0.0.66": 4}
            reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                           local_addr=("127.0.0.11", 0))
            opened.append((reader, writer))
            writer.write(OPTIONS)
            await writer.drain()
            for _ in range(100):
                if received:
                    break
                await asyncio.sleep(0.01)
            assert [s.host for s in received] == ["127.0.0.11"]
            banned = await asyncio.open_connection("127.0.0.1", port,
                                                   local_addr=("127.0.0.99", 0))
            opened.append(banned)
            assert await _closed_by_peer(banned[0])
            opened[0][1].close()                      # a slot freed is a slot again
            await asyncio.sleep(0.1)
            again = await asyncio.open_connection("127.0.0.1", port,
                                                  local_addr=("127.0.0.66", 0))
            opened.append(again)
            assert not await _closed_by_peer(again[0])
        finally:
            for _, writer in opened:
                writer.close()
            await sip.close()
        assert sip.per_host == {} or all(v > 0 for v in sip.per_host.values())

    asyncio.run(asyncio.wait_for(body(), 20))


def test_the_largest_udp_datagram_arrives_whole():
    """The receive buffer is cut from asyncio's 256 KB to 64 KB (no mmap per datagram): a
    datagram of the largest size IPv4 carries (65,507 bytes) still arrives in one piece."""
    async def body():
        received = []
        port = free_port_block(1)
        sip = SipTransport("127.0.0.1", port, lambda data, source: received.append(data))
        await sip.start()
        try:
            big = OPTIONS + b"x" * (65507 - len(OPTIONS))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                sender.sendto(big, ("127.0.0.1", port))
                sender.sendto(OPTIONS, ("127.0.0.1", port))
            for _ in range(100):
                if len(received) == 2:
                    break
                await asyncio.sleep(0.01)
            assert received == [big, OPTIONS]
        finally:
            await sip.close()

    asyncio.run(asyncio.wait_for(body(), 20))
