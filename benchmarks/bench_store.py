"""Benchmark of the call store: does recording a call stay flat as the history grows?

For 1k, 10k and 100k calls already stored (a year of history, written straight into the
month journals), start a Tracker on that folder and record calls one by one through the real
path (submit events, flush: the writer thread builds the record and fsyncs one line). Prints
ms per recorded call, bytes written per call, the start-up (load) time, and the time of
Tracker.summary() over the whole year (the /api/summary work).

    python benchmarks/bench_store.py [--dir DIR] [--calls 200] [--tinydb]

--dir puts the data on a given disk (fsync costs differ a lot between tmpfs, SSD and SD cards).
--tinydb adds, for comparison, TinyDB as shipped (JSONStorage) inserting into 1k and 10k.
Runs in well under a minute.
"""

from __future__ import annotations

import argparse
import gc
import logging
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gpiozero.pins.mock import MockFactory

from firmware.config import parse_config
from firmware.pbx import events as ev
from firmware.tracker import journal
from firmware.tracker.index import base36
from firmware.tracker.query import CallFilter
from firmware.tracker.service import Tracker
from firmware.tracker.store import file_name, month_of

CONFIG = """
[box]
timezone = "Europe/Warsaw"
country = "PL"
[[extension]]
number = "101"
password = "bench-101-pw"
[[extension]]
number = "102"
password = "bench-102-pw"
""" + "".join(f"""
[[campaign]]
name = "Campaign {n}"
number = "+4822123450{n}"
source = "Source {n % 4}"
lead_value = {100 * (n + 1)}
ring = ["101", "102"]
""" for n in range(8)) + """
[hw]
callback_led = 17
"""

YEAR_START = datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Warsaw")).timestamp()
YEAR_SECONDS = 366 * 86400
LINE_TYPES = ["mobile"] * 6 + ["fixed_line"] * 3 + ["voip"]


def history(count: int, rng: random.Random) -> list[dict]:
    """`count` plausible records over 2024 (as build_record makes them), in start order."""
    starts = sorted(YEAR_START + rng.random() * YEAR_SECONDS for _ in range(count))
    callers = [f"+48{rng.randrange(500_000_000, 899_999_999)}" for _ in range(max(count // 3, 1))]
    records = []
    for n, start in enumerate(starts):
        campaign = rng.randrange(8)
        answered = rng.random() < 0.8
        wait = rng.uniform(2, 25)
        talk = rng.uniform(10, 400) if answered else 0.0
        records.append({
            "id": base36(int(start * 1000), 9) + base36(n % 1296, 2),
            "direction": "inbound", "caller": rng.choice(callers),
            "callee": f"+4822123450{campaign}", "campaign": f"Campaign {campaign}",
            "source": f"Source {campaign % 4}", "trunk": "provider", "extension": "",
            "offered_at": start, "answered_at": start + wait if answered else None,
            "ended_at": start + wait + talk, "wait_seconds": round(wait, 3),
            "talk_seconds": round(talk, 3), "status": "answered" if answered else "missed",
            "missed_reason": None if answered else "caller_hangup",
            "end_reason": "completed" if answered else "caller_hangup",
            "answered_by": rng.choice(["101", "102"]) if answered else None,
            "rang": ["101", "102"], "line_type": rng.choice(LINE_TYPES),
            "lead_value": 100.0 * (campaign + 1), "target": answered and talk >= 30,
            "first_time": rng.random() < 0.4, "wrapup": None, "callback": None,
            "value": 100.0 * (campaign + 1) if answered else 0.0,
        })
    return records


def write_history(folder: Path, records: list[dict]) -> None:
    """Write records straight into the month journals (what years of recording would leave)."""
    folder.mkdir(parents=True)
    by_month: dict[str, list[bytes]] = {}
    for record in records:
        by_month.setdefault(month_of(record["offered_at"]), []).append(journal.encode(record))
    for month, lines in by_month.items():
        (folder / file_name(month)).write_bytes(b"".join(lines))


def record_calls(tracker: Tracker, count: int, start: float) -> list[float]:
    """Record `count` calls one at a time; seconds each took until durable."""
    times = []
    for n in range(count):
        at = start + n * 600
        call_id = f"bench{n}"
        caller = f"+4850{n:07d}"
        events = [ev.CallOffered(call_id, "+48221234503", caller, at, "provider"),
                  ev.CallRinging(call_id, "101", at + 1)]
        if n % 5:
            events += [ev.CallAnswered(call_id, "101", at + 6),
                       ev.CallEnded(call_id, ev.COMPLETED, at + 126)]
        else:
            events.append(ev.CallEnded(call_id, ev.CALLER_HANGUP, at + 20))
        begin = time.perf_counter()
        for event in events:
            tracker.submit(event)
        tracker.flush()
        times.append(time.perf_counter() - begin)
    return times


def measure(size: int, calls: int, base: Path, config) -> dict:
    """One size: record `calls` calls with `size` already stored; see the module docstring."""
    folder = base / f"h{size}"
    write_history(folder / "calls", history(size, random.Random(size)))
    begin = time.perf_counter()
    tracker = Tracker(config, folder, pin_factory=MockFactory())
    tracker.start()
    load = time.perf_counter() - begin
    gc.collect()
    gc.freeze()             # as the box does once its history is loaded (firmware/box.py)
    try:
        store, in_progress = tracker._store, tracker._in_progress
        written, noted = store.bytes_written, in_progress.bytes_written
        times = record_calls(tracker, calls, YEAR_START + YEAR_SECONDS + 86400)
        per_call_bytes = (store.bytes_written - written) / calls
        in_progress_bytes = (in_progress.bytes_written - noted) / calls
        summaries, summary_cpu = [], []
        for _ in range(5):
            begin, cpu = time.perf_counter(), time.process_time()
            tracker.summary(date(2024, 1, 1), date(2024, 12, 31))
            summaries.append(time.perf_counter() - begin)
            summary_cpu.append(time.process_time() - cpu)
        begin = time.perf_counter()
        week = tracker.calls(CallFilter(start=date(2024, 6, 3), end=date(2024, 6, 9)))
        week_ms = (time.perf_counter() - begin) * 1000
        years = []
        for _ in range(2):          # what a report over the whole year reads first
            begin = time.perf_counter()
            calls = tracker.calls(CallFilter(start=date(2024, 1, 1), end=date(2024, 12, 31)))
            years.append(time.perf_counter() - begin)
        year = len(calls)
        del calls
        reports = report_times(tracker) if size == max(SIZES) else {}
    finally:
        tracker.stop()
        gc.unfreeze()
    return {"size": size, "ms": statistics.median(times) * 1000,
            "p95": sorted(times)[int(len(times) * 0.95)] * 1000,
            "bytes": per_call_bytes + in_progress_bytes,
            "in_progress_bytes": in_progress_bytes,
            "load": load, "summary": min(summaries) * 1000,
            "summary_cpu": min(summary_cpu) * 1000, "summary_first": summaries[0] * 1000,
            "week": week_ms,
            "week_calls": len(week), "year": min(years) * 1000, "year_calls": year,
            "reports": reports}


def report_times(tracker: Tracker, repeat: int = 3) -> dict[str, tuple[float, float]]:
    """(wall ms, CPU ms) of each built-in report over the year, best of `repeat`, as the
    panel runs it (benchmarks/bench_reports.py): the year's calls read from the tracker as
    columns (`Tracker.call_view`) and the callback queue's entries, then computed."""
    from benchmarks.bench_reports import best_of, reports
    year = (date(2024, 1, 1), date(2024, 12, 31))
    return {name: best_of(report, repeat) for name, report in reports(
        lambda: tracker.call_view(*year),
        tracker.callback_entries, tracker.callbacks, tracker.local_day).items()}


SIZES = (1_000, 10_000, 100_000)


def run(sizes=SIZES, calls: int = 200, folder: Path | None = None
        ) -> list[dict]:
    """Measure each size of `sizes` in a temporary folder (under `folder`); one dict per size
    (see measure()). For `python -m benchmarks`."""
    base = Path(tempfile.mkdtemp(prefix="callbox-bench-", dir=folder))
    try:
        config = parse_config(CONFIG)
        return [measure(size, calls, base, config) for size in sizes]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def tinydb_baseline(size: int, base: Path, inserts: int = 10) -> tuple[float, float]:
    """TinyDB as shipped: ms and bytes written per insert with `size` documents stored."""
    from tinydb import TinyDB

    path = base / f"tinydb-{size}.json"
    records = history(size, random.Random(size))
    with TinyDB(path) as db:
        db.insert_multiple(records)
        begin = time.perf_counter()
        for record in records[:inserts]:
            db.insert(record)
        elapsed = (time.perf_counter() - begin) / inserts
    return elapsed * 1000, path.stat().st_size      # every insert rewrites the whole file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="where to put the test data")
    parser.add_argument("--calls", type=int, default=200, help="calls recorded per size")
    parser.add_argument("--tinydb", action="store_true", help="also time TinyDB as shipped")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    base = Path(tempfile.mkdtemp(prefix="callbox-bench-", dir=args.dir))
    config = parse_config(CONFIG)
    started = time.perf_counter()
    try:
        print(f"data in {base}; {args.calls} calls recorded per row, each submit+flush (fsync)")
        print(f"{'stored calls':>12} | {'ms/call (median)':>16} | {'p95 ms':>7} | "
              f"{'bytes/call':>10} | {'start-up s':>10} | {'summary(year) ms':>16} | "
              f"{'calls(week) ms':>14}")
        print("-" * 104)
        for size in (1_000, 10_000, 100_000):
            r = measure(size, args.calls, base, config)
            print(f"{r['size']:>12,} | {r['ms']:>16.2f} | {r['p95']:>7.2f} | "
                  f"{r['bytes']:>10.0f} | {r['load']:>10.2f} | {r['summary']:>16.1f} | "
                  f"{r['week']:>9.1f} ({r['week_calls']})")
        if args.tinydb:
            print("\nTinyDB as shipped (JSONStorage, no fsync), for comparison:")
            for size in (1_000, 10_000):
                ms, written = tinydb_baseline(size, base)
                print(f"{size:>12,} | {ms:>16.2f} | {'':>7} | {written:>10.0f} |")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total {time.perf_counter() - started:.1f} s, peak RSS {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
