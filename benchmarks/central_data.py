"""Generated calls for the central's benchmark, made inside PostgreSQL (bounded in time).

The issue's scale is 200 sites x 100,000 calls a year (20M rows). Made in Python, row by row
(`bench_central._record` + COPY), that takes about 1.5 h on a 2-core VM; made by the server
from `generate_series` it takes minutes. Each column is the Python generator's rule
(`bench_central._record`: the same four campaigns, 80% answered, waits 1-30 s, talks 5-400 s,
target = answered, >= 30 s and 60%, value = the campaign's lead value when target, 2/3 mobile,
half first-time callers, one call per year/count slot) with a uniform number taken from
`hashint8extended(site << 32 | n, k)`: deterministic (the same rows every run, in any order
or split) with no random state to carry. `doc` is the record as a box sends it, built by
`jsonb_build_object` with the generator's keys.

How the rows get in (benchmarks/bench_central.py `run`; docs/central.md, "Measured at 20M"):
`load` copies `COPY (SELECT ... generate_series ...) TO STDOUT` of one connection into
`COPY calls FROM STDIN` of another (the bytes pass through Python untouched), after
TRUNCATE in the same transaction (with wal_level=minimal the rows are not WAL-logged) and
with the secondary indexes and the primary key dropped; they are rebuilt after, from the
definitions the migrations made (read from the catalog, so a new index is kept too).
The callback queues and campaign sets are small and written as one INSERT each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psycopg

YEAR_START = 1704063600.0          # 2024-01-01 00:00 Warsaw (bench_central.YEAR_START)
YEAR_SECONDS = 366 * 86400
CAMPAIGNS = [("Shop window", "Outdoor", 300.0), ("Newspaper", "Print", 100.0),
             ("Google", "google/cpc", 200.0), ("Radio", "Radio", 150.0)]
QUEUE_LENGTH = 25                  # callers waiting to be called back, per site


def _uniform(k: int) -> str:
    """SQL for a uniform float in [0, 1) from the row's key (53 bits of a seeded hash)."""
    return (f"(((hashint8extended(k.key, {k}) >> 11) & 9007199254740991)::float8"
            " / 9007199254740992.0)")


def _array(values) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


def _json_text(value: str) -> str:
    """SQL for a JSON string of an SQL text value that needs no escaping (digits, names)."""
    return f"'\"' || {value} || '\"'"


# One row per (site, n): the rows of bench_central._record, the same columns as COPY there
# plus answered_by (what ingestion stores). Rows come out site by site in time order, as
# ingestion would have stored them over the year. `doc` is written as JSON text (floats as
# PostgreSQL's shortest round-trip text, as Python's repr): building it with
# jsonb_build_object cost ~3x the rest of the row.
ROWS_SQL = f"""
SELECT k.site_id, r.call_id, k.n + 1 AS seq, t.offered_at, 'inbound' AS direction,
       r.status, r.caller, '+48221234567' AS callee, r.campaign, r.source, r.answered_by,
       r.wait AS wait_seconds, t.talk AS talk_seconds, t.target, r.first_time, t.value,
       r.line_type,
       '{{"id":"' || r.call_id || '","direction":"inbound","caller":"' || r.caller
       || '","callee":"+48221234567","campaign":"' || r.campaign || '","source":"' || r.source
       || '","offered_at":' || t.offered_at || ',"ended_at":' || (t.offered_at + r.wait + t.talk)
       || ',"wait_seconds":' || r.wait || ',"talk_seconds":' || t.talk || ',"status":"'
       || r.status || '","answered_by":' || coalesce('"' || r.answered_by || '"', 'null')
       || ',"line_type":"' || r.line_type || '","lead_value":' || r.lead || ',"target":'
       || t.target || ',"first_time":' || r.first_time || ',"value":' || t.value || '}}' AS doc
FROM (SELECT s.id AS site_id, n, {YEAR_SECONDS}.0 / s.calls AS step,
             (s.id::bigint << 32) | n AS key
      FROM (SELECT id, calls FROM sites WHERE id BETWEEN %(first)s AND %(last)s
            ORDER BY id) s CROSS JOIN LATERAL generate_series(0, s.calls - 1) AS n) k
CROSS JOIN LATERAL (
    SELECT 'c' || lpad(k.n::text, 9, '0') AS call_id, c.campaign, c.source, c.lead,
           a.answered, CASE WHEN a.answered THEN 'answered' ELSE 'missed' END AS status,
           CASE WHEN a.answered THEN '101' END AS answered_by,
           round(10 * (1 + 29 * {_uniform(3)})) / 10 AS wait,
           '+48501' || lpad(floor(1000000 * {_uniform(6)})::int::text, 6, '0') AS caller,
           ({_array(['mobile', 'mobile', 'fixed_line'])})[1 + floor(3 * {_uniform(7)})::int]
               AS line_type,
           {_uniform(8)} < 0.5 AS first_time
    FROM (SELECT ({_array(c[0] for c in CAMPAIGNS)})[i] AS campaign,
                 ({_array(c[1] for c in CAMPAIGNS)})[i] AS source,
                 (ARRAY[{", ".join(str(c[2]) for c in CAMPAIGNS)}]::float8[])[i] AS lead
          FROM (SELECT 1 + floor({len(CAMPAIGNS)} * {_uniform(1)})::int AS i) AS pick) AS c,
         (SELECT {_uniform(2)} < 0.8 AS answered) AS a
) r
CROSS JOIN LATERAL (
    SELECT y.offered_at, x.talk, y.target, CASE WHEN y.target THEN r.lead ELSE 0 END AS value
    FROM (SELECT CASE WHEN r.answered THEN round(10 * (5 + 395 * {_uniform(4)})) / 10
                      ELSE 0 END::float8 AS talk) AS x,
    LATERAL (SELECT {YEAR_START} + k.n * k.step + k.step * {_uniform(9)} AS offered_at,
                    r.answered AND x.talk >= 30 AND {_uniform(5)} < 0.6 AS target) AS y
) t
"""

CALL_COLUMNS = ("site_id, call_id, seq, offered_at, direction, status, caller, callee, "
                "campaign, source, answered_by, wait_seconds, talk_seconds, target, "
                "first_time, value, line_type, doc")

# Each site's callback queue as its box would send it (/api/callbacks items), and its
# campaign set (the box's [[campaign]] tables), so the callbacks list and /api/campaigns read
# what a real chain would have.
QUEUES_SQL = f"""
INSERT INTO callback_queues (site_id, seq, entries)
SELECT s.id, 1, jsonb_agg(jsonb_build_object(
    'number', '+48502' || lpad(((s.id * 7919 + q * 104729) % 1000000)::text, 6, '0'),
    'missed_calls', 1 + q % 3,
    'first_missed_at', to_char(to_timestamp({YEAR_START} + {YEAR_SECONDS} - 3600 * (q * 5 + s.id
        % 7)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
    'last_missed_at', to_char(to_timestamp({YEAR_START} + {YEAR_SECONDS} - 3600 * q * 5)
        AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
    'campaign', ({_array(c[0] for c in CAMPAIGNS)})[1 + q % {len(CAMPAIGNS)}]) ORDER BY q)
FROM sites s CROSS JOIN generate_series(1, {QUEUE_LENGTH}) AS q
GROUP BY s.id
"""
CAMPAIGN_SETS_SQL = """
INSERT INTO site_campaigns (site_id, seq, campaigns)
SELECT s.id, 1, %s::jsonb FROM sites s
"""


@dataclass
class Loaded:
    """What `load` did and how long each step took (seconds)."""

    rows: int = 0
    steps: dict[str, float] = field(default_factory=dict)


def add_sites(conn: psycopg.Connection, sites: int, calls: int, big_site: int = 0) -> None:
    """Sites "Site 1".."Site N" in Europe/Warsaw with their call counts (Site 1: big_site)."""
    conn.execute("INSERT INTO sites (name, timezone, calls) SELECT 'Site ' || n, "
                 "'Europe/Warsaw', %s FROM generate_series(1, %s) n", (calls, sites))
    if big_site:
        conn.execute("UPDATE sites SET calls = %s WHERE name = 'Site 1'", (big_site,))


def _indexes(conn: psycopg.Connection) -> tuple[list[str], list[str]]:
    """(the statements that drop the calls table's primary key and indexes, the statements
    that make them again), read from the catalog."""
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'calls'::regclass AND contype IN ('p', 'u')").fetchall()
    owned = {name for name, _ in constraints}
    indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = "
                           "'calls' AND schemaname = current_schema()").fetchall()
    drop = [f'ALTER TABLE calls DROP CONSTRAINT "{name}"' for name, _ in constraints]
    drop += [f'DROP INDEX "{name}"' for name, _ in indexes if name not in owned]
    make = [f'ALTER TABLE calls ADD CONSTRAINT "{name}" {definition}'
            for name, definition in constraints]
    make += [definition for name, definition in indexes if name not in owned]
    return drop, make


def load(dsn: str, sites: int, calls: int, big_site: int = 0) -> Loaded:
    """Fill an empty, migrated database: sites, their calls (COPY of generated rows), the
    calls' indexes rebuilt, queues and campaign sets, then VACUUM ANALYZE."""
    import json

    done = Loaded()
    began = time.perf_counter()
    with psycopg.connect(dsn) as conn, psycopg.connect(dsn) as source:
        add_sites(conn, sites, calls, big_site)
        conn.commit()
        total = conn.execute("SELECT coalesce(sum(calls), 0) FROM sites").fetchone()[0]
        drop, make = _indexes(conn)
        conn.execute("TRUNCATE calls")            # this transaction's new file: no WAL
        for statement in drop:
            conn.execute(statement)
        last = conn.execute("SELECT max(id) FROM sites").fetchone()[0]
        with conn.cursor().copy(f"COPY calls ({CALL_COLUMNS}) FROM STDIN") as into, \
                source.cursor().copy(f"COPY ({ROWS_SQL}) TO STDOUT",
                                     {"first": 1, "last": last}) as out:
            for block in out:
                into.write(block)
        source.rollback()
        done.steps["copy"] = time.perf_counter() - began
        mark = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '1GB'")
        for statement in make:
            conn.execute(statement)
        done.steps["indexes"] = time.perf_counter() - mark
        conn.execute(QUEUES_SQL)
        conn.execute(CAMPAIGN_SETS_SQL, (json.dumps([
            {"name": name, "number": f"+4822123456{n}", "source": source_name,
             "lead_value": lead, "cost_per_month": 500.0 * (n + 1)}
            for n, (name, source_name, lead) in enumerate(CAMPAIGNS)]),))
        conn.commit()
        mark = time.perf_counter()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE calls")
        done.steps["vacuum"] = time.perf_counter() - mark
    done.rows = int(total)
    done.steps["total"] = time.perf_counter() - began
    return done
