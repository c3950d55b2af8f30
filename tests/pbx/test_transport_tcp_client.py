"""The transport connecting out over TCP to a trunk: connect, reuse, reconnect, refuse.

Two real SipTransports on loopback: the box's, and one standing in for the provider."""

import asyncio

from firmware.pbx.transport import Address, SipTransport
from tests.e2e.rig import free_port_block

OPTIONS = (b"OPTIONS sip:provider.example SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4"
           b"bK1\r\nCall-ID: {n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")


def message(n: int) -> bytes:
    return OPTIONS.replace(b"{n}", str(n).encode())


async def until(condition, timeout=3.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)


def test_connect_reuse_reconnect_and_refuse():
    async def run():
        base = free_port_block()
        got: list[tuple[bytes, Address]] = []
        provider = SipTransport("127.0.0.2", base + 1, lambda data, src: got.append((data, src)))
        box = SipTransport("127.0.0.1", base, lambda data, src: None)
        failures: list[tuple[Address, str]] = []
        box.on_failure.append(lambda dest, why: failures.append((dest, why)))
        dest = Address("127.0.0.2", base + 1, "TCP")
        await provider.start()
        await box.start()
        try:
            box.send(message(1), dest)           # nobody allowed: dropped, nothing opened
            await asyncio.sleep(0.05)
            assert got == [] and not box.is_connected(dest)
            box.may_connect = lambda address: address.host == "127.0.0.2"
            box.send(message(2), dest)           # opens the connection; waits for it
            box.send(message(3), dest)
            await until(lambda: len(got) == 2)
            assert [data for data, _ in got] == [message(2), message(3)]
            assert box.is_connected(dest) and len(provider.connections) == 1
            box.send(message(4), dest)           # reused
            await until(lambda: len(got) == 3)
            assert len({src for _, src in got}) == 1
            for connection in list(provider.connections.values()):
                connection.transport.close()     # the provider hangs up
            await until(lambda: failures)
            assert failures == [(dest, "connection closed")]
            box.send(message(5), dest)           # a new connection
            await until(lambda: len(got) == 4)
            assert got[3][1] != got[0][1]        # from another local port
            await provider.close()
            await until(lambda: len(failures) == 2)
            box.send(message(6), dest)           # nobody listens now
            await until(lambda: len(failures) == 3)
            assert failures[2][0] == dest and failures[2][1].startswith("cannot connect")
        finally:
            await box.close()
            await provider.close()

    asyncio.run(run())


def test_a_name_is_never_looked_up_on_the_event_loop():
    async def run():
        base = free_port_block()
        box = SipTransport("127.0.0.1", base, lambda data, src: None)
        failures = []
        box.on_failure.append(lambda dest, why: failures.append((dest, why)))
        await box.start()
        try:
            box.send(message(1), Address("sip.provider.invalid", 5060, "UDP"))
        finally:
            await box.close()
        assert failures == [(Address("sip.provider.invalid", 5060, "UDP"), "no address")]

    asyncio.run(run())
