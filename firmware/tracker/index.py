"""The records in memory, kept sorted by start time for date ranges: pure, no locks, no I/O.

Why: queries must not touch the disk or re-derive anything per record. Records live in a dict
by id; `_order` is a sorted list of (start, id) so a date range is two bisects; `_stats` holds
the stat columns (see stats.py) of the calls the figures count, sorted the same way.
The local day and hour inside the columns depend on the time zone: `retime` rebuilds them
when the box's time zone changes. The tracker's lock guards every use.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from datetime import tzinfo
from typing import Any, Iterable, Iterator

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
        self._by_id: dict[str, dict[str, Any]] = {}
        self._order: list[tuple[float, str]] = []
        self._stats = StatColumns()

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._by_id

    def get(self, call_id: str) -> dict[str, Any] | None:
        return self._by_id.get(call_id)

    def load(self, records: Iterable[dict[str, Any]]) -> None:
        """Add many records at once (start-up): one sort instead of many inserts."""
        shared: dict[str, str] = {}
        for record in records:
            _share_strings(record, shared)
            self._by_id[record["id"]] = record
        self._order = sorted((r["offered_at"], r["id"]) for r in self._by_id.values())
        self.retime(self._tz)

    def add(self, record: dict[str, Any]) -> None:
        call_id = record["id"]
        if call_id in self._by_id:
            raise ValueError(f"duplicate call id {call_id}")
        self._by_id[call_id] = record
        _insert(self._order, (record["offered_at"], call_id))
        row = stat_row(record, self._tz)
        if row is not None:
            self._stats.insert(row)

    def update(self, call_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Change a record's fields (a wrap-up); KeyError for an unknown id."""
        record = self._by_id[call_id]
        record.update(fields)
        row = stat_row(record, self._tz)
        if row is not None:
            self._stats.replace(row)
        return record

    def retime(self, tz: tzinfo) -> None:
        """Recompute the stat columns' local days and hours for time zone `tz`."""
        self._tz = tz
        rows = (stat_row(self._by_id[call_id], tz) for _, call_id in self._order)
        self._stats = StatColumns(row for row in rows if row is not None)

    def newest_first(self, low: float, high: float) -> Iterator[dict[str, Any]]:
        """Records that started in [low, high), the latest first."""
        first = bisect_left(self._order, (low,))
        last = bisect_left(self._order, (high,))
        for index in range(last - 1, first - 1, -1):
            yield self._by_id[self._order[index][1]]

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


# Fields whose values repeat from call to call: one string object each instead of one per call.
_SHARED_FIELDS = ("direction", "caller", "callee", "campaign", "source", "trunk", "extension",
                  "status", "missed_reason", "end_reason", "answered_by", "line_type")


def _share_strings(record: dict[str, Any], shared: dict[str, str]) -> None:
    for key in _SHARED_FIELDS:
        value = record.get(key)
        if value.__class__ is str:
            record[key] = shared.setdefault(value, value)
    rang = record.get("rang")
    if rang:
        record["rang"] = [shared.setdefault(ext, ext) for ext in rang]


def _insert(items: list, item: Any) -> None:
    if not items or items[-1] <= item:
        items.append(item)
    else:
        insort(items, item)
