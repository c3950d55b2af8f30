"""Benchmark of call recording: KB per recorded minute, CPU per recorded call, store size.

- CPU: the relay process of bench_media, with 20 concurrent calls, once relaying only and
  once with every call recorded (the Recorder tapping each session, its worker thread
  decoding, mixing, encoding to Opus and writing Ogg pages to a temp folder, as in the box).
  Both parties send noise-like G.711 (silence would flatter the encoder). The cost of
  recording is the difference, per call: (CPU with - CPU without) / (calls * seconds), CPU
  from getrusage (user + system), never wall clock. RUNS pairs of runs, the median shown
  with the spread (the machine is shared). Beside it, by thread CPU time: the worker
  thread's own CPU plus what the relay's loop thread spent more with the tap on.
  Both runs of a pair pin the relay process to one CPU and the sender to another: on this
  2-vCPU VM the loop thread's own cost moves by up to 0.45% a call with where the scheduler
  puts it (any second busy thread does it: a GIL-free sha256 thread of 0.17% a call raised
  the loop by 0.40-0.47% unpinned, by nothing pinned), which is the VM's placement, not
  the recorder's work (docs/recordings.md). One unpinned pair is shown beside it.
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
import os
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
RUNS = 5
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
        cpu0, wall0, loop0 = bench_media._cpu(), time.perf_counter(), time.thread_time()
        worker0 = recorder.worker_cpu if recorder else 0.0
        await asyncio.sleep(seconds)
        cpu1, wall1, loop1 = bench_media._cpu(), time.perf_counter(), time.thread_time()
        result = {"cpu": cpu1 - cpu0, "wall": wall1 - wall0, "loop": loop1 - loop0,
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


def _cpus() -> list[int]:
    """Two CPUs for the relay and the sender, or [] where there are fewer (no pinning)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return []
    return cpus[:2] if len(cpus) >= 2 else []


def _pin(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})       # this process, and the threads it starts


def _relay_process(conn, calls, seconds, record, folder, cpu=None) -> None:
    _pin(cpu)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_relay_main(conn, calls, seconds, record, folder))


def _sender_process(conn, calls, duration, cpu=None) -> None:
    _pin(cpu)
    bench_media.PAYLOAD = _noise_payload()
    bench_media._sender_process(conn, calls, duration)


def measure(calls: int, seconds: float, record: bool, pinned: bool = True) -> dict:
    """One run; `pinned`: the relay on one CPU, the sender on another (see the docstring)."""
    relay_cpu, sender_cpu = (_cpus() or [None, None]) if pinned else (None, None)
    context = multiprocessing.get_context("spawn")
    relay_conn, relay_end = context.Pipe()
    sender_conn, sender_end = context.Pipe()
    with tempfile.TemporaryDirectory(prefix="bench-rec-") as folder:
        relay = context.Process(target=_relay_process,
                                args=(relay_end, calls, seconds, record, folder, relay_cpu),
                                daemon=True)
        sender = context.Process(target=_sender_process,
                                 args=(sender_end, calls, bench_media.WARMUP + seconds,
                                       sender_cpu),
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
    result["loop_pct_per_call"] = 100 * result["loop"] / (calls * result["wall"])
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


def _ten_minute_file(path: Path, seconds: int = 600) -> None:
    """A file as the recorder writes it (its codec, bitrate and frame length), of noise."""
    from firmware.recording import ogg, recorder
    from firmware.recording.mixer import FRAME
    from firmware.recording.opus import Encoder

    rng = random.Random(7)
    frames = [bytes(rng.getrandbits(8) for _ in range(FRAME * 4)) for _ in range(8)]
    encoder = Encoder(8000, 2, bitrate=recorder.BITRATE, complexity=recorder.COMPLEXITY,
                      separate=True, application=recorder.APPLICATION)
    pre_skip = encoder.lookahead * 6
    writer = ogg.OggWriter(3)
    per_page = max(1, int(recorder.PAGE_SECONDS * 8000 / FRAME))
    with open(path, "wb") as out:
        out.write(writer.headers(ogg.opus_head(2, pre_skip, 8000, separate=True),
                                 ogg.opus_tags("bench")))
        for index in range(seconds * 8000 // FRAME):
            writer.add(encoder.encode(frames[index % 8]), pre_skip + (index + 1) * FRAME * 6)
            if index % per_page == per_page - 1:
                out.write(writer.pages())
        out.write(writer.finish())


def playback_start() -> dict:
    """Chromium on the call page of a 10-minute recording: from play() to "playing", at the
    start and after a seek to 5:00 (a Range request into the file)."""
    import threading

    from argon2 import PasswordHasher

    from firmware.recording.service import Recordings
    from firmware.tracker.query import CallFilter
    from firmware.tracker.service import Tracker
    from firmware.webui.app import create_app, serve
    from firmware.webui.users import UserStore
    from playwright.sync_api import sync_playwright

    config = parse_config(CONFIG)
    with tempfile.TemporaryDirectory(prefix="bench-play-") as folder:
        data = Path(folder)
        tracker = Tracker(config, data)
        tracker.start()
        service = Recordings(config, data, lambda call_id: None)
        tracker.call_extras.append(service.decorate)
        now = time.time() - 700
        for event in (ev.CallOffered("b1", CAMPAIGN, "+48501234567", now),
                      ev.CallAnswered("b1", "101", now + 5),
                      ev.CallEnded("b1", ev.COMPLETED, now + 605)):
            tracker.submit(event)
        tracker.flush()
        _ten_minute_file(service.store.begin("b1", now, now + 5))
        service.store.end("b1", 600.0, 0)
        record = tracker.calls(CallFilter())[0]
        service.store.link(record["id"], now, now + 5)
        users = UserStore(data, hasher=PasswordHasher(time_cost=1, memory_cost=1024,
                                                      parallelism=1))
        users.set_password("owner", "owner-pass-1", "owner")
        app = create_app(config, tracker, users, secret_key="bench", recordings=service)
        server = serve(app, "127.0.0.1", 0)
        threading.Thread(target=server.run, daemon=True).start()
        url = f"http://127.0.0.1:{server.effective_port}"
        size = service.store.path(service.entry(record["id"])).stat().st_size
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=["--no-sandbox", "--disable-gpu",
                          "--autoplay-policy=no-user-gesture-required"])
                page = browser.new_page()
                page.goto(url + "/login")
                page.fill('input[name="user"]', "owner")
                page.fill('input[name="password"]', "owner-pass-1")
                page.click('button[type="submit"]')
                page.goto(url + f"/calls/{record['id']}")
                timing = page.evaluate("""async () => {
                    const audio = document.querySelector('#recording audio');
                    const playing = () => new Promise(r => audio.addEventListener(
                        'playing', r, {once: true}));
                    let t0 = performance.now();
                    let p = playing(); audio.play(); await p;
                    const first = performance.now() - t0;
                    audio.pause();
                    t0 = performance.now();
                    audio.currentTime = 300;
                    p = playing(); audio.play(); await p;
                    const seek = performance.now() - t0;
                    return [first, seek, audio.duration];
                }""")
                browser.close()
        finally:
            server.close()
            tracker.stop()
            service.store.close()
    return {"first": timing[0], "seek": timing[1], "duration": timing[2], "size": size}


def _spread(values: list[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}"


def run() -> list[dict]:
    pairs = []
    for _ in range(RUNS):                 # interleaved, so a busy spell hits both sides
        pairs.append((measure(CALLS, SECONDS, record=False),
                      measure(CALLS, SECONDS, record=True)))
    extras = [r["pct_core_per_call"] - p["pct_core_per_call"] for p, r in pairs]
    threads = [r["worker_pct_per_call"] + r["loop_pct_per_call"] - p["loop_pct_per_call"]
               for p, r in pairs]
    workers = [r["worker_pct_per_call"] for _, r in pairs]
    extra = statistics.median(extras)
    loose_plain = measure(CALLS, SECONDS, record=False, pinned=False)
    loose = measure(CALLS, SECONDS, record=True, pinned=False)
    loose_extra = loose["pct_core_per_call"] - loose_plain["pct_core_per_call"]
    loose_loop = loose["loop_pct_per_call"] - loose_plain["loop_pct_per_call"]
    pinning = "relay and sender pinned to two CPUs" if _cpus() else "one CPU: nothing pinned"
    plain, recorded = sorted(pairs, key=lambda pair: pair[1]["pct_core_per_call"] -
                             pair[0]["pct_core_per_call"])[len(pairs) // 2]
    recorded = {**recorded, "dropped": sum(r["dropped"] for _, r in pairs),
                "bytes": sum(r["bytes"] for _, r in pairs),
                "recorded_seconds": sum(r["recorded_seconds"] for _, r in pairs)}
    minutes = recorded["recorded_seconds"] / 60
    kb_per_minute = recorded["bytes"] / 1024 / minutes if minutes else float("inf")
    rows = [
        {"what": f"KB per recorded minute (stereo Opus, {CALLS} calls)",
         "measured": f"{kb_per_minute:.0f} KB",
         "target": "<= 240 KB",
         "note": f"{'ok' if kb_per_minute <= 240 else 'MISSES TARGET'}; noise-like G.711 "
                 f"both ways (the worst case for the encoder); Opus CELT 2 x 12 kbit/s, "
                 f"120 ms frames; "
                 f"{recorded['recorded_seconds']:.0f} s recorded, G.711 WAV is 960 KB/min"},
        {"what": f"CPU per recorded call ({CALLS} concurrent)",
         "measured": f"{extra:.3f}% of a core",
         "target": "<= 0.5% of a core",
         "note": f"{'ok' if extra <= 0.5 else 'MISSES TARGET'}; median of {RUNS} pairs "
                 f"(spread {_spread(extras)}): relay with recording "
                 f"{recorded['pct_core_per_call']:.3f}%/call minus relay alone "
                 f"{plain['pct_core_per_call']:.3f}%/call, getrusage; by thread CPU time "
                 f"(worker + the loop's extra) {statistics.median(threads):.3f}% "
                 f"({_spread(threads)}), the worker alone {statistics.median(workers):.3f}% "
                 f"({_spread(workers)}); {recorded['dropped']} packets dropped for the "
                 f"files; {SECONDS:.0f} s windows; {pinning}. One pair unpinned: "
                 f"{loose_extra:.3f}% (the loop thread {loose_loop:+.3f}%, the worker "
                 f"{loose['worker_pct_per_call']:.3f}%): the loop's cost moves with where "
                 f"the VM runs it, see docs/recordings.md"},
    ]
    try:
        play = playback_start()
    except (ImportError, OSError) as exc:
        rows.append({"what": "playback start, 10-minute call (chromium)", "measured": "skipped",
                     "target": "< 1 s", "note": f"{type(exc).__name__}: {exc}"})
    else:
        rows.append({
            "what": "playback start, 10-minute call (chromium)",
            "measured": f"{play['first']:.0f} ms",
            "target": "< 1 s",
            "note": f"{'ok' if play['first'] < 1000 else 'MISSES TARGET'}; play() to 'playing' "
                    f"on the call page; {play['size'] // 1024} KB file, "
                    f"{play['duration']:.0f} s long, served with Range. A seek to 5:00 then "
                    f"play: {play['seek']:.0f} ms (no target: Ogg has no index, chromium "
                    f"bisects the file with Range requests)"})
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
