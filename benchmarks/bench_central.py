"""Benchmark of the central on PostgreSQL: the year dashboards and ingestion.

A private PostgreSQL 15 cluster (tests/central/pg.py) is filled with generated calls by COPY:
`--sites` sites x `--calls` calls each over 2024, Site 1 with `--big-site` calls (the issue's
scale is 200 x 100,000 = 20M rows; the default, 50 sites with Site 1 at the full 100,000 and
the others at 2,000, is 198k rows so `make bench` stays bounded). The dashboards read rollups
whose size depends on sites x days x groups, not on calls: Site 1 at full size and ~270 calls
a day over all sites fill them as 20M rows would (docs/central.md). Then, best of 3:
- the all-sites summary for the year (/api/summary without site=), target <= 1 s at 20M;
- one site's summary for the year, target <= 200 ms;
- ingestion: 4 boxes at once, each batches of 500 new calls through parse_batch +
  store_batch (what /api/ingest does), target >= 5,000 calls/s.

    python -m benchmarks.bench_central [--sites 200] [--calls 2000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from firmware.central import figures, rollup  # noqa: E402
from firmware.central.db import migrate  # noqa: E402
from firmware.central.ingest import parse_batch, store_batch  # noqa: E402
from firmware.tracker.query import CallFilter  # noqa: E402

YEAR_START = 1704063600.0          # 2024-01-01 00:00 Warsaw
CAMPAIGNS = [("Shop window", "Outdoor", 300.0), ("Newspaper", "Print", 100.0),
             ("Google", "google/cpc", 200.0), ("Radio", "Radio", 150.0)]


def _record(n: int, rng: random.Random, start: float) -> dict:
    campaign, source, lead = rng.choice(CAMPAIGNS)
    answered = rng.random() < 0.8
    wait = round(rng.uniform(1, 30), 1)
    talk = round(rng.uniform(5, 400), 1) if answered else 0.0
    target = answered and talk >= 30 and rng.random() < 0.6
    return {"id": f"c{n:09d}", "direction": "inbound", "caller": f"+48501{rng.randrange(10**6):06d}",
            "callee": "+48221234567", "campaign": campaign, "source": source,
            "offered_at": start, "ended_at": start + wait + talk, "wait_seconds": wait,
            "talk_seconds": talk, "status": "answered" if answered else "missed",
            "answered_by": "101" if answered else None, "line_type": rng.choice(
                ["mobile", "mobile", "fixed_line"]), "lead_value": lead, "target": target,
            "first_time": rng.random() < 0.5, "value": lead if target else 0.0}


def generate(dsn: str, sites: int, calls: int, big_site: int = 0) -> float:
    """COPY sites x calls rows (Site 1: `big_site` calls when given); returns the seconds."""
    import json

    rng = random.Random(20)
    began = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO sites (name, timezone, calls) SELECT 'Site ' || n, "
                     "'Europe/Warsaw', %s FROM generate_series(1, %s) n", (calls, sites))
        if big_site:
            conn.execute("UPDATE sites SET calls = %s WHERE name = 'Site 1'", (big_site,))
        ids = [row[0] for row in conn.execute("SELECT id FROM sites ORDER BY id")]
        with conn.cursor().copy(
                "COPY calls (site_id, call_id, seq, offered_at, direction, status, caller, "
                "callee, campaign, source, wait_seconds, talk_seconds, target, first_time, "
                "value, line_type, doc) FROM STDIN") as copy:
            for site in ids:
                count = big_site if big_site and site == ids[0] else calls
                step = 366 * 86400 / count
                for n in range(count):
                    r = _record(n, rng, YEAR_START + n * step + rng.uniform(0, step))
                    copy.write_row((site, r["id"], n + 1, r["offered_at"], "inbound",
                                    r["status"], r["caller"], r["callee"], r["campaign"],
                                    r["source"], r["wait_seconds"], r["talk_seconds"],
                                    r["target"], r["first_time"], r["value"], r["line_type"],
                                    json.dumps(r)))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE calls")
    return time.perf_counter() - began


def build_rollups(dsn: str) -> float:
    """What `callbox central` does at start for sites without rollups (rollup.ensure)."""
    began = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        rollup.ensure(conn, "Europe/Warsaw")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE call_rollups")
        conn.execute("VACUUM ANALYZE hour_rollups")
    return time.perf_counter() - began


INGEST_SITES = 4          # boxes posting at the same time, each on its own connection


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system) a PostgreSQL backend has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _bodies(site: str, count: int, seed: int) -> list[dict]:
    """One box's catch-up as it arrives: `count` new calls in batches of 500 (made before the
    clock starts: the box makes them, not the central)."""
    rng = random.Random(seed)
    return [{"site": site, "timezone": "Europe/Warsaw", "entries": [
        {"seq": n + 1, "kind": "call", "record": _record(10**8 + n, rng, YEAR_START + n * 60.0)}
        for n in range(first, first + 500)]} for first in range(0, count, 500)]


def _ingest(dsn: str, bodies: list[dict], server_cpu: list | None = None) -> None:
    """Store one box's batches as /api/ingest does (parse_batch + store_batch); the CPU its
    PostgreSQL backend used is appended to `server_cpu`."""
    with psycopg.connect(dsn) as conn:
        pid = conn.info.backend_pid
        began = _server_cpu(pid)
        for body in bodies:
            batch = parse_batch(body)
            with conn.transaction():
                store_batch(conn, batch, "Europe/Warsaw")
        if server_cpu is not None:
            server_cpu.append(_server_cpu(pid) - began)


def best_of(func, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        func()
        times.append(time.perf_counter() - began)
    return min(times)


def measure(dsn: str, calls_to_ingest: int = 20_000) -> dict:
    year = (date(2024, 1, 1), date(2024, 12, 31))
    with psycopg.connect(dsn) as conn:
        site = figures.site_info(conn, "Site 1")
        all_sites = best_of(lambda: figures.summary(conn, None, "Europe/Warsaw", *year))
        one_site = best_of(lambda: figures.summary(conn, site, site.timezone, *year))
        week = CallFilter(start=date(2024, 12, 23), end=date(2024, 12, 29))
        tz = ZoneInfo("Europe/Warsaw")
        calls_all = best_of(lambda: figures.calls(conn, None, tz, week, 100))
    server_cpu: list[float] = []
    bodies = [_bodies(f"Site {n + 1}", calls_to_ingest // INGEST_SITES, n)
              for n in range(INGEST_SITES)]
    began, client_began = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=_ingest, args=(dsn, bodies[n], server_cpu))
               for n in range(INGEST_SITES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ingest_rate = calls_to_ingest / (time.perf_counter() - began)
    client_cpu = time.process_time() - client_began
    return {"all_sites": all_sites, "one_site": one_site, "ingest_rate": ingest_rate,
            "calls_all": calls_all,
            "client_ms": client_cpu * 1e6 / calls_to_ingest,      # CPU ms per 1,000 calls
            "server_ms": sum(server_cpu) * 1e6 / calls_to_ingest}


def run(sites: int = 50, calls: int = 2000, big_site: int = 100_000) -> list[dict]:
    from benchmarks.__main__ import ok, row
    from tests.central.pg import PgCluster
    from tests.e2e.rig import free_port_block

    cluster = PgCluster(free_port_block(1))
    try:
        dsn = cluster.create_database("bench")
        with psycopg.connect(dsn) as conn:
            migrate(conn)
        copy_seconds = generate(dsn, sites, calls, big_site)
        rollup_seconds = build_rollups(dsn)
        got = measure(dsn)
    finally:
        cluster.destroy()
    rows_total = (sites - 1) * calls + (big_site or calls)
    scale = (f"{rows_total:,} rows: Site 1 {big_site or calls:,} calls, {sites - 1} more sites "
             f"x {calls:,} (COPY {copy_seconds:.0f} s, rollups built in {rollup_seconds:.0f} s)")
    return [
        row("central: year summary, all sites", f"{got['all_sites'] * 1000:.0f} ms",
            "<= 1 s at 20M rows", f"{ok(got['all_sites'] <= 1.0)} at {scale}"),
        row("central: year summary, one site", f"{got['one_site'] * 1000:.0f} ms",
            "<= 200 ms", f"{ok(got['one_site'] <= 0.2)}; {big_site or calls:,} calls in the site"),
        row("central: ingestion", f"{got['ingest_rate']:,.0f} calls/s", ">= 5,000 calls/s",
            f"{ok(got['ingest_rate'] >= 5000)}; {INGEST_SITES} boxes at once, batches of 500, "
            "parse + merge + rollups in one pipeline a batch; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"),
        row("central: ingestion CPU per 1,000 calls",
            f"{got['client_ms'] + got['server_ms']:.0f} ms",
            "", f"Python {got['client_ms']:.0f} ms + PostgreSQL {got['server_ms']:.0f} ms: "
            f"~{2e6 / (got['client_ms'] + got['server_ms']):,.0f} calls/s on 2 idle "
            "cores (the rate above depends on the machine's other load)"),
        row("central: a week's calls, all sites (first page)",
            f"{got['calls_all'] * 1000:.0f} ms", "", "each site's (site_id, offered_at) "
            "index backwards, 100 newest"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--calls", type=int, default=2000, help="calls per site")
    parser.add_argument("--big-site", type=int, default=100_000,
                        help="calls of Site 1, the one measured alone (0: --calls)")
    args = parser.parse_args()
    for r in run(args.sites, args.calls, args.big_site):
        print(" | ".join(r.values()))


if __name__ == "__main__":
    main()
