"""`python -m benchmarks` (`make bench`): every benchmark in turn, then one markdown table.

Columns: what | measured | target | note. Each benchmark module has `run()`; the new ones
(bench_register, bench_calls, bench_startup, and bench_reports / bench_flood when present)
return table rows ({what, measured, target, note}) themselves, the older bench_media and
bench_store return their raw figures and are turned into rows here. A benchmark that fails
becomes a "failed: ..." row (its traceback goes to stderr) and the others still run; a module
that is not there yet becomes a "skipped" row.

Everything is bounded: each benchmark caps its own load and time, and once TIME_BUDGET has
passed the remaining ones are skipped, so the whole run stays under 10 minutes (about 5 on
2 cores). Progress and diagnostics go to stderr; stdout gets only the table.

    python -m benchmarks [NAME ...]      # e.g. python -m benchmarks calls register
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import os
import sys
import time
from typing import Callable

logger = logging.getLogger("benchmarks")

TIME_BUDGET = 600.0     # seconds; after this no further benchmark is started (10 benchmarks now)
FSYNC_SLACK_MS = 5.0    # "flat" recording cost allows this much fsync jitter (store_rows)
COLUMNS = ("what", "measured", "target", "note")


def row(what: str, measured: str, target: str, note: str = "") -> dict:
    return {"what": what, "measured": measured, "target": target, "note": note}


def ok(passed: bool) -> str:
    return "ok" if passed else "MISSES TARGET"


# -- the older benchmarks' figures as rows ------------------------------------------------
def media_rows(module) -> list[dict]:
    """bench_media.run(): CPU per relayed G.711 call at 10 and 50 concurrent calls."""
    rows = []
    for r in module.run((10, 50), 5):
        pct = r["pct_core_per_call"]
        rows.append(row(
            f"CPU per relayed G.711 call ({r['calls']} concurrent)", f"{pct:.3f}% of a core",
            "<= 0.5% of a core",
            f"{ok(pct <= 0.5)}; relay {r['pct_core_total']}% of a core in all, "
            f"{r['us_per_packet']} us/packet, {r['packets_per_s']:,} of "
            f"{r['expected_per_s']:,} pkt/s relayed, delivered {100 * r['delivered']:.2f}%, "
            f"dropped {r['dropped']}; {r['seconds']} s window"))
    return rows


def store_rows(module) -> list[dict]:
    """bench_store.run(): recording one call with 1k/10k/100k stored; summary over 100k."""
    results = module.run((1_000, 10_000, 100_000), 200)
    first = results[0]
    rows = []
    for r in results:
        ratio = r["ms"] / first["ms"] if first["ms"] else float("inf")
        # Flat: the same bytes per call, and the time within 2x or FSYNC_SLACK_MS of the
        # smallest store's (one fsync on a shared VM disk jumps between ~0.3 and ~4 ms).
        flat = r["bytes"] <= 1.1 * first["bytes"] and (
            ratio <= 2.0 or r["ms"] - first["ms"] <= FSYNC_SLACK_MS)
        small = r["bytes"] <= 4096
        rows.append(row(
            f"recording one call ({r['size']:,} stored)",
            f"{r['ms']:.2f} ms, {r['bytes']:,.0f} B written", "cost flat; <= 4 KB written",
            f"{ok(flat and small)}; median of 200 (submit + flush + fsync), p95 "
            f"{r['p95']:.2f} ms, {ratio:.2f}x the 1k time; store load {r['load']:.2f} s; "
            f"of the bytes, {r['in_progress_bytes']:,.0f} B are the call's events noted "
            f"while it runs (unsynced, tracker/inflight.py)"))
    biggest = results[-1]
    rows.append(row(
        f"dashboard / summary over {biggest['size'] // 1000}k calls",
        f"{biggest['summary']:.1f} ms", "<= 150 ms",
        f"{ok(biggest['summary'] <= 150)}; Tracker.summary() over a year (best of 5, wall "
        f"clock; {biggest.get('summary_cpu', 0):.0f} ms CPU; past days' additive figures "
        f"kept, the first after start {biggest.get('summary_first', 0):.0f} ms); "
        f"a week's call list {biggest['week']:.1f} ms ({biggest['week_calls']:,} calls)"))
    rows.append(row(
        f"a year's calls for a report ({biggest['year_calls'] // 1000}k, Tracker.calls)",
        f"{biggest['year']:.0f} ms", "no target",
        "the /api/calls list of a whole year (each call formatted as the API shows it); the "
        "reports below no longer read it; best of 2"))
    # issue 21: a report over a year as the panel runs it, read + computed (docs/storage.md)
    for name, (ms, cpu) in biggest.get("reports", {}).items():
        rows.append(row(
            f"report over a year, read + computed: {name} ({biggest['year_calls'] // 1000}k)",
            f"{ms:.0f} ms", "<= 300 ms",
            f"{ok(ms <= 300)}; wall clock, best of 3 ({cpu:.0f} ms CPU); the year read from "
            "the tracker as columns (Tracker.call_view) and computed"))
    return rows


# -- anything else: rows if it gives rows, its raw figures otherwise ----------------------
def module_rows(module) -> list[dict]:
    name = module.__name__.rsplit(".", 1)[-1]
    needed = [p for p in inspect.signature(module.run).parameters.values()
              if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if needed:
        return [row(name, "skipped", "", f"its run() needs arguments "
                                          f"({', '.join(p.name for p in needed)})")]
    results = module.run()
    if isinstance(results, dict):
        results = [results]
    rows = []
    for result in results or []:
        if isinstance(result, dict) and "what" in result and "measured" in result:
            rows.append(row(str(result["what"]), str(result["measured"]),
                            str(result.get("target", "")), str(result.get("note", ""))))
        else:
            figures = ", ".join(f"{k}={v}" for k, v in result.items()) \
                if isinstance(result, dict) else str(result)
            rows.append(row(name, figures, "", "raw figures (run() gave no table rows)"))
    return rows or [row(name, "nothing", "", "run() returned no results")]


# name, how to get its rows, what it stands for in a "skipped"/"failed" row
BENCHMARKS: list[tuple[str, Callable, str]] = [
    ("bench_startup", module_rows, "start to first SIP answer; idle memory"),
    ("bench_register", module_rows, "digest REGISTERs"),
    ("bench_calls", module_rows, "complete calls through the B2BUA"),
    ("bench_media", media_rows, "CPU per relayed G.711 call"),
    ("bench_store", store_rows, "recording one call; summary over 100k calls"),
    ("bench_reports", module_rows, "reports"),
    ("bench_flood", module_rows, "flood"),
    ("bench_contacts", module_rows, "contacts: import, search, one change"),
    ("bench_integrations", module_rows, "webhook deliveries; cost per call of a webhook"),
    ("bench_central", module_rows, "central on PostgreSQL: dashboards, ingestion"),
    ("bench_recording", module_rows, "call recording: KB/minute, CPU per recorded call"),
]


def run_one(name: str, rows_of: Callable, what: str) -> list[dict]:
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"benchmarks.{name}":
            raise
        return [row(what, "skipped", "", f"benchmarks/{name}.py is not there yet")]
    if not callable(getattr(module, "run", None)):
        return [row(what, "skipped", "", f"benchmarks/{name}.py has no run()")]
    try:
        return rows_of(module)
    # A broken benchmark must not hide the others' figures: it becomes a "failed" row, and
    # its traceback goes to stderr (nothing is swallowed).
    except Exception as exc:   # noqa: BLE001
        logger.exception("%s failed", name)
        return [row(what, "failed", "", f"{type(exc).__name__}: {exc}".splitlines()[0])]


def markdown(rows: list[dict]) -> str:
    def cell(value) -> str:
        return " ".join(str(value).split()).replace("|", "\\|")

    cells = [[cell(r[c]) for c in COLUMNS] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(COLUMNS)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(line, widths)) + " |"
              for line in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="run only these (startup, register, calls, media, store, ...)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s")
    for name in ("benchmarks", *(bench for bench, _, _ in BENCHMARKS)):
        logging.getLogger(name).setLevel(logging.INFO)   # not the tracker's line per call
    wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.names}
    unknown = wanted - {name for name, _, _ in BENCHMARKS}
    if unknown:
        parser.error(f"no benchmark named {', '.join(sorted(unknown))}")
    began = time.perf_counter()
    rows: list[dict] = []
    for name, rows_of, what in BENCHMARKS:
        if wanted and name not in wanted:
            continue
        elapsed = time.perf_counter() - began
        if elapsed > TIME_BUDGET:
            rows.append(row(what, "skipped", "", f"time budget: {elapsed:.0f} s gone"))
            continue
        logger.info("running %s", name)
        start = time.perf_counter()
        rows += run_one(name, rows_of, what)
        logger.info("%s took %.1f s", name, time.perf_counter() - start)
    total = time.perf_counter() - began
    rows.append(row("the whole benchmark run", f"{total:.0f} s", "< 5 min",
                    f"{ok(total < 300)}; {os.cpu_count()} cores, loopback only"))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
