"""Benchmark of start-up: time to the first answered SIP OPTIONS, and idle memory.

Starts `callbox run` (as tests/e2e/rig.py does) with a test config on free ports and a fresh
data folder, and from the moment before the process is spawned sends a SIP OPTIONS over UDP
every 20 ms until a 200 comes back: that is "start to first SIP answer" (a phone could
register from then on). The box then idles; 3 s after its first answer its resident memory
(VmRSS from /proc/<pid>/status) is read. Three runs; the medians are reported. One more start
with a year of 100k calls written into the data folder gives the same figures with history,
and when the box says "ready" (the history is loaded and the panel is up).

    python -m benchmarks.bench_startup [--runs 3]

Takes about 30 s.
"""

from __future__ import annotations

import argparse
import logging
import random
import secrets
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_register import box_problems, failed, row, verdict
from benchmarks.bench_store import history, write_history
from benchmarks.table import log_rows
from tests.e2e.rig import BoxProcess, box_config, free_port_block

logger = logging.getLogger("bench_startup")

WHAT_START = "start to first SIP answer"
WHAT_MEMORY = "idle memory (RSS 3 s after the first answer)"
TARGET_START = "<= 2 s"
TARGET_MEMORY = "<= 80 MB"
START_LIMIT_S, MEMORY_LIMIT_MB = 2.0, 80.0
POLL = 0.02           # seconds between OPTIONS
IDLE = 3.0            # seconds of idling before the memory is read
GIVE_UP = 20.0        # seconds without an answer: the box did not start
STORED = 100_000      # calls of history for the "with history" start
LOCAL_IP = "127.0.0.1"


def options(box_port: int, local_port: int, n: int) -> bytes:
    """One OPTIONS request (a new transaction each time)."""
    branch = f"z9hG4bK-bench-{secrets.token_hex(4)}-{n}"
    return (f"OPTIONS sip:127.0.0.1:{box_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {LOCAL_IP}:{local_port};branch={branch};rport\r\n"
            f"From: <sip:bench@{LOCAL_IP}>;tag=bench{n}\r\n"
            f"To: <sip:127.0.0.1:{box_port}>\r\n"
            f"Call-ID: bench-startup-{branch}\r\n"
            f"CSeq: {n + 1} OPTIONS\r\n"
            "Max-Forwards: 70\r\n"
            "Accept: application/sdp\r\n"
            "Content-Length: 0\r\n\r\n").encode()


def vm_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024      # kB
    raise RuntimeError(f"no VmRSS for process {pid}")


def measure_once(stored: int = 0) -> dict:
    """One start with `stored` calls of history; RuntimeError when the box never answers."""
    with tempfile.TemporaryDirectory(prefix="callbox-bench-startup-") as tmp:
        folder = Path(tmp)
        base = free_port_block()
        config = folder / "callbox.toml"
        config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200))
        if stored:
            write_history(folder / "data" / "calls", history(stored, random.Random(stored)))
        box = BoxProcess(config, folder / "data")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((LOCAL_IP, 0))
            sock.settimeout(POLL)
            local_port = sock.getsockname()[1]
            began = time.perf_counter()
            box.start(wait_ready=False)
            try:
                assert box.proc is not None
                answered = None
                n = 0
                while answered is None:
                    elapsed = time.perf_counter() - began
                    if elapsed > GIVE_UP or box.proc.poll() is not None:
                        raise RuntimeError(f"no answer to OPTIONS after {elapsed:.1f} s "
                                           f"(exit code {box.proc.poll()});\n{box_problems(box)}")
                    sock.sendto(options(base, local_port, n), (LOCAL_IP, base))
                    n += 1
                    deadline = time.perf_counter() + POLL
                    while time.perf_counter() < deadline:
                        try:
                            data = sock.recv(4096)
                        except (socket.timeout, ConnectionRefusedError):
                            # ICMP port unreachable (nobody listens yet) shows up as a refusal
                            time.sleep(max(0.0, deadline - time.perf_counter()))
                            break
                        if data.startswith(b"SIP/2.0 200"):
                            answered = time.perf_counter() - began
                            break
                box.wait_for("callbox: ready", timeout=GIVE_UP + 60)
                ready = time.perf_counter() - began
                time.sleep(IDLE)
                rss = vm_rss_mb(box.proc.pid)
            finally:
                box.stop()
    return {"start": answered, "ready": ready, "rss": rss, "options_sent": n}


def measure(runs: int = 3) -> list[dict]:
    return [measure_once() for _ in range(runs)]


def run(runs: int = 3, stored: int = STORED) -> list[dict]:
    """Rows for the `python -m benchmarks` table."""
    try:
        results = measure(runs)
        loaded = measure_once(stored)
    except (RuntimeError, AssertionError, OSError) as exc:
        logger.warning("startup: %s", exc)
        reason = str(exc).splitlines()[0]
        return [failed(WHAT_START, TARGET_START, reason),
                failed(WHAT_MEMORY, TARGET_MEMORY, reason)]
    starts = [r["start"] for r in results]
    memory = [r["rss"] for r in results]
    start, rss = statistics.median(starts), statistics.median(memory)
    return [
        row(WHAT_START, f"{start:.2f} s", TARGET_START,
            f"{verdict(start <= START_LIMIT_S)}; median of {runs} "
            f"({', '.join(f'{s:.2f}' for s in starts)} s); OPTIONS every "
            f"{POLL * 1000:.0f} ms from spawn; test config, empty data folder"),
        row(WHAT_MEMORY, f"{rss:.0f} MB", TARGET_MEMORY,
            f"{verdict(rss <= MEMORY_LIMIT_MB)}; median of {runs} "
            f"({', '.join(f'{m:.1f}' for m in memory)} MB VmRSS)"),
        row(f"with {stored // 1000}k calls stored: first SIP answer; history loaded",
            f"{loaded['start']:.2f} s; {loaded['ready']:.2f} s", TARGET_START + " (answer)",
            f"{verdict(loaded['start'] <= START_LIMIT_S)}; SIP answers while the history "
            "loads; the panel opens once it is loaded"),
        row(f"idle memory with {stored // 1000}k calls stored",
            f"{loaded['rss']:.0f} MB", TARGET_MEMORY,
            f"{verdict(loaded['rss'] <= MEMORY_LIMIT_MB)}; "
            f"{(loaded['rss'] - rss) * 1024 / stored * 1000:.0f} B per stored call over the "
            "empty box; a year of a very busy line (issue 21)"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    log_rows(logger, run(args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
