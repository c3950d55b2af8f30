"""What the 20M-row bench relies on, at a small size: the calls generated inside PostgreSQL
(benchmarks/central_data.py) are the Python generator's calls, deterministic, and read by
the central's own code as ingested calls are; the all-sites call list is the newest of all
sites; the central's connections never JIT-compile."""

from __future__ import annotations

import base64
import random
from datetime import date
from zoneinfo import ZoneInfo

import psycopg

from benchmarks import central_data
from benchmarks.bench_central import _record
from firmware.central import figures, rollup
from firmware.central.db import Database, connect

YEAR = (date(2024, 1, 1), date(2024, 12, 31))


def _load(dsn: str, sites: int = 3, calls: int = 300) -> None:
    central_data.load(dsn, sites, calls, big_site=calls * 2)
    with connect(dsn) as conn:
        rollup.ensure(conn, "Europe/Warsaw")
        conn.commit()


def _owner(central_client) -> dict:
    central_client.application.extensions["central"].users.set_password(
        "anna", "a-long-password", "owner")
    return {"Authorization": "Basic " + base64.b64encode(b"anna:a-long-password").decode()}


def test_generated_calls_are_the_python_generators_calls(pg_dsn, pg_cluster):
    _load(pg_dsn)
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute("SELECT site_id, call_id, seq, offered_at, status, campaign, "
                            "source, value, target, talk_seconds, answered_by, line_type, doc "
                            "FROM calls ORDER BY site_id, seq").fetchall()
        names = dict(conn.execute("SELECT id, name FROM sites"))
        indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'calls'"
                               ).fetchone()[0]
        queues = conn.execute("SELECT count(*), min(jsonb_array_length(entries)) "
                              "FROM callback_queues").fetchone()
    assert len(rows) == 600 + 2 * 300 and indexes == 2          # the pkey and the site's time
    assert queues == (3, central_data.QUEUE_LENGTH)
    python_keys = set(_record(0, random.Random(1), central_data.YEAR_START))
    leads = {name: lead for name, _, lead in central_data.CAMPAIGNS}
    sources = {name: source for name, source, _ in central_data.CAMPAIGNS}
    for (site, call_id, seq, offered, status, campaign, source, value, target, talk,
         answered_by, line_type, doc) in rows:
        assert set(doc) == python_keys
        assert (doc["id"], doc["offered_at"], doc["status"], doc["campaign"], doc["source"],
                doc["value"], doc["target"], doc["talk_seconds"], doc["answered_by"],
                doc["line_type"]) == (call_id, offered, status, campaign, source, value,
                                      target, talk, answered_by, line_type)
        assert call_id == f"c{seq - 1:09d}" and source == sources[campaign]
        assert status in ("answered", "missed") and line_type in ("mobile", "fixed_line")
        assert value == (leads[campaign] if target else 0)
        assert not target or (status == "answered" and talk >= 30)
        assert 1 <= doc["wait_seconds"] <= 30 and doc["lead_value"] == leads[campaign]
        step = 366 * 86400 / (600 if names[site] == "Site 1" else 300)
        assert central_data.YEAR_START + (seq - 1) * step <= offered \
            < central_data.YEAR_START + seq * step
    answered = sum(r[4] == "answered" for r in rows) / len(rows)
    assert 0.7 < answered < 0.9                                   # the generator's 80%
    assert {r[5] for r in rows} == set(leads)
    # deterministic: the same rows in another database
    again = pg_cluster.create_database("central_scale_again")
    with psycopg.connect(again) as conn:
        from firmware.central.db import migrate
        migrate(conn)
    central_data.load(again, 3, 300, big_site=600)
    digest = ("SELECT md5(string_agg(site_id || call_id || offered_at || status || doc::text, "
              "',' ORDER BY site_id, call_id)) FROM calls")
    with psycopg.connect(pg_dsn) as one, psycopg.connect(again) as other:
        assert one.execute(digest).fetchone() == other.execute(digest).fetchone()


def test_the_rollups_of_generated_calls_give_the_figures_of_the_calls(pg_dsn):
    _load(pg_dsn)
    with connect(pg_dsn) as conn:
        for site in (figures.site_info(conn, "Site 1"), figures.site_info(conn, "Site 3"),
                     None):
            from_rollups = figures.rollup_summary(conn, site, "Europe/Warsaw", *YEAR)
            from_calls = figures.summary_from_calls(conn, site, ZoneInfo("Europe/Warsaw"),
                                                    *YEAR)
            for key in ("answered", "missed", "avg_wait_seconds", "target_calls",
                        "first_time_callers", "top_campaigns", "calls_by_hour",
                        "value_over_time", "caller_line_types", "value"):
                assert from_rollups[key] == from_calls[key], key


def test_the_all_sites_call_list_is_the_newest_calls_of_all_sites(pg_dsn, central_client):
    _load(pg_dsn, sites=3, calls=40)
    auth = _owner(central_client)
    with psycopg.connect(pg_dsn) as conn:
        every = conn.execute("SELECT s.name, c.call_id, c.campaign FROM calls c JOIN sites s "
                             "ON s.id = c.site_id ORDER BY c.offered_at DESC, c.call_id DESC"
                             ).fetchall()
    listed = central_client.get("/api/calls?limit=25", headers=auth).json
    assert [(c["site"], c["id"]) for c in listed["calls"]] == [r[:2] for r in every[:25]]
    assert listed["truncated"] is True
    radio = [r[:2] for r in every if r[2] == "Radio"]
    listed = central_client.get("/api/calls?campaign=Radio&limit=1000", headers=auth).json
    assert [(c["site"], c["id"]) for c in listed["calls"]] == radio
    assert listed["truncated"] is False and listed["calls"][0]["campaign"] == "Radio"
    week = central_client.get("/api/calls?from=2024-12-23&to=2024-12-29&limit=1000",
                              headers=auth).json["calls"]
    assert week and all("2024-12-23" <= c["started_at"][:10] <= "2024-12-29" for c in week)


def test_the_centrals_connections_never_jit_compile(pg_dsn):
    db = Database(pg_dsn)
    try:
        with db.connection() as conn:
            assert conn.execute("SHOW jit").fetchone()[0] == "off"
        with db.connection() as conn:                    # the pooled one too
            assert conn.execute("SHOW jit").fetchone()[0] == "off"
    finally:
        db.close()
