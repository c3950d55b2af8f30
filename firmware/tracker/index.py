"""The records in memory, kept sorted by start time for date ranges: pure, no locks, no I/O.

Why: queries must not touch the disk or re-derive anything per record. Records live in a dict
by id as compact CallRecords; `_starts` and `_ids` keep (start, id) sorted so a date range is
two bisects; `_stats` holds the stat columns (see stats.py) of the calls the figures count,
sorted the same way.
The local day and hour inside the columns depend on the time zone: `retime` rebuilds them
when the box's time zone changes. The tracker's lock guards every use.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import tzinfo
from typing import Any, Iterable, Mapping

from firmware.tracker.callrecord import CallRecord
from firmware.tracker.records import record_value
from firmware.tracker.stats import StatColumns, stat_row

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(number: int, width: int) -> str:
    out = ""
    while number:
        number, digit = divmod(number, 36)
        out = _DIGITS[digit] + out
    return out.rjust(width, "0")


class CallIndex:
    def __init__(self, tz: tzinfo):
        self._tz = tz
        self._by_id: dict[str, CallRecord] = {}
        # (start, id) of every record, sorted, as two lists: a list of tuples cost 72 more
        # bytes per call.
        self._starts: list[float] = []
        self._ids: list[str] = []
        self._stats = StatColumns()
        self._shared: dict = {}              # values pooled across records (see callrecord)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._by_id

    def get(self, call_id: str) -> CallRecord | None:
        return self._by_id.get(call_id)

    def load(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Add many records at once (start-up): one sort instead of many inserts."""
        for record in records:
            record = self.compact(record)
            self._by_id[record.id] = record
        order = sorted((r.offered_at, r.id) for r in self._by_id.values())
        self._starts = [start for start, _ in order]
        self._ids = [call_id for _, call_id in order]
        self.retime(self._tz)

    def in_order(self) -> list[CallRecord]:
        """Every record, by (start, id)."""
        by_id = self._by_id
        return [by_id[call_id] for call_id in self._ids]

    def add(self, record: Mapping[str, Any]) -> CallRecord:
        """Index a new record; returns the form the index keeps."""
        record = self.compact(record)
        call_id = record.id
        if call_id in self._by_id:
            raise ValueError(f"duplicate call id {call_id}")
        self._by_id[call_id] = record
        at = self._position(record.offered_at, call_id)
        self._starts.insert(at, record.offered_at)
        self._ids.insert(at, call_id)
        row = stat_row(record, self._tz)
        if row is not None:
            self._stats.insert(row)
        return record

    def update(self, call_id: str, fields: dict[str, Any]) -> CallRecord:
        """Change a record's fields (a wrap-up) by replacing it; KeyError for an unknown id."""
        record = self._by_id[call_id].replace(fields)
        self._by_id[call_id] = record
        row = stat_row(record, self._tz)
        if row is not None:
            self._stats.replace(row)
        return record

    def retime(self, tz: tzinfo) -> None:
        """Recompute the stat columns' local days and hours for time zone `tz`."""
        self._tz = tz
        by_id = self._by_id
        regions: dict[str, str] = {}        # dropped once built: nothing per number stays
        rows = (stat_row(by_id[call_id], tz, regions) for call_id in self._ids)
        self._stats = StatColumns(row for row in rows if row is not None)

    def newest_first(self, low: float, high: float) -> list[CallRecord]:
        """Records that started in [low, high), the latest first (a snapshot: records are
        replaced, never changed, so the list stays consistent after the lock is let go)."""
        first = bisect_left(self._starts, low)
        last = bisect_left(self._starts, high)
        by_id = self._by_id
        return [by_id[call_id] for call_id in reversed(self._ids[first:last])]

    def stats_between(self, low: float, high: float) -> dict[str, list]:
        """Copies of the stat columns of counted calls that started in [low, high)."""
        return self._stats.between(low, high)

    def new_id(self, started_at: float) -> str:
        """Short, sortable and unique: base36 milliseconds of the start, then a counter."""
        stem = base36(max(int(started_at * 1000), 0), 9)
        for counter in range(36 * 36):
            call_id = stem + base36(counter, 2)
            if call_id not in self._by_id:
                return call_id
        raise ValueError(f"more than {36 * 36} calls started in the same millisecond")

    def compact(self, record: Mapping[str, Any]) -> CallRecord:
        """`record` as the index keeps it: a CallRecord sharing repeated values.

        Its value is recomputed by today's rule (records.record_value): calls stored before
        "value counts leads" carried the lead value for every answered inbound call. The
        journal keeps what it had; every figure, list and export reads the recomputed value.
        """
        if record.__class__ is CallRecord:
            return record
        compact = CallRecord.from_doc(record, self._shared)
        value = record_value(compact)
        if value != compact.value:
            compact.value = self._shared.setdefault((float, value), value)
        return compact

    def _position(self, started_at: float, call_id: str) -> int:
        starts, ids = self._starts, self._ids
        if not starts or (starts[-1], ids[-1]) <= (started_at, call_id):
            return len(starts)
        at = bisect_left(starts, started_at)
        while at < len(starts) and starts[at] == started_at and ids[at] < call_id:
            at += 1
        return at
