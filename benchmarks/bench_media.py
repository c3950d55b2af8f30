"""Benchmark of the RTP relay: CPU per relayed G.711 call.

For N concurrent calls, a sender process plays both parties of every call (two UDP sockets per
call, 50 packets/s each way, 12-byte RTP header + 160-byte payload, each socket at its own
phase in the 20 ms period, as unsynchronised phones would be) and drains what the relay sends
back. The relay runs in a process of its own and measures its own CPU (user + system, from
resource.getrusage) over a window after a warm-up. The figure printed is

    % of a core per call = relay CPU seconds / (N calls * window seconds) * 100

Loopback only. Note that on loopback the kernel work of delivering a datagram is charged to
the process that sends it, so the relay pays for delivering into the parties' sockets (as it
would pay a NIC driver) and the sender pays for delivering into the relay's.

    python benchmarks/bench_media.py [--calls 10 50] [--seconds 5]

The default run takes about 15 s (the brief allows 40).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import random
import resource
import selectors
import socket
import struct
import sys
import time

from benchmarks.table import format_table
from firmware.pbx.media import MediaRelay

logger = logging.getLogger("bench_media")

HOST = "127.0.0.1"
PACKETS_PER_SECOND = 50
PAYLOAD = b"\xd5" * 160             # 20 ms of G.711 A-law silence
WARMUP = 0.5                        # seconds of traffic before the relay starts measuring
TAIL = 0.3                          # seconds the relay stays up after measuring
PIPE_TIMEOUT = 15.0                 # no step of the handshake may take longer


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _relay_main(conn, calls: int, seconds: float) -> None:
    low = random.randrange(20000, 30000, 2)     # below the kernel's ephemeral ports
    async with MediaRelay(HOST, low, low + 8 * calls + 100) as relay:
        sessions = [await relay.open_session(f"bench-{i}") for i in range(calls)]
        conn.send([(s.a.local_port, s.b.local_port) for s in sessions])
        if not conn.poll(PIPE_TIMEOUT):
            raise TimeoutError("no party addresses from the parent")
        for session, (party_a, party_b) in zip(sessions, conn.recv()):
            session.set_remote("a", *party_a)
            session.set_remote("b", *party_b)
        conn.send("ready")
        await asyncio.sleep(WARMUP)
        cpu0, wall0, packets0 = _cpu(), time.perf_counter(), relay.stats().packets_relayed
        await asyncio.sleep(seconds)
        cpu1, wall1, stats = _cpu(), time.perf_counter(), relay.stats()
        conn.send({"cpu": cpu1 - cpu0, "wall": wall1 - wall0,
                   "packets": stats.packets_relayed - packets0, "dropped": stats.dropped})
        await asyncio.sleep(TAIL)   # relay the sender's last packets too (it stops after us)


def _relay_process(conn, calls: int, seconds: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_relay_main(conn, calls, seconds))


def _drain(selector: selectors.BaseSelector, buffer: bytearray) -> int:
    count = 0
    for key, _ in selector.select(0):
        while True:
            try:
                key.fileobj.recv_into(buffer)
            except BlockingIOError:
                break
            count += 1
    return count


def _sender_process(conn, calls: int, duration: float) -> None:
    """Both parties of every call: send on a schedule, drain whatever comes back."""
    socks = []
    for _ in range(2 * calls):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((HOST, 0))
        sock.setblocking(False)
        socks.append(sock)
    try:
        conn.send([sock.getsockname() for sock in socks])
        if not conn.poll(PIPE_TIMEOUT):
            raise TimeoutError("no relay ports from the parent")
        ports = conn.recv()
        destinations = [(HOST, ports[i // 2][i % 2]) for i in range(len(socks))]
        if not conn.poll(PIPE_TIMEOUT):
            raise TimeoutError("no go from the parent")
        conn.recv()

        selector = selectors.DefaultSelector()
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        period = 1.0 / PACKETS_PER_SECOND
        phases = sorted((random.random() * period, i) for i in range(len(socks)))
        start = time.perf_counter()
        sent = received = 0
        seq = 0
        buffer = bytearray(2048)
        while True:
            base = start + seq * period
            if base - start >= duration:
                time.sleep(0.05)    # the last packets' way back through the relay
                received += _drain(selector, buffer)
                break
            for phase, i in phases:
                delay = base + phase - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                header = struct.pack("!BBHII", 0x80, 8, seq & 0xFFFF, seq * 160, i)
                socks[i].sendto(header + PAYLOAD, destinations[i])
                sent += 1
            received += _drain(selector, buffer)
            seq += 1
        selector.close()
        conn.send({"sent": sent, "received": received})
    finally:
        for sock in socks:
            sock.close()


def _receive(conn, process, what: str):
    deadline = time.monotonic() + PIPE_TIMEOUT
    while not conn.poll(0.1):
        if not process.is_alive():
            raise RuntimeError(f"{what}: process {process.pid} died (exit code {process.exitcode})")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: nothing from process {process.pid}")
    return conn.recv()


def measure(calls: int, seconds: float) -> dict:
    """One run: N concurrent calls for `seconds` (plus warm-up); the relay's CPU per call."""
    context = multiprocessing.get_context("spawn")
    relay_conn, relay_end = context.Pipe()
    sender_conn, sender_end = context.Pipe()
    relay = context.Process(target=_relay_process, args=(relay_end, calls, seconds), daemon=True)
    sender = context.Process(target=_sender_process,
                             args=(sender_end, calls, WARMUP + seconds), daemon=True)
    relay.start()
    sender.start()
    try:
        ports = _receive(relay_conn, relay, "relay ports")
        parties = _receive(sender_conn, sender, "party addresses")
        relay_conn.send([(parties[2 * i], parties[2 * i + 1]) for i in range(calls)])
        sender_conn.send(ports)
        _receive(relay_conn, relay, "relay ready")
        sender_conn.send("go")
        result = _receive(relay_conn, relay, "relay result")
        traffic = _receive(sender_conn, sender, "sender result")
    finally:
        for process in (relay, sender):
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join()
        for conn in (relay_conn, relay_end, sender_conn, sender_end):
            conn.close()
    call_seconds = calls * result["wall"]
    expected = 2 * PACKETS_PER_SECOND * call_seconds
    return {
        "calls": calls,
        "seconds": round(result["wall"], 2),
        "packets_per_s": round(result["packets"] / result["wall"]),
        "expected_per_s": round(expected / result["wall"]),
        "relay_cpu_s": round(result["cpu"], 3),
        "pct_core_per_call": round(100 * result["cpu"] / call_seconds, 3),
        "pct_core_total": round(100 * result["cpu"] / result["wall"], 1),
        "us_per_packet": round(1e6 * result["cpu"] / max(result["packets"], 1), 1),
        "delivered": round(traffic["received"] / max(traffic["sent"], 1), 4),
        "dropped": result["dropped"],
    }


def run(calls_list=(10, 50), seconds=5) -> list[dict]:
    """Measure each N of calls_list in turn; one dict per N (see measure())."""
    return [measure(calls, seconds) for calls in calls_list]


COLUMNS = [("calls", "calls"), ("seconds", "window s"), ("packets_per_s", "pkt/s relayed"),
           ("expected_per_s", "pkt/s expected"), ("relay_cpu_s", "relay CPU s"),
           ("pct_core_per_call", "% core/call"), ("pct_core_total", "% core total"),
           ("us_per_packet", "us/packet"), ("delivered", "delivered")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    began = time.perf_counter()
    rows = run(args.calls, args.seconds)
    logger.info("%s", format_table(rows, COLUMNS))
    logger.info("target: <= 0.5%% of a core per call; whole run %.1f s",
                time.perf_counter() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
