"""Benchmark of call recording: KB per recorded minute, CPU per recorded call, store size.

- CPU: the relay process of bench_media, with 20 concurrent calls, once relaying only and
  once with every call recorded (the Recorder tapping each session, its worker thread
  decoding, mixing, encoding to Opus and writing Ogg pages to a temp folder, as in the box).
  Both parties send noise-like G.711 (silence would flatter the encoder). The cost of
  recording is the difference, per call: (CPU with - CPU without) / (calls * seconds).
- Size: the files of that run, in KB per recorded minute.
- Store: opening the recordings index and recording one more call (begin, end, link: three
  fdatasync'd lines) with 1k / 10k / 100k recordings stored, and the retention plan over them.

    python -m benchmarks recording
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import bench_media
from firmware.config import parse_config
from firmware.pbx import events as ev
from firmware.pbx.media import MediaRelay

logger = logging.getLogger("bench_recording")

CALLS = 20
SECONDS = 8.0
CAMPAIGN = "+48221234567"
CONFIG = f"""
[box]
timezone = "UTC"
country = "PL"

[[campaign]]
name = "Recorded"
number = "{CAMPAIGN}"
record = true
"""


def _noise_payload() -> bytes:
    """G.711 A-law bytes of a loud, changing signal: what a talking person costs at most."""
    rng = random.Random(16)
    return bytes(rng.choice(range(0x20, 0x80)) ^ 0x55 for _ in range(160))


async def _relay_main(conn, calls: int, seconds: float, record: bool, folder: str) -> None:
    from firmware.recording.recorder import Recorder
    from firmware.recording.retention import DiskGuard
    from firmware.recording.store import RecordingStore

    low = random.randrange(20000, 30000, 2)
    recorder = store = None
    async with MediaRelay(bench_media.HOST, low, low + 8 * calls + 100) as relay:
        sessions = [await relay.open_session(f"{i:08x}bench") for i in range(calls)]
        if record:
            store = RecordingStore(Path(folder))
            recorder = Recorder(parse_config(CONFIG), store, relay.sessions.get,
                                guard=DiskGuard(Path(folder), free_bytes=lambda p: 1 << 40))
            recorder.start()
            now = time.time()
            for session in sessions:
                recorder.on_event(ev.CallOffered(session.call_key, CAMPAIGN, "+48501234567",
                                                 now))
                recorder.on_event(ev.CallAnswered(session.call_key, "101", now))
        conn.send([(s.a.local_port, s.b.local_port) for s in sessions])
        if not conn.poll(bench_media.PIPE_TIMEOUT):
            raise TimeoutError("no party addresses from the parent")
        for session, (party_a, party_b) in zip(sessions, conn.recv()):
            session.set_remote("a", *party_a)
            session.set_remote("b", *party_b)
        conn.send("ready")
        await asyncio.sleep(bench_media.WARMUP)
        cpu0, wall0 = bench_media._cpu(), time.perf_counter()
        worker0 = recorder.worker_cpu if recorder else 0.0
        await asyncio.sleep(seconds)
        cpu1, wall1 = bench_media._cpu(), time.perf_counter()
        result = {"cpu": cpu1 - cpu0, "wall": wall1 - wall0,
                  "worker": (recorder.worker_cpu if recorder else 0.0) - worker0}
        await asyncio.sleep(bench_media.TAIL)
        if recorder is not None:
            ended = time.time()
            for session in sessions:
                recorder.on_event(ev.CallEnded(session.call_key, ev.COMPLETED, ended))
            recorder.stop()
            entries = list(store.entries.values())
            result["bytes"] = sum(e.size for e in entries)
            result["recorded_seconds"] = sum(e.seconds or 0 for e in entries)
            result["dropped"] = sum(e.dropped_packets for e in entries)
            store.close()
        conn.send(result)


def _relay_process(conn, calls, seconds, record, folder) -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_relay_main(conn, calls, seconds, record, folder))


def _sender_process(conn, calls, duration) -> None:
    bench_media.PAYLOAD = _noise_payload()
    bench_media._sender_process(conn, calls, duration)


def measure(calls: int, seconds: float, record: bool) -> dict:
    context = multiprocessing.get_context("spawn")
    relay_conn, relay_end = context.Pipe()
    sender_conn, sender_end = context.Pipe()
    with tempfile.TemporaryDirectory(prefix="bench-rec-") as folder:
        relay = context.Process(target=_relay_process,
                                args=(relay_end, calls, seconds, record, folder), daemon=True)
        sender = context.Process(target=_sender_process,
                                 args=(sender_end, calls, bench_media.WARMUP + seconds),
                                 daemon=True)
        relay.start()
        sender.start()
        try:
            ports = bench_media._receive(relay_conn, relay, "relay ports")
            parties = bench_media._receive(sender_conn, sender, "party addresses")
            relay_conn.send([(parties[2 * i], parties[2 * i + 1]) for i in range(calls)])
            sender_conn.send(ports)
            bench_media._receive(relay_conn, relay, "relay ready")
            sender_conn.send("go")
            bench_media._receive(sender_conn, sender, "sender result")
            deadline = time.monotonic() + 30
            while not relay_conn.poll(0.2):
                if time.monotonic() > deadline or not relay.is_alive():
                    raise TimeoutError("no result from the relay")
            result = relay_conn.recv()
        finally:
            for process in (relay, sender):
                process.join(10)
                if process.is_alive():
                    process.terminate()
                    process.join()
            for conn in (relay_conn, relay_end, sender_conn, sender_end):
                conn.close()
    result["pct_core_per_call"] = 100 * result["cpu"] / (calls * result["wall"])
    result["worker_pct_per_call"] = 100 * result["worker"] / (calls * result["wall"])
    return result


def _store_figures(size: int) -> dict:
    from firmware.recording.retention import plan
    from firmware.recording.store import RecordingStore

    with tempfile.TemporaryDirectory(prefix="bench-recstore-") as folder:
        lines = []
        start = 1.7e9
        for index in range(size):
            call, at = f"{int(start + index * 60):x}{index % 4096:03x}", start + index * 60
            lines.append(json.dumps({"op": "begin", "call": call, "file": f"m/{call}.ogg",
                                     "at": at, "offered_at": at - 5, "answered_at": at,
                                     "extras": {"direction": "inbound",
                                                "party": f"+4850{index:07d}"}}))
            lines.append(json.dumps({"op": "end", "call": call, "seconds": 60.0,
                                     "size": 150_000}))
            lines.append(json.dumps({"op": "link", "call": call, "record": f"r{index}"}))
        (Path(folder) / "index.jsonl").write_text("\n".join(lines) + "\n")
        began = time.perf_counter()
        store = RecordingStore(Path(folder))
        load = time.perf_counter() - began
        times = []
        for index in range(20):
            began = time.perf_counter()
            at = start + (size + index) * 60
            store.begin(f"new{index}", at - 5, at)
            store.end(f"new{index}", 60.0, 150_000)
            store.link(f"n{index}", at - 5, at)
            times.append(time.perf_counter() - began)
        began = time.perf_counter()
        doomed = plan(store.oldest_first(), start + size * 60, 90, 2000)
        retention = time.perf_counter() - began
        store.close()
    return {"size": size, "load": load, "ms": 1000 * statistics.median(times),
            "retention": retention, "doomed": len(doomed)}


def run() -> list[dict]:
    plain = measure(CALLS, SECONDS, record=False)
    recorded = measure(CALLS, SECONDS, record=True)
    extra = recorded["pct_core_per_call"] - plain["pct_core_per_call"]
    minutes = recorded["recorded_seconds"] / 60
    kb_per_minute = recorded["bytes"] / 1024 / minutes if minutes else float("inf")
    rows = [
        {"what": f"KB per recorded minute (stereo Opus, {CALLS} calls)",
         "measured": f"{kb_per_minute:.0f} KB",
         "target": "<= 240 KB",
         "note": f"{'ok' if kb_per_minute <= 240 else 'MISSES TARGET'}; noise-like G.711 "
                 f"both ways (the worst case for the encoder); "
                 f"{recorded['recorded_seconds']:.0f} s recorded, G.711 WAV is 960 KB/min"},
        {"what": f"CPU per recorded call ({CALLS} concurrent)",
         "measured": f"{extra:.3f}% of a core",
         "target": "<= 0.5% of a core",
         "note": f"{'ok' if extra <= 0.5 else 'MISSES TARGET'}; relay with recording "
                 f"{recorded['pct_core_per_call']:.3f}%/call minus relay alone "
                 f"{plain['pct_core_per_call']:.3f}%/call (two runs: noisy on a busy "
                 f"machine); the recorder's worker thread alone "
                 f"{recorded['worker_pct_per_call']:.3f}%/call; {recorded['dropped']} "
                 f"packets dropped for the files; {SECONDS:.0f} s window"},
    ]
    for size in (1_000, 10_000, 100_000):
        figures = _store_figures(size)
        rows.append({
            "what": f"recording one more call ({size:,} recordings stored)",
            "measured": f"{figures['ms']:.2f} ms",
            "target": "cost flat",
            "note": f"begin + end + link (3 fdatasync'd index lines), median of 20; index "
                    f"load at start {figures['load']:.2f} s; retention plan "
                    f"{1000 * figures['retention']:.0f} ms"})
    return rows


if __name__ == "__main__":
    from benchmarks.table import log_rows

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log_rows(logger, run())
