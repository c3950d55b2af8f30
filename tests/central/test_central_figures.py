"""The central's figures from its rollups equal the box's `stats.summarize` over the same calls:
per site in the site's zone, all sites in the central's, across DST changes, after updates,
after a site's zone changes and after the central's zone changes (rebuilt at start)."""

from __future__ import annotations

import random
from datetime import date
from zoneinfo import ZoneInfo

import psycopg
import pytest

from firmware.central import figures, rollup
from firmware.central.ingest import parse_batch, store_batch
from firmware.tracker.stats import columns_of, summarize

WARSAW, LONDON = "Europe/Warsaw", "Europe/London"
START = 1711580400.0            # 2024-03-28 00:00 Warsaw: the period spans the DST change
PERIODS = [(date(2024, 3, 28), date(2024, 4, 3)), (date(2024, 3, 31), date(2024, 3, 31)),
           (date(2024, 3, 1), date(2024, 4, 30)), (date(2024, 4, 2), date(2024, 4, 2))]
CAMPAIGNS = [("Shop window", "Outdoor"), ("Newspaper", "Print"), ("Google", "google/cpc"),
             ("", "")]


def make_records(seed: int, count: int = 300) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        start = START + rng.uniform(0, 7 * 86400)
        campaign, source = rng.choice(CAMPAIGNS)
        status = rng.choice(["answered", "answered", "missed"])
        direction = "inbound" if campaign or rng.random() < 0.5 else "outbound"
        if direction == "outbound":
            status = rng.choice(["answered", "unanswered"])
        wait = round(rng.uniform(0, 40), 1)
        out.append({
            "id": f"s{seed}-{n:04d}", "direction": direction, "caller": "+48501234567",
            "callee": "+48221234567", "campaign": campaign, "source": source,
            "offered_at": start, "ended_at": start + wait + 60, "wait_seconds": wait,
            "talk_seconds": 60.0 if status == "answered" else 0.0, "status": status,
            "line_type": rng.choice(["mobile", "fixed_line", None]),
            "target": rng.random() < 0.3, "first_time": rng.random() < 0.5,
            "value": rng.choice([0.0, 300.0, 99.99, 0.1, 1234.55]),
            "callback": {"how": "called_again"} if rng.random() < 0.1 else None})
    return out


def ingest(conn, site: str, zone: str, records: list[dict], central_zone: str = WARSAW,
           first_seq: int = 1) -> None:
    entries = [{"seq": first_seq + n, "kind": "call", "record": r}
               for n, r in enumerate(records)]
    for at in range(0, len(entries), 100):
        batch = parse_batch({"site": site, "timezone": zone, "entries": entries[at:at + 100]})
        assert batch.refused == []
        with conn.transaction():
            store_batch(conn, batch, central_zone)


def box_figures(records: list[dict], zone: str, start: date, end: date) -> dict:
    return summarize(columns_of(records, ZoneInfo(zone)), start, end, 0)


@pytest.fixture
def conn(pg_dsn):
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield conn


def test_rollups_give_the_box_figures_per_site_and_for_all_sites(conn):
    krakow, london = make_records(1), make_records(2)
    ingest(conn, "Kraków", WARSAW, krakow)
    ingest(conn, "London", LONDON, london)
    # a wrap-up changes one call's value later
    krakow[5] = {**krakow[5], "value": 777.77}
    ingest(conn, "Kraków", WARSAW, [krakow[5]], first_seq=1000)
    sites = {s.name: s for s in figures.all_sites(conn).values()}
    for start, end in PERIODS:
        for name, records, zone in (("Kraków", krakow, WARSAW), ("London", london, LONDON)):
            expected = box_figures(records, zone, start, end)
            assert figures.summary(conn, sites[name], WARSAW, start, end) == expected
            assert figures.summary_from_calls(conn, sites[name], ZoneInfo(zone), start,
                                              end) == expected
        expected = box_figures(krakow + london, WARSAW, start, end)
        assert figures.summary(conn, None, WARSAW, start, end) == expected


def test_zone_changes_rebuild_the_rollups(conn):
    records = make_records(3)
    ingest(conn, "Kraków", WARSAW, records)
    ingest(conn, "Kraków", LONDON, records[:1], first_seq=500)   # the box moved to London
    site = figures.site_info(conn, "Kraków")
    for start, end in PERIODS:
        assert figures.summary(conn, site, WARSAW, start, end) == \
            box_figures(records, LONDON, start, end)
    with conn.transaction():
        rollup.ensure(conn, "America/New_York")                  # central.toml's zone changed
    for start, end in PERIODS:
        assert figures.summary(conn, None, "America/New_York", start, end) == \
            box_figures(records, "America/New_York", start, end)
    zones = {row[0] for row in conn.execute("SELECT DISTINCT zone FROM call_rollups")}
    assert zones == {LONDON, "America/New_York"}


def test_campaign_figures_from_calls_and_from_rollups_equal_the_box(conn, monkeypatch):
    from types import SimpleNamespace

    from firmware.central import campaigns
    from firmware.tracker.figures import campaign_figures

    krakow, london = make_records(4), make_records(5)
    configured = [{"name": "Shop window", "number": "+48221234567", "source": "Outdoor",
                   "lead_value": 300, "cost_per_month": 600.0, "ring": ["101"]},
                  {"name": "Radio", "source": "Radio", "cost_per_month": 90}]
    batch = parse_batch({"site": "Kraków", "timezone": WARSAW, "entries": [
        {"seq": 1, "kind": "campaigns", "campaigns": configured}]})
    assert batch.refused == []
    with conn.transaction():
        store_batch(conn, batch, WARSAW)
    ingest(conn, "Kraków", WARSAW, krakow, first_seq=2)
    ingest(conn, "London", LONDON, london)
    box_campaigns = [SimpleNamespace(name=c["name"], source=c["source"],
                                     cost_per_month=c["cost_per_month"]) for c in configured]
    sites = {s.name: s for s in figures.all_sites(conn).values()}
    for rows_at_most in (campaigns.CALLS_FROM_ROWS, 0):        # from calls, from rollups
        monkeypatch.setattr(campaigns, "CALLS_FROM_ROWS", rows_at_most)
        for start, end in PERIODS:
            for name, records, zone, listed in (("Kraków", krakow, WARSAW, box_campaigns),
                                                ("London", london, LONDON, [])):
                expected = campaign_figures(columns_of(records, ZoneInfo(zone)), listed,
                                            start, end)
                assert campaigns.campaigns(conn, sites[name], WARSAW, start, end) == expected
            expected = campaign_figures(columns_of(krakow + london, ZoneInfo(WARSAW)),
                                        box_campaigns, start, end)
            assert campaigns.campaigns(conn, None, WARSAW, start, end) == expected
