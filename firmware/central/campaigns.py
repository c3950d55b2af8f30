"""/api/campaigns on the central: the box's `figures.campaign_figures` rules over a site's
calls (or all sites'), with the campaigns each box reported from its config (site_reports.py).

Like /api/summary (figures.summary): up to CALLS_FROM_ROWS calls in the period the entries
are the box's own `campaign_figures` over the same stat columns the box builds, so a site's
answer equals its box's; beyond (a year of all sites) the tallies are sums of the rollups,
turned into entries by the same `campaign_entries`. The counts and values are the same sums
either way; only a campaign no longer configured takes its source from the latest day's
group rather than from its very last call.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

import psycopg

from firmware.central import rollup, site_reports
from firmware.central.figures import CALLS_FROM_ROWS, SiteInfo, columns, stat_rows, stat_sql
from firmware.tracker.figures import campaign_entries, campaign_figures
from firmware.tracker.query import day_bounds

GROUPED_SQL = """
SELECT campaign, source, max(day), sum(calls), sum(answered), sum(missed), sum(target),
       sum(first_time), sum(value_sum)
FROM call_rollups WHERE site_id = %s AND zone = %s AND day BETWEEN %s AND %s
GROUP BY campaign, source
"""
COUNT_SQL = ("SELECT coalesce(sum(calls), 0) FROM call_rollups "
             "WHERE site_id = %s AND zone = %s AND day BETWEEN %s AND %s")


def campaigns(conn: psycopg.Connection, site: SiteInfo | None, zone: str, start: date,
              end: date) -> list[dict]:
    """The /api/campaigns entries of one site (in its zone) or all sites (`zone`: the
    central's, campaigns merged by name) for local days start..end."""
    if site is not None and site.id < 0:          # configured, never reported
        return []
    configured = site_reports.configured_campaigns(conn, None if site is None else site.id)
    key = rollup.ALL_SITES if site is None else site.id
    zone = zone if site is None else site.timezone
    counted = conn.execute(COUNT_SQL, (key, zone, start, end)).fetchone()[0]
    if counted <= CALLS_FROM_ROWS:
        return _from_calls(conn, site, ZoneInfo(zone), start, end, configured)
    return _from_rollups(conn, key, zone, start, end, configured)


def _from_calls(conn, site, tz, start, end, configured) -> list[dict]:
    low, high = day_bounds(start, end, tz)
    sql, args = stat_sql(site, low, high)
    with conn.cursor() as cur:
        cur.execute(sql, args)
        rows = stat_rows(cur.fetchall(), tz)
    return campaign_figures(columns(rows), configured, start, end)


def _from_rollups(conn, key, zone, start, end, configured) -> list[dict]:
    tallies = {name: Counter() for name in ("calls", "answered", "missed", "target",
                                            "first_time", "value")}
    latest: dict[str, tuple] = {}
    for (campaign, source, last_day, calls, answered, missed, target, first_time,
         value) in conn.execute(GROUPED_SQL, (key, zone, start, end)):
        for name, amount in (("calls", calls), ("answered", answered), ("missed", missed),
                             ("target", target), ("first_time", first_time)):
            tallies[name][campaign] += int(amount)
        tallies["value"][campaign] += float(value)
        latest[campaign] = max(latest.get(campaign, (last_day, source)), (last_day, source))
    sources = {campaign: source for campaign, (_, source) in latest.items()}
    return campaign_entries(tallies, sources, configured, start, end)
