"""Rollups: the summary figures' sums per site, local day and (campaign, source, line type),
kept by ingestion, so a year's dashboard reads a few thousand rows instead of millions.

Why this shape: every /api/summary figure is a sum over calls (counts, waits, values) grouped
by day, campaign, source, line type or hour, so it can be summed again from these groups and
give what `stats.summarize` gives over the calls themselves (`summarize_rollups` here; the
tests compare the two on the same calls). A day is a local day of a time zone: each site is
kept in its own zone and in the central's; site_id 0 merges all sites in the central's zone.

Local day bounds come from `query.day_bounds`, the box's own function, so which calls fall on
which day is decided exactly as on the box; the hour of a call is PostgreSQL's AT TIME ZONE
(both read the system's tz database on Debian).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Iterable

import psycopg

from firmware.tracker.localtime import iso_formatter
from firmware.tracker.query import day_bounds
from firmware.tracker.stats import top_named

logger = logging.getLogger(__name__)

ALL_SITES = 0
ALL_SITES_LOCK = 0x0CA11B0D          # pg_advisory_xact_lock: one writer of site 0's rows
SITE_LOCK_BASE = 0x0CA10000          # + site id: one writer of a site's rows

# A site's days in one scan of its calls (one index range on (site_id, offered_at)), feeding
# both tables: the day groups and the hours.
_SITE_DAYS_AND_HOURS = """
WITH c AS MATERIALIZED (
    SELECT b.day, c.campaign, c.source, coalesce(c.line_type, 'unknown') AS line_type,
           c.status, c.wait_seconds, c.target, c.first_time, c.value, c.recovered, c.offered_at
    FROM unnest(%(days)s::date[], %(lows)s::float8[], %(highs)s::float8[]) AS b (day, low, high)
    JOIN calls c ON c.site_id = %(site)s AND c.offered_at >= b.low AND c.offered_at < b.high
        AND c.offered_at >= %(low)s AND c.offered_at < %(high)s
    WHERE c.direction = 'inbound' AND c.campaign <> ''
), days AS (
    INSERT INTO call_rollups
    SELECT %(site)s, %(zone)s, day, campaign, source, line_type,
           count(*), count(*) FILTER (WHERE status = 'answered'),
           count(*) FILTER (WHERE status = 'missed'), sum(wait_seconds::numeric),
           count(*) FILTER (WHERE target), count(*) FILTER (WHERE first_time),
           sum(value::numeric), count(*) FILTER (WHERE recovered)
    FROM c GROUP BY day, campaign, source, line_type
)
INSERT INTO hour_rollups
SELECT %(site)s, %(zone)s, day,
       extract(hour FROM to_timestamp(offered_at) AT TIME ZONE %(zone)s)::smallint, count(*)
FROM c GROUP BY 1, 2, 3, 4
"""

# A whole site at once (rebuilds): the local day from PostgreSQL's AT TIME ZONE, which reads
# the same tz database; tests/central/test_central_figures.py checks it against the box. One
# scan of the site's calls feeds both tables (at 20M rows a rebuild of every site is what a
# central's first start, or a change of its zone, waits for: docs/central.md).
_WHOLE_SITE = """
WITH c AS MATERIALIZED (
    SELECT to_timestamp(c.offered_at) AT TIME ZONE %(zone)s AS local, c.campaign, c.source,
           coalesce(c.line_type, 'unknown') AS line_type, c.status, c.wait_seconds, c.target,
           c.first_time, c.value, c.recovered
    FROM calls c WHERE c.site_id = %(site)s AND c.direction = 'inbound' AND c.campaign <> ''
), days AS (
    INSERT INTO call_rollups
    SELECT %(site)s, %(zone)s, local::date, campaign, source, line_type, count(*),
           count(*) FILTER (WHERE status = 'answered'),
           count(*) FILTER (WHERE status = 'missed'), sum(wait_seconds::numeric),
           count(*) FILTER (WHERE target), count(*) FILTER (WHERE first_time),
           sum(value::numeric), count(*) FILTER (WHERE recovered)
    FROM c GROUP BY 3, 4, 5, 6
)
INSERT INTO hour_rollups
SELECT %(site)s, %(zone)s, local::date, extract(hour FROM local)::smallint, count(*)
FROM c GROUP BY 3, 4
"""
# A rebuild groups a whole site's year (100k calls and more) in memory rather than sorting on
# disk in the default 4 MB (a third faster); SET LOCAL: for the caller's transaction only.
_REBUILD_WORK_MEM = "SELECT set_config('work_mem', '64MB', true)"

_ALL_DAYS = """
INSERT INTO call_rollups
SELECT 0, zone, day, campaign, source, line_type, sum(calls), sum(answered), sum(missed),
       sum(wait_sum), sum(target), sum(first_time), sum(value_sum), sum(recovered)
FROM call_rollups WHERE site_id <> 0 AND zone = %(zone)s AND day = ANY(%(days)s::date[])
GROUP BY zone, day, campaign, source, line_type
"""

_ALL_HOURS = """
INSERT INTO hour_rollups
SELECT 0, zone, day, hour, sum(calls) FROM hour_rollups
WHERE site_id <> 0 AND zone = %(zone)s AND day = ANY(%(days)s::date[])
GROUP BY zone, day, hour
"""


def local_days(times: Iterable[float], zone: str) -> set[date]:
    """The local days (in `zone`) of epoch times."""
    from zoneinfo import ZoneInfo

    day_hour = iso_formatter(ZoneInfo(zone)).day_hour
    return {date.fromordinal(day_hour(t)[0]) for t in times}


def refresh(conn: psycopg.Connection, site_id: int, zone: str, days: set[date],
            central_zone: str, *, all_sites: bool = True) -> None:
    """Recompute a site's rollups for `days` of `zone` (and the all-sites rows when `zone`
    is the central's, unless all_sites=False), in the caller's transaction."""
    if not days:
        return
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    ordered = sorted(days)
    bounds = [day_bounds(d, d, tz) for d in ordered]
    args = {"site": site_id, "zone": zone, "days": ordered, "lows": [b[0] for b in bounds],
            "highs": [b[1] for b in bounds]}
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (SITE_LOCK_BASE + site_id,))
    for table in ("call_rollups", "hour_rollups"):
        conn.execute(f"DELETE FROM {table} WHERE site_id = %(site)s AND zone = %(zone)s "
                     "AND day = ANY(%(days)s::date[])", args)
    for run in _runs(ordered):           # one index range of the site's calls per run of days
        first, last = ordered.index(run[0]), ordered.index(run[-1]) + 1
        part = {**args, "days": run, "lows": args["lows"][first:last],
                "highs": args["highs"][first:last], "low": args["lows"][first],
                "high": args["highs"][last - 1]}
        conn.execute(_SITE_DAYS_AND_HOURS, part)
    if zone == central_zone and all_sites:
        refresh_all_sites(conn, zone, ordered)


def _runs(days: list[date]) -> list[list[date]]:
    """Sorted days cut into runs of consecutive days."""
    runs: list[list[date]] = []
    for day in days:
        if runs and (day - runs[-1][-1]).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def refresh_all_sites(conn: psycopg.Connection, zone: str, days: list[date] | None) -> None:
    """Site 0 (all sites merged) for `days` of `zone` from the sites' rows (None: every day)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (ALL_SITES_LOCK,))
    if days is None:
        days = [row[0] for row in conn.execute(
            "SELECT DISTINCT day FROM call_rollups WHERE site_id <> 0 AND zone = %s", (zone,))]
        for table in ("call_rollups", "hour_rollups"):
            conn.execute(f"DELETE FROM {table} WHERE site_id = 0 AND zone = %s", (zone,))
    args = {"zone": zone, "days": days}
    for table in ("call_rollups", "hour_rollups"):
        conn.execute(f"DELETE FROM {table} WHERE site_id = 0 AND zone = %(zone)s "
                     "AND day = ANY(%(days)s::date[])", args)
    conn.execute(_ALL_DAYS, args)
    conn.execute(_ALL_HOURS, args)


def rebuild_site(conn: psycopg.Connection, site_id: int, zone: str, central_zone: str, *,
                 all_sites: bool = True) -> None:
    """All of a site's rollups in `zone`, from its calls (a new zone, or a repair); the
    all-sites rows follow unless all_sites=False (the caller then rebuilds them once)."""
    for table in ("call_rollups", "hour_rollups"):
        conn.execute(f"DELETE FROM {table} WHERE site_id = %s AND zone = %s", (site_id, zone))
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (SITE_LOCK_BASE + site_id,))
    conn.execute(_REBUILD_WORK_MEM)
    conn.execute(_WHOLE_SITE, {"site": site_id, "zone": zone})
    if all_sites and zone == central_zone:
        refresh_all_sites(conn, zone, None)


def ensure(conn: psycopg.Connection, central_zone: str) -> None:
    """At start: every site has rollups in its own zone and the central's; rows of zones no
    longer needed (the central's zone changed) are dropped. Rebuilds are logged."""
    sites = conn.execute("SELECT id, name, timezone FROM sites WHERE calls > 0").fetchall()
    rebuilt = False
    for site_id, name, zone in sites:
        for needed in sorted({zone, central_zone}):
            present = conn.execute("SELECT EXISTS (SELECT 1 FROM call_rollups WHERE "
                                   "site_id = %s AND zone = %s)", (site_id, needed)).fetchone()[0]
            if not present:
                logger.info("rollups: building %s in %s", name, needed)
                rebuild_site(conn, site_id, needed, central_zone, all_sites=False)
                rebuilt = True
        for table in ("call_rollups", "hour_rollups"):
            conn.execute(f"DELETE FROM {table} WHERE site_id = %s AND zone <> ALL(%s)",
                         (site_id, [zone, central_zone]))
    for table in ("call_rollups", "hour_rollups"):
        conn.execute(f"DELETE FROM {table} WHERE site_id = 0 AND zone <> %s", (central_zone,))
    if rebuilt:
        refresh_all_sites(conn, central_zone, None)
        logger.info("rollups: all sites rebuilt in %s", central_zone)


# -- reading ---------------------------------------------------------------------------------

GROUPS_SQL = ("SELECT day, campaign, source, line_type, calls, answered, missed, wait_sum, "
              "target, first_time, value_sum, recovered FROM call_rollups "
              "WHERE site_id = %s AND zone = %s AND day >= %s AND day <= %s")
HOURS_SQL = ("SELECT hour, sum(calls) FROM hour_rollups WHERE site_id = %s AND zone = %s "
             "AND day >= %s AND day <= %s GROUP BY hour")


def summarize_rollups(groups: Iterable[tuple], hours: Iterable[tuple], start: date, end: date,
                      to_call_back: int) -> dict:
    """The /api/summary figures from rollup rows: what `stats.summarize` gives over the calls.

    `groups`: (day, campaign, source, line_type, calls, answered, missed, wait_sum, target,
    first_time, value_sum, recovered); `hours`: (hour, calls).
    """
    total = answered = missed = target = first = recovered = 0
    wait = value = Decimal(0)
    by_day: dict[date, Decimal] = {}
    campaigns: dict[str, list] = {}
    sources: dict[str, list] = {}
    line_types: Counter[str] = Counter()
    for (day, campaign, source, line_type, calls, ans, mis, wait_sum, tgt, ft, val,
         rec) in groups:
        if not start <= day <= end:
            continue
        total += calls
        answered += ans
        missed += mis
        target += tgt
        first += ft
        recovered += rec
        wait += Decimal(wait_sum)
        value += Decimal(val)
        by_day[day] = by_day.get(day, Decimal(0)) + Decimal(val)
        for table, name in ((campaigns, campaign), (sources, source)):
            entry = table.setdefault(name, [0, Decimal(0)])
            entry[0] += calls
            entry[1] += Decimal(val)
        line_types[line_type] += calls
    per_hour = dict.fromkeys(range(24), 0)
    for hour, calls in hours:
        per_hour[int(hour)] += int(calls)
    days = (end - start).days + 1
    return {
        "answered": answered,
        "missed": missed,
        "to_call_back": to_call_back,
        "avg_wait_seconds": round(float(wait) / total, 1) if total else 0.0,
        "target_calls": target,
        "first_time_callers": first,
        "top_campaigns": top_named(campaigns),
        "top_sources": top_named(sources),
        "calls_by_hour": [per_hour[h] for h in range(24)],
        "value_over_time": [{"date": (start + timedelta(n)).isoformat(),
                             "value": round(float(by_day.get(start + timedelta(n), 0)), 2)}
                            for n in range(days)],
        "caller_line_types": dict(sorted(line_types.items(), key=lambda kv: (-kv[1], kv[0]))),
        "calls": answered + missed,
        "value": round(float(value), 2),
        "callbacks_recovered": recovered,
    }
