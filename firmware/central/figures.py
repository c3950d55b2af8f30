"""What the central's panel and API read: figures, calls, callbacks and sites from PostgreSQL.

The figures are the box's own: `firmware.tracker.stats.summarize` over the same columns the
box builds (`stats.COLUMNS`, one row per counted call, local day and hour in the time zone of
the view). PostgreSQL picks the rows (one index range on (site, start time), only the inbound
campaign calls, only the columns the figures read) and Python computes the figures, so a
site's answer equals its box's to the last digit. `stat_rows` is `stats.stat_row` for rows
that come out of SQL (tests/central check the two agree).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo
from typing import Any, Iterable

import psycopg

from firmware.central import rollup
from firmware.tracker.localtime import iso_formatter
from firmware.tracker.query import CallFilter, day_bounds
from firmware.tracker.records import ANSWERED, INTERNAL, MISSED, to_api
from firmware.tracker.regions import caller_region
from firmware.tracker.stats import COLUMNS, summarize

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class SiteInfo:
    id: int
    name: str
    timezone: str

    @property
    def tz(self) -> tzinfo:
        return _zone(self.timezone)


def _zone(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def site_info(conn: psycopg.Connection, name: str) -> SiteInfo | None:
    row = conn.execute("SELECT id, name, timezone FROM sites WHERE name = %s", (name,)).fetchone()
    return SiteInfo(*row) if row else None


def all_sites(conn: psycopg.Connection) -> dict[int, SiteInfo]:
    return {row[0]: SiteInfo(*row) for row in
            conn.execute("SELECT id, name, timezone FROM sites ORDER BY name")}


# -- the summary -----------------------------------------------------------------------------

# Up to this many calls in a period the summary is computed from the calls (the box's code);
# beyond, from the rollups (a year of 200 sites: 20M calls).
CALLS_FROM_ROWS = 20_000
STAT_SQL = ("SELECT offered_at, call_id, status, wait_seconds, target, first_time, campaign, "
            "source, value, line_type, recovered, doc->>'missed_reason', caller, "
            "coalesce((doc->>'lead_value')::double precision, 0), "
            "doc->>'answered_by', coalesce((doc->>'talk_seconds')::double precision, 0) "
            "FROM calls "
            "WHERE direction = 'inbound' AND campaign <> '' AND offered_at >= %s "
            "AND offered_at < %s")


def stat_sql(site: SiteInfo | None, low: float, high: float) -> tuple[str, list]:
    """STAT_SQL for one site or all (then each site's index range on (site_id, offered_at):
    calls has no index on the time alone, which would slow every ingested call), ordered."""
    if site is None:
        return (STAT_SQL + " AND site_id = ANY(ARRAY(SELECT id FROM sites))"
                " ORDER BY offered_at, call_id", [low, high])
    return STAT_SQL + " AND site_id = %s ORDER BY offered_at, call_id", [low, high, site.id]


def stat_rows(rows: Iterable[tuple], tz: tzinfo) -> list[tuple]:
    """Rows of STAT_SQL as `stats.COLUMNS` tuples (what `stats.stat_row` makes of a record)."""
    day_hour = iso_formatter(tz).day_hour
    regions: dict[str, str] = {}
    out = []
    for (offered, call_id, status, wait, target, first, campaign, source, value, line_type,
         recovered, missed_reason, caller, lead_value, answered_by, talk) in rows:
        day, hour = day_hour(offered)
        line_type = line_type or "unknown"
        out.append((offered, call_id, day, hour, status == ANSWERED, status == MISSED, wait,
                    target, first, campaign, source, value, line_type, recovered,
                    (missed_reason or "unknown") if status == MISSED else None, caller,
                    lead_value, caller_region(caller, line_type, regions),
                    (answered_by or "") if status == ANSWERED else None, talk))
    return out


def columns(rows: list[tuple]) -> dict[str, list]:
    """Rows (already sorted by start, id) as the column dict `summarize` takes."""
    return {name: [row[n] for row in rows] for n, name in enumerate(COLUMNS)}


def summary(conn: psycopg.Connection, site: SiteInfo | None, zone: str, start: date,
            end: date) -> dict:
    """/api/summary for one site (in its zone) or all sites (`zone`: the central's).

    Up to CALLS_FROM_ROWS calls in the period (a site's year, and most all-sites views) it is
    the box's own `stats.summarize` over the calls themselves, so every figure equals the
    box's. Beyond that the rollups answer (rollup.py: a few thousand rows for a year however
    many calls), with the figures they hold; the ones that need each call (answered within,
    missed reasons, unrecovered value, regions) are then left out and `partial` is true."""
    base = rollup_summary(conn, site, zone, start, end)
    if base["answered"] + base["missed"] <= CALLS_FROM_ROWS:
        return summary_from_calls(conn, site, ZoneInfo(zone if site is None else site.timezone),
                                  start, end)
    days = (end - start).days + 1
    base["previous"] = rollup_summary(conn, site, zone, start - timedelta(days=days),
                                      start - timedelta(days=1))
    base["partial"] = True
    return base


def rollup_summary(conn: psycopg.Connection, site: SiteInfo | None, zone: str, start: date,
                   end: date) -> dict:
    """The figures the rollups hold (see `summary`)."""
    key = rollup.ALL_SITES if site is None else site.id
    zone = zone if site is None else site.timezone
    args = (key, zone, start, end)
    groups = conn.execute(rollup.GROUPS_SQL, args).fetchall()
    hours = conn.execute(rollup.HOURS_SQL, args).fetchall()
    return rollup.summarize_rollups(groups, hours, start, end, to_call_back(conn, site))


def summary_from_calls(conn: psycopg.Connection, site: SiteInfo | None, tz: tzinfo,
                       start: date, end: date) -> dict:
    """/api/summary computed by the box's own `stats.summarize` over the calls themselves
    (one row per call): the reference the rollups are checked against."""
    days = (end - start).days + 1        # and the period before, for `previous`
    low, high = day_bounds(start - timedelta(days=days), end, tz)
    sql, args = stat_sql(site, low, high)
    with conn.cursor() as cur:
        cur.execute(sql, args)
        rows = stat_rows(cur.fetchall(), tz)
    return summarize(columns(rows), start, end, to_call_back(conn, site))


def to_call_back(conn: psycopg.Connection, site: SiteInfo | None) -> int:
    sql = "SELECT coalesce(sum(jsonb_array_length(entries)), 0) FROM callback_queues"
    if site is None:
        return int(conn.execute(sql).fetchone()[0])
    return int(conn.execute(sql + " WHERE site_id = %s", (site.id,)).fetchone()[0])


# -- calls -----------------------------------------------------------------------------------

def calls(conn: psycopg.Connection, site: SiteInfo | None, tz: tzinfo, flt: CallFilter,
          limit: int = DEFAULT_LIMIT) -> tuple[list[dict], bool]:
    """(calls newest first in the /api/calls shape plus "site", whether more matched)."""
    low, high = day_bounds(flt.start, flt.end, tz)
    where, args = ["TRUE"], []
    if low != float("-inf"):
        where.append("offered_at >= %s")
        args.append(low)
    if high != float("inf"):
        where.append("offered_at < %s")
        args.append(high)
    if site is not None:
        where.append("site_id = %s")
        args.append(site.id)
    for column in ("campaign", "source", "status", "direction"):
        value = getattr(flt, column)
        if value is not None:
            where.append(f"{column} = %s")
            args.append(value)
    if flt.number is not None:
        where.append("(caller = %s OR callee = %s)")
        args += [flt.number, flt.number]
    if flt.extension is not None:
        where.append("(answered_by = %s OR extension = %s OR %s = ANY(rang) "
                     "OR (direction = %s AND callee = %s))")
        args += [flt.extension] * 3 + [INTERNAL, flt.extension]
    sites = all_sites(conn)
    sql = (f"SELECT site_id, doc, offered_at, call_id FROM calls WHERE {' AND '.join(where)} "
           "ORDER BY offered_at DESC, call_id DESC LIMIT %s")
    if site is None:
        # The newest of each site's newest (its index, backwards) as narrow keys, not whole
        # rows (sites x limit docs copied and sorted: 0.15 against 0.10 s at 1M rows); then
        # only the `limit` + 1 chosen rows are read whole, by primary key.
        newest = sql.replace("SELECT site_id, doc, offered_at, call_id",
                             "SELECT site_id, offered_at, call_id"
                             ).replace("WHERE TRUE", "WHERE site_id = s.id")
        sql = ("SELECT c.site_id, c.doc FROM (SELECT n.site_id, n.offered_at, n.call_id "
               f"FROM sites s CROSS JOIN LATERAL ({newest}) n "
               "ORDER BY n.offered_at DESC, n.call_id DESC LIMIT %s) top "
               "JOIN calls c ON c.site_id = top.site_id AND c.call_id = top.call_id "
               "ORDER BY top.offered_at DESC, top.call_id DESC")
        args = [*args, limit + 1]
    rows = conn.execute(sql, [*args, limit + 1]).fetchall()
    out = []
    for site_id, doc, *_ in rows[:limit]:
        info = sites.get(site_id)
        out.append({**to_api(doc, info.tz if info else tz), "site": info.name if info else ""})
    return out, len(rows) > limit


def call(conn: psycopg.Connection, site: SiteInfo | None, call_site: str,
         call_id: str) -> dict | None:
    info = site_info(conn, call_site)
    if info is None or (site is not None and site.id != info.id):
        return None
    row = conn.execute("SELECT doc FROM calls WHERE site_id = %s AND call_id = %s",
                       (info.id, call_id)).fetchone()
    return {**to_api(row[0], info.tz), "site": info.name} if row else None


# -- callbacks and sites ---------------------------------------------------------------------

def callbacks(conn: psycopg.Connection, site: SiteInfo | None) -> list[dict]:
    """Every site's queue (or one site's) as its box sent it (/api/callbacks items) plus
    "site", longest-waiting first."""
    sql = ("SELECT s.name, s.timezone, q.entries FROM callback_queues q "
           "JOIN sites s ON s.id = q.site_id")
    args: list[Any] = []
    if site is not None:
        sql += " WHERE q.site_id = %s"
        args.append(site.id)
    out = []
    for name, _timezone, entries in conn.execute(sql, args):
        out += [{**entry, "site": name} for entry in entries]
    out.sort(key=lambda e: (_moment(e.get("first_missed_at")), e["site"], e["number"]))
    return out


def _moment(text: Any) -> float:
    """An ISO time with offset as epoch seconds (0 when missing or unreadable)."""
    try:
        return datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError):
        return 0.0


def sites(conn: psycopg.Connection, tz: tzinfo, names: list[str] | None = None) -> list[dict]:
    """/api/sites: every site that reported or is configured, with its all-time calls."""
    fmt = iso_formatter(tz)
    found = {name: {"name": name, "last_seen": fmt(seen), "calls": int(count),
                    "timezone": timezone, "box_version": version}
             for name, seen, count, timezone, version in conn.execute(
                 "SELECT name, extract(epoch FROM last_seen)::float8, calls, timezone, "
                 "box_version FROM sites ORDER BY name")}
    for name in names or ():
        found.setdefault(name, {"name": name, "last_seen": None, "calls": 0,
                                "timezone": None, "box_version": None})
    return sorted(found.values(), key=lambda s: s["name"])
