"""Benchmark of the central on PostgreSQL: the year dashboards, what an owner opens next,
ingestion, and the central's memory.

A private PostgreSQL 15 cluster (tests/central/pg.py) is filled with generated calls made by
the server itself and loaded with COPY (benchmarks/central_data.py): `--sites` sites x
`--calls` calls each over 2024, Site 1 with `--big-site` calls. `--full` is the issue's scale,
200 x 100,000 = 20M rows (`make bench-central-full`, 12-16 min on a busy 2-core VM); the
default, 50 sites with Site 1 at the full 100,000 and the others at 2,000, is 198k rows so
`make bench` stays bounded. The rollups are built by the central's own start-up code
(rollup.ensure). Then, best of 3:
- the all-sites summary for the year (figures.summary, as /api/summary), target <= 1 s at 20M;
- one site's summary for the year, target <= 200 ms;
- the call lists, the callbacks, the campaign report for a year, each over HTTP from a real
  `callbox central` process, and that process's memory after them (benchmarks/central_http.py);
- ingestion: 4 boxes at once, each batches of 500 new calls through parse_batch +
  store_batch (what /api/ingest does), target >= 5,000 calls/s.

    python -m benchmarks.bench_central [--full | --sites 200 --calls 2000 --big-site 0]
"""

from __future__ import annotations

import argparse
import logging
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
from firmware.central.db import connect, migrate  # noqa: E402
from firmware.central.ingest import parse_batch, store_batch  # noqa: E402
from firmware.tracker.query import CallFilter  # noqa: E402

from benchmarks.central_data import CAMPAIGNS, YEAR_START  # noqa: E402

logger = logging.getLogger("bench_central")


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
    with connect(dsn) as conn:
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


MERGED_SQL = """
SELECT day, campaign, source, line_type, sum(calls), sum(answered), sum(missed), sum(wait_sum),
       sum(target), sum(first_time), sum(value_sum), sum(recovered)
FROM call_rollups WHERE site_id <> 0 AND zone = %s AND day BETWEEN %s AND %s
GROUP BY day, campaign, source, line_type
"""
MERGED_HOURS_SQL = ("SELECT hour, sum(calls) FROM hour_rollups WHERE site_id <> 0 AND zone = %s "
                    "AND day BETWEEN %s AND %s GROUP BY hour")


def merge_at_read_time(conn: psycopg.Connection, zone: str, start: date, end: date) -> dict:
    """The all-sites year summary from every site's rollups merged at read time, not from site
    0: what the central would do on Citus (docs/central.md, "Past one database"), where the
    GROUP BY runs on each worker's shards; here it runs on the one server."""
    groups = conn.execute(MERGED_SQL, (zone, start, end)).fetchall()
    hours = conn.execute(MERGED_HOURS_SQL, (zone, start, end)).fetchall()
    return rollup.summarize_rollups(groups, hours, start, end, 0)


def measure(dsn: str, calls_to_ingest: int = 20_000) -> dict:
    year = (date(2024, 1, 1), date(2024, 12, 31))
    with connect(dsn) as conn:
        site = figures.site_info(conn, "Site 1")
        all_sites = best_of(lambda: figures.summary(conn, None, "Europe/Warsaw", *year))
        one_site = best_of(lambda: figures.summary(conn, site, site.timezone, *year))
        week = CallFilter(start=date(2024, 12, 23), end=date(2024, 12, 29))
        tz = ZoneInfo("Europe/Warsaw")
        calls_all = best_of(lambda: figures.calls(conn, None, tz, week, 100))
        every = CallFilter()
        merged = best_of(lambda: merge_at_read_time(conn, "Europe/Warsaw", *year))
    # the same with PostgreSQL's default JIT (what the central's connections had before
    # db.SESSION_SETTINGS): the "before" figures of docs/central.md
    with psycopg.connect(dsn) as conn:
        jit = {"all_sites": best_of(lambda: figures.summary(conn, None, "Europe/Warsaw", *year)),
               "one_site": best_of(lambda: figures.summary(conn, site, site.timezone, *year)),
               "calls_all": best_of(lambda: figures.calls(conn, None, tz, every, 1000))}
    with connect(dsn) as conn:
        calls_all_1000 = best_of(lambda: figures.calls(conn, None, tz, every, 1000))
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
            "calls_all": calls_all, "merged": merged, "jit": jit,
            "calls_all_1000": calls_all_1000,
            "client_ms": client_cpu * 1e6 / calls_to_ingest,      # CPU ms per 1,000 calls
            "server_ms": sum(server_cpu) * 1e6 / calls_to_ingest}


SERVER_SETTINGS = {
    # a server set up for a bulk load and a few GB of data (docs/central.md, "Measured at
    # 20M"); wal_level=minimal lets the COPY into the freshly truncated table skip the WAL
    "wal_level": "minimal", "max_wal_senders": "0", "max_wal_size": "8GB",
    "checkpoint_timeout": "30min", "shared_buffers": "1GB",
}


def _disk_size(dsn: str) -> tuple[int, int, int]:
    """(database, calls with its indexes, rollups) in bytes."""
    with connect(dsn) as conn:
        return conn.execute(
            "SELECT pg_database_size(current_database()), pg_total_relation_size('calls'), "
            "pg_total_relation_size('call_rollups') + pg_total_relation_size('hour_rollups')"
        ).fetchone()


def run(sites: int = 50, calls: int = 2000, big_site: int = 100_000) -> list[dict]:
    from benchmarks.__main__ import ok, row
    from benchmarks import central_data, central_http
    from tests.central.pg import PgCluster
    from tests.e2e.rig import free_port_block

    began = time.perf_counter()
    cluster = PgCluster(free_port_block(1), SERVER_SETTINGS)
    try:
        dsn = cluster.create_database("bench")
        with psycopg.connect(dsn) as conn:
            migrate(conn)
        logger.info("generating %s calls", f"{(sites - 1) * calls + (big_site or calls):,}")
        loaded = central_data.load(dsn, sites, calls, big_site)
        logger.info("loaded: %s", ", ".join(f"{k} {v:.0f} s" for k, v in loaded.steps.items()))
        rollup_seconds = build_rollups(dsn)
        size = _disk_size(dsn)
        logger.info("rollups built in %.0f s; database %.1f GiB", rollup_seconds,
                    size[0] / 2**30)
        got = measure(dsn)
        logger.info("figures and ingestion measured")
        http = central_http.measure(dsn, free_port_block(1))
    finally:
        cluster.destroy()
    total_seconds = time.perf_counter() - began
    rows_total = loaded.rows
    big = big_site or calls
    steps = loaded.steps
    scale = (f"{rows_total:,} rows: Site 1 {big:,} calls, {sites - 1} more sites x {calls:,}")
    made = (f"generated + COPY {steps['copy']:.0f} s, indexes {steps['indexes']:.0f} s, "
            f"VACUUM ANALYZE {steps['vacuum']:.0f} s, rollups (rollup.ensure) "
            f"{rollup_seconds:.0f} s; on disk {size[0] / 2**30:.1f} GiB (calls "
            f"{size[1] / 2**30:.1f} GiB with indexes, rollups {size[2] / 2**20:.0f} MiB)")
    load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    rows = [
        row("central: test database", f"{rows_total:,} rows", "20M (200 x 100,000)",
            f"{scale}; {made}"),
        row("central: year summary, all sites", f"{got['all_sites'] * 1000:.0f} ms",
            "<= 1 s at 20M rows", f"{ok(got['all_sites'] <= 1.0)} at {rows_total:,} rows; "
            "figures.summary (rollups), best of 3"),
        row("central: year summary, one site", f"{got['one_site'] * 1000:.0f} ms",
            "<= 200 ms", f"{ok(got['one_site'] <= 0.2)}; {big:,} calls in the site"),
        row("central: ingestion", f"{got['ingest_rate']:,.0f} calls/s", ">= 5,000 calls/s",
            f"{ok(got['ingest_rate'] >= 5000)}; into the {rows_total:,}-row table; "
            f"{INGEST_SITES} boxes at once, batches of 500, parse + merge + rollups in one "
            f"pipeline a batch; {load}"),
        row("central: ingestion CPU per 1,000 calls",
            f"{got['client_ms'] + got['server_ms']:.0f} ms",
            "", f"Python {got['client_ms']:.0f} ms + PostgreSQL {got['server_ms']:.0f} ms: "
            f"~{2e6 / (got['client_ms'] + got['server_ms']):,.0f} calls/s on 2 idle "
            "cores (the rate above depends on the machine's other load)"),
        row("central: a week's calls, all sites (first page)",
            f"{got['calls_all'] * 1000:.0f} ms", "", "figures.calls, 100 newest: each "
            "site's (site_id, offered_at) index backwards"),
        row("central: the 1,000 newest calls, all sites", f"{got['calls_all_1000'] * 1000:.0f} ms",
            "", "figures.calls without a filter (/api/calls' default limit), best of 3"),
        row("central: with PostgreSQL's JIT on (before)",
            f"{got['jit']['all_sites'] * 1000:.0f} / {got['jit']['one_site'] * 1000:.0f} / "
            f"{got['jit']['calls_all'] * 1000:.0f} ms", "",
            "year summary all sites / one site / the 1,000 newest calls of all sites, on a "
            "connection with the default jit = on (the central now sets jit = off)"),
        row("central: all-sites year summary merged at read time",
            f"{got['merged'] * 1000:.0f} ms", "", "every site's rollups grouped per query "
            "instead of site 0's rows: the read Citus would spread over its workers"),
    ]
    for what, seconds, size_bytes in http["requests"]:
        rows.append(row(f"central over HTTP: {what}", f"{seconds * 1000:.0f} ms", "",
                        f"best of 3, {size_bytes / 1024:,.0f} KB answer, callbox central "
                        "in its own process"))
    grown = (http["rss_after"] - http["rss_start"]) / 1024
    rows.append(row("central: memory after those requests",
                    f"{http['rss_after'] / 1024:.0f} MB RSS", "not growing with the rows",
                    f"{ok(grown < 64)}; {http['rss_start'] / 1024:.0f} MB after start and "
                    f"one request, +{grown:.0f} MB after all of them, peak "
                    f"{http['hwm'] / 1024:.0f} MB ({http['hwm_start'] / 1024:.0f} MB "
                    f"before the requests), at {rows_total:,} rows"))
    rows.append(row("central: the whole run", f"{total_seconds:.0f} s", "",
                    f"cluster, load, rollups, measurements, removal; {load}"))
    return rows


FULL = (200, 100_000, 0)          # the scale: 20M rows


def main() -> None:
    from benchmarks.table import format_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="200 sites x 100,000 calls (20M rows; minutes, ~15 GB of disk)")
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--calls", type=int, default=2000, help="calls per site")
    parser.add_argument("--big-site", type=int, default=100_000,
                        help="calls of Site 1, the one measured alone (0: --calls)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s")
    scale = FULL if args.full else (args.sites, args.calls, args.big_site)
    rows = run(*scale)
    print(format_table(rows, [("what", "what"), ("measured", "measured"),
                              ("target", "target"), ("note", "note")]))


if __name__ == "__main__":
    main()
