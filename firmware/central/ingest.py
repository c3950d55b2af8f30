"""What boxes report: a batch of outbox entries, checked (pure) and stored (idempotently).

A batch is `{"site", "timezone", "version", "entries": [...]}`; an entry is
`{"seq": n, "kind": "call", "record": {...}}` (a call record, whole, as the box's journal
holds it, after any wrap-up) or `{"seq": n, "kind": "queue", "callbacks": [...]}` (the
site's callback queue as it stands); `campaigns` and `contact` entries are site_reports.py's.
Each is an upsert keyed by (site, call id), (site, contact id) or by site that only takes a
version newer than the stored one (a higher `seq`), so a replay, a retry or an old entry
arriving late changes nothing. A bad entry is refused on its own (the answer
lists it) so one bad record never blocks a box's outbox; keys a newer box adds are kept in
`doc`.
"""

from __future__ import annotations

import json
import logging
import math
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from firmware.central import rollup, site_reports
from firmware.tracker.callrecord import CallRecord
from firmware.tracker.records import DIRECTIONS, STATUSES

logger = logging.getLogger(__name__)

MAX_ENTRIES = 1000
MAX_TEXT = 200
KINDS = ("call", "queue", "campaigns", "contact")


class BadBatch(ValueError):
    """The batch as a whole cannot be read (400); `field` names where."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class Batch:
    site: str
    timezone: str
    version: str
    calls: list[tuple] = field(default_factory=list)       # rows for the calls table
    positions: list[int] = field(default_factory=list)     # each call's index in entries
    calls_json: str = ""                                   # the rows, for the merge
    queue: tuple[int, list] | None = None                  # (seq, entries): the newest only
    refused: list[dict] = field(default_factory=list)      # [{"seq", "error"}]
    campaigns: tuple[int, list] | None = None              # (seq, campaigns): the newest only
    contacts: list[tuple] = field(default_factory=list)    # rows for the contacts table
    count: int = 0
    upto: int = 0                                          # highest seq in the batch


def parse_batch(body: Any) -> Batch:
    """A Batch from a decoded JSON body; BadBatch when the batch itself is malformed."""
    if not isinstance(body, dict):
        raise BadBatch("body", "must be a JSON object")
    site = _text(body, "site", required=True)
    tz = _text(body, "timezone") or "UTC"
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BadBatch("timezone", f"unknown time zone {tz!r}") from None
    entries = body.get("entries")
    if not isinstance(entries, list):
        raise BadBatch("entries", "must be a list")
    if len(entries) > MAX_ENTRIES:
        raise BadBatch("entries", f"at most {MAX_ENTRIES} in one batch")
    batch = Batch(site, tz, _text(body, "version") or "")
    for position, entry in enumerate(entries):
        seq = entry.get("seq") if isinstance(entry, dict) else None
        try:
            if seq.__class__ is not int or seq < 0:
                raise ValueError("seq must be a whole number >= 0")
            batch.upto = max(batch.upto, seq)
            kind = entry.get("kind")
            if kind == "call":
                batch.calls.append(call_row(seq, entry.get("record")))
                batch.positions.append(position)
            elif kind == "queue":
                batch.queue = max(batch.queue or (-1, []), (seq, queue_entries(entry)),
                                  key=lambda q: q[0])
            elif kind == "campaigns":
                batch.campaigns = max(batch.campaigns or (-1, []),
                                      (seq, site_reports.campaigns_entry(entry)),
                                      key=lambda c: c[0])
            elif kind == "contact":
                batch.contacts.append(site_reports.contact_row(seq, entry))
            else:
                raise ValueError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
            batch.count += 1
        except ValueError as exc:
            batch.refused.append({"seq": seq if seq.__class__ is int else None,
                                  "index": position, "error": str(exc)})
    if batch.calls:
        batch.calls_json = encode_calls(batch)
        batch.refused.sort(key=lambda refused: refused["index"])
    return batch


def call_row(seq: int, doc: Any) -> tuple:
    """The calls-table row of one reported record; ValueError when it is not a record."""
    if not isinstance(doc, dict):
        raise ValueError("record must be a JSON object")
    record = CallRecord.from_doc(doc)            # ValueError without id, times, status
    if not 1 <= len(record.id) <= 100:
        raise ValueError("record id must be 1 to 100 characters")
    if record.direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {record.direction!r}")
    if record.status not in STATUSES:
        raise ValueError(f"unknown status {record.status!r}")
    texts = [_field_text(record, key) for key in
             ("caller", "callee", "campaign", "source", "extension")]
    answered_by = record.answered_by
    if answered_by is not None:
        answered_by = _field_text(record, "answered_by")
    line_type = record.line_type
    if line_type is not None:
        line_type = _field_text(record, "line_type")
    rang = list(record.rang)
    if not all(isinstance(ext, str) and len(ext) <= MAX_TEXT for ext in rang):
        raise ValueError("rang must be a list of extensions")
    numbers = [_field_number(record, key) for key in ("offered_at", "wait_seconds",
                                                       "talk_seconds", "value")]
    for flag in ("target", "first_time"):
        if not isinstance(getattr(record, flag), bool):
            raise ValueError(f"{flag} must be true or false")
    return (record.id, seq, numbers[0], record.direction, record.status, *texts, answered_by,
            rang, numbers[1], numbers[2], record.target, record.first_time, numbers[3],
            line_type, bool(record.callback), doc)


_encode = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode   # one, reused


def encode_calls(batch: Batch) -> str:
    """The batch's call rows as one JSON array of objects (what the merge reads with
    json_to_recordset): one C-level encoding for the whole batch. A record holding a NaN or an
    infinity (Python's json reads them) is taken out and refused on its own."""
    rows = [dict(zip(FIELD_NAMES, row)) for row in batch.calls]
    try:
        return _encode(rows)
    except ValueError:
        pass
    kept, kept_rows = [], []
    kept_positions = []
    for row, position, call in zip(rows, batch.positions, batch.calls):
        try:
            _encode(row)
        except ValueError:
            batch.refused.append({"seq": call[1], "index": position,
                                  "error": "record holds a NaN or an infinity"})
            batch.count -= 1
            continue
        kept.append(call)
        kept_rows.append(row)
        kept_positions.append(position)
    batch.calls, batch.positions = kept, kept_positions
    return _encode(kept_rows)


def queue_entries(entry: dict) -> list:
    callbacks = entry.get("callbacks")
    if not isinstance(callbacks, list) or not all(
            isinstance(c, dict) and isinstance(c.get("number"), str) for c in callbacks):
        raise ValueError("callbacks must be a list of objects with a number")
    return callbacks


def _field_text(record: CallRecord, key: str) -> str:
    value = getattr(record, key)
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError(f"{key} must be text of at most {MAX_TEXT} characters")
    return value


def _field_number(record: CallRecord, key: str) -> float:
    value = getattr(record, key)
    if value.__class__ not in (int, float) or not math.isfinite(value):
        raise ValueError(f"{key} must be a number")
    return float(value)


def _text(body: dict, key: str, required: bool = False) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise BadBatch(key, f"must be text of 1 to {MAX_TEXT} characters")
    return value.strip()


# -- storing ---------------------------------------------------------------------------------

CALL_COLUMNS = ("site_id, call_id, seq, offered_at, direction, status, caller, callee, "
                "campaign, source, extension, answered_by, rang, wait_seconds, talk_seconds, "
                "target, first_time, value, line_type, recovered, doc")

# A batch is merged in one statement from one JSON parameter (no temporary table, no COPY, so
# the whole batch fits in one pipeline): the newest version of each call in the batch (a
# record and its wrap-up may come together), and only where it is newer than the stored one.
# RETURNING tells new calls (xmax = 0) from new versions, and the same statement adds the new
# ones to sites.calls. Floats travel as Python's repr, which float8 reads back bit for bit.
_FIELD_TYPES = (("call_id", "text"), ("seq", "int8"), ("offered_at", "float8"),
                ("direction", "text"), ("status", "text"), ("caller", "text"),
                ("callee", "text"), ("campaign", "text"), ("source", "text"),
                ("extension", "text"), ("answered_by", "text"), ("rang", "text[]"),
                ("wait_seconds", "float8"), ("talk_seconds", "float8"), ("target", "bool"),
                ("first_time", "bool"), ("value", "float8"), ("line_type", "text"),
                ("recovered", "bool"), ("doc", "jsonb"))
FIELD_NAMES = tuple(name for name, _ in _FIELD_TYPES)
_RECORDSET = ", ".join(f"{name} {kind}" for name, kind in _FIELD_TYPES)
MERGE_CALLS = f"""
WITH merged AS (
INSERT INTO calls ({CALL_COLUMNS})
SELECT DISTINCT ON (call_id) %(site)s::int4, {", ".join(FIELD_NAMES)}
FROM json_to_recordset(%(rows)s::json) AS i ({_RECORDSET})
ORDER BY call_id, seq DESC
ON CONFLICT (site_id, call_id) DO UPDATE SET
    seq = EXCLUDED.seq, offered_at = EXCLUDED.offered_at, direction = EXCLUDED.direction,
    status = EXCLUDED.status, caller = EXCLUDED.caller, callee = EXCLUDED.callee,
    campaign = EXCLUDED.campaign, source = EXCLUDED.source, extension = EXCLUDED.extension,
    answered_by = EXCLUDED.answered_by, rang = EXCLUDED.rang,
    wait_seconds = EXCLUDED.wait_seconds, talk_seconds = EXCLUDED.talk_seconds,
    target = EXCLUDED.target, first_time = EXCLUDED.first_time, value = EXCLUDED.value,
    line_type = EXCLUDED.line_type, recovered = EXCLUDED.recovered, doc = EXCLUDED.doc,
    received_at = now()
WHERE calls.seq < EXCLUDED.seq
RETURNING (xmax = 0) AS new)
UPDATE sites SET calls = calls + (SELECT count(*) FROM merged WHERE new) WHERE id = %(site)s
"""

UPSERT_QUEUE = """
INSERT INTO callback_queues (site_id, seq, entries) VALUES (%s, %s, %s)
ON CONFLICT (site_id) DO UPDATE SET seq = EXCLUDED.seq, entries = EXCLUDED.entries,
    updated_at = now()
WHERE callback_queues.seq < EXCLUDED.seq
"""


SITE = """
WITH before AS (SELECT timezone FROM sites WHERE name = %(name)s)
INSERT INTO sites (name, timezone, box_version, last_seen) VALUES (%(name)s, %(zone)s,
    %(version)s, now())
ON CONFLICT (name) DO UPDATE SET timezone = EXCLUDED.timezone,
    box_version = EXCLUDED.box_version, last_seen = now()
RETURNING id, (SELECT timezone FROM before)
"""


def site_id(conn: psycopg.Connection, name: str, timezone: str, version: str
            ) -> tuple[int, str | None]:
    """(the site's id (made on its first report), the time zone it had before: None when
    new); notes its time zone, version and last contact."""
    return conn.execute(SITE, {"name": name, "zone": timezone, "version": version}).fetchone()


def store_batch(conn: psycopg.Connection, batch: Batch, central_zone: str = "UTC") -> None:
    """Write a checked batch in the caller's transaction, rollups included (rollup.py).

    One round trip for the site's id, then everything else in one pipeline (psycopg sends the
    statements without waiting for each answer): a batch costs the server's work, not a
    dozen waits for a busy Python thread to take each answer."""
    site, zone_before = site_id(conn, batch.site, batch.timezone, batch.version)
    with conn.pipeline():
        if batch.calls:
            conn.execute(MERGE_CALLS, {"rows": batch.calls_json, "site": site})
            times = [row[2] for row in batch.calls]
            for zone in sorted({batch.timezone, central_zone}):
                rollup.refresh(conn, site, zone, rollup.local_days(times, zone), central_zone)
        if batch.queue is not None:
            seq, entries = batch.queue
            conn.execute(UPSERT_QUEUE, (site, seq, Jsonb(entries)))
        site_reports.store(conn, site, batch.campaigns, batch.contacts)
    if zone_before is not None and zone_before != batch.timezone:
        logger.info("site %s now reports time zone %s (was %s): rebuilding its rollups",
                    batch.site, batch.timezone, zone_before)
        rollup.rebuild_site(conn, site, batch.timezone, central_zone)
        if zone_before != central_zone:
            for table in ("call_rollups", "hour_rollups"):
                conn.execute(f"DELETE FROM {table} WHERE site_id = %s AND zone = %s",
                             (site, zone_before))
