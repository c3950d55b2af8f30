"""The records in memory, kept sorted by start time for date ranges: pure, no locks, no I/O.

Why: queries must not touch the disk or re-derive anything per record, and a year of calls
must fit in little memory. The calls live as rows of columns (calltable.py: about 110 bytes a
call instead of a 900-byte CallRecord), sorted by (start, id), so a date range is two bisects;
a record is made only for the rows someone reads (`get`, `newest_first`). Beside the table
the index keeps, per row, what the figures need that the record does not hold: the local day
and hour (in the box's time zone; `retime` redoes them when it changes) and the caller's
region. `stats_between` cuts the stat columns of a period (stats.COLUMNS) out of them.
The tracker's lock guards every use.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from datetime import tzinfo
from itertools import compress, repeat
from typing import Any, Iterable, Iterator, Mapping

from firmware.tracker import dayparts
from firmware.tracker.callrecord import CallRecord
from firmware.tracker.calltable import ID_COUNTERS, CallTable, IdColumn, derived_id, stem_of
from firmware.tracker.callview import TableView
from firmware.tracker.localtime import iso_formatter
from firmware.tracker.records import ANSWERED, INBOUND, MISSED, record_value
from firmware.tracker.regions import caller_region
from firmware.tracker.stats import COLUMNS, stat_row

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
        self.table = CallTable()
        self._days = array("i")          # local date (ordinal) of each row's start
        self._hours = array("b")
        self._regions = array("I")       # the caller's region, a code of the table's pool
        self._counted = array("b")       # the figures count the call (records.counted)
        self._region_cache: dict[str, str] | None = None     # only while loading
        # wait and talk seconds rounded as /api/calls shows them (0.1 s), for the reports:
        # made on the first report (rounding 100k floats costs 35 ms a column), then kept
        # up to date; None until then (1.6 MB with 100k calls)
        self._rounded: dict[str, array] | None = None
        # the dashboard's additive figures per local day (dayparts.py), made when first asked
        # and dropped for a day whenever a call of that day is added, changed or removed
        self._parts: dict[int, dict] = {}
        self._parts_within: float | None = None

    def __len__(self) -> int:
        return len(self.table)

    def __contains__(self, call_id: object) -> bool:
        return isinstance(call_id, str) and self.table.find(call_id) is not None

    def get(self, call_id: str) -> CallRecord | None:
        row = self.table.find(call_id)
        return None if row is None else self.table.record(row)

    def load(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Add many records at once (start-up): one sort instead of many inserts."""
        compact = sorted((self.compact(r) for r in records), key=lambda r: (r.offered_at, r.id))
        self.loading()
        try:
            self.extend(compact)
        finally:
            self.loaded()

    def loading(self) -> None:
        """Start-up: regions are looked up through a cache until `loaded`."""
        self._region_cache = {}

    def loaded(self) -> None:
        self._region_cache = None

    def extend(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Add records (start-up, a month at a time, sorted by (start, id)): appended in one
        go while they come after every row already here; inserted in place, or replacing a
        record of the same id, otherwise."""
        table = self.table
        day_hour = iso_formatter(self._tz).day_hour
        rows, days, hours, regions, counted = [], [], [], [], []
        last = (table.starts[-1], table.id_at(len(table) - 1)) if len(table) else None
        later: list[CallRecord] = []
        for record in records:
            record = self.compact(record)
            if last is not None and (record.offered_at, record.id) <= last:
                later.append(record)
                continue
            last = (record.offered_at, record.id)
            rows.append(table.row_values(record))
            day, hour = day_hour(record.offered_at)
            days.append(day)
            hours.append(hour)
            regions.append(self._region_code(record))
            counted.append(_counted(record))
        table.append_rows(rows)
        self._rounded = None
        for day in set(days):
            self._parts.pop(day, None)
        self._days.extend(days)
        self._hours.extend(hours)
        self._regions.extend(regions)
        self._counted.extend(counted)
        for record in later:
            if record.id in self:
                self.update(record.id, dict(record))
            else:
                self._insert(record)

    def in_order(self) -> Iterator[CallRecord]:
        """Every record, by (start, id), made one at a time."""
        return self.table.records(0, len(self.table))

    def add(self, record: Mapping[str, Any]) -> CallRecord:
        """Index a new record; returns the form the index keeps."""
        record = self.compact(record)
        if record.id in self:
            raise ValueError(f"duplicate call id {record.id}")
        self._insert(record)
        return record

    def _insert(self, record: CallRecord) -> None:
        table = self.table
        at = table.position(record.offered_at, record.id)
        table.insert(at, table.row_values(record))
        day, hour = iso_formatter(self._tz).day_hour(record.offered_at)
        if self._rounded is not None:
            for name, column in self._rounded.items():
                column.insert(at, round(table.floats[name][at], 1))
        self._parts.pop(day, None)
        self._days.insert(at, day)
        self._hours.insert(at, hour)
        self._regions.insert(at, self._region_code(record))
        self._counted.insert(at, _counted(record))

    def update(self, call_id: str, fields: dict[str, Any]) -> CallRecord:
        """Change a record's fields (a wrap-up) by replacing it; KeyError for an unknown id."""
        table = self.table
        row = table.find(call_id)
        if row is None:
            raise KeyError(call_id)
        record = self.compact(table.record(row).replace(fields))
        if record.offered_at != table.starts[row]:       # a hand-made update moved its start
            self._delete(row)
            self._insert(record)
            return record
        self._parts.pop(self._days[row], None)
        table.put(row, table.row_values(record))
        if self._rounded is not None:
            for name, column in self._rounded.items():
                column[row] = round(table.floats[name][row], 1)
        self._regions[row] = self._region_code(record)
        self._counted[row] = _counted(record)
        return record

    def _delete(self, row: int) -> None:
        self._parts.pop(self._days[row], None)
        self.table.delete(row)
        for column in (self._days, self._hours, self._regions, self._counted,
                       *(self._rounded or {}).values()):
            del column[row]

    def retime(self, tz: tzinfo) -> None:
        """Recompute the local days and hours for time zone `tz`."""
        self._tz = tz
        self._parts.clear()
        day_hour = iso_formatter(tz).day_hour
        pairs = [day_hour(start) for start in self.table.starts]
        self._days = array("i", [day for day, _ in pairs])
        self._hours = array("b", [hour for _, hour in pairs])

    def newest_first(self, low: float, high: float) -> list[CallRecord]:
        """Records that started in [low, high), the latest first (a snapshot: records are
        made afresh, so the list stays consistent after the lock is let go)."""
        first, last = self.table.rows_between(low, high)
        record = self.table.record
        return [record(row) for row in range(last - 1, first - 1, -1)]

    def snapshot(self, low: float, high: float) -> CallTable:
        """A copy of the rows of calls that started in [low, high) (CallTable.slice)."""
        return self.table.slice(*self.table.rows_between(low, high))

    def view(self, low: float, high: float) -> TableView:
        """The calls that started in [low, high) as a report's columns (callview.py): a copy
        of their rows with their local days and hours."""
        table = self.table
        if self._rounded is None or len(self._rounded["talk_seconds"]) != len(table):
            self._rounded = {name: array("d", map(round, table.floats[name], repeat(1)))
                             for name in ("wait_seconds", "talk_seconds")}
        first, last = table.rows_between(low, high)
        return TableView(table.slice(first, last), self._days[first:last],
                         self._hours[first:last], self._tz,
                         {name: column[first:last] for name, column in self._rounded.items()})

    def day_parts(self, low: float, high: float, within: float) -> dict[int, dict]:
        """{local day: its additive figures} for the days of the calls started in
        [low, high) (dayparts.py); made for the days not kept yet, then kept. `within` is
        `[tracking] answer_within_seconds` (a change of it drops every kept day)."""
        if within != self._parts_within:
            self._parts.clear()
            self._parts_within = within
        first, last = self.table.rows_between(low, high)
        days = self._days
        kept, wanted = self._parts, {}
        at = first
        while at < last:
            day = days[at]
            upto = min(bisect_right(days, day, at), last)
            whole = (at, upto) == self._day_rows(day)
            if whole and day in kept:
                wanted[day] = kept[day]
            else:
                made = dayparts.part_of(self._stats_rows(at, upto, dayparts.PART_COLUMNS),
                                        within)
                wanted[day] = made
                if whole:                                  # a whole day: keep it
                    kept[day] = made
            at = upto
        return wanted

    def _day_rows(self, day: int) -> tuple[int, int]:
        return bisect_left(self._days, day), bisect_right(self._days, day)

    def stats_between(self, low: float, high: float, only: Iterable[str] | None = None
                      ) -> dict[str, Any]:
        """The stat columns (stats.COLUMNS, or those named in `only`) of counted calls that
        started in [low, high)."""
        return self._stats_rows(*self.table.rows_between(low, high), only)

    def _stats_rows(self, first: int, last: int, only: Iterable[str] | None = None
                    ) -> dict[str, Any]:
        """The stat columns of the counted calls among rows first..last-1.

        Each column is one C-level pass over a slice of the table (a copy of the slice when
        every call in it counts); names come from the pool a look-up per code."""
        table = self.table
        pool = table.pool
        mask = self._counted[first:last]
        every = 0 not in mask

        def cut(values) -> Any:
            part = values[first:last]
            return part if every else list(compress(part, mask))

        def named(name: str) -> list:
            return list(map(pool.values.__getitem__, cut(table.codes[name])))

        values = pool.values

        def decoded(name: str, change) -> list:
            """A code column through `change` of its value: one look-up per distinct code."""
            codes = cut(table.codes[name])
            meaning = {code: change(values[code]) for code in set(codes)}
            return list(map(meaning.__getitem__, codes))

        status_kinds: list = []

        def kinds() -> tuple[array, array]:
            """answered and missed in one pass over the status codes: 1 answered, 2 missed"""
            if not status_kinds:
                status = cut(table.codes["status"])
                kind = dict.fromkeys(set(status), 0)
                for number, text in ((1, ANSWERED), (2, MISSED)):
                    code = pool.find(text)
                    if code in kind:
                        kind[code] = number
                kind_of = bytes(map(kind.__getitem__, status))
                status_kinds.extend((array("b", kind_of.translate(_IS_ONE)),
                                     array("b", kind_of.translate(_IS_TWO))))
            return status_kinds[0], status_kinds[1]

        def reasons() -> list:
            missed = kinds()[1]
            out: list = [None] * len(missed)            # only missed calls have one
            reason_codes = cut(table.codes["missed_reason"])
            for row in compress(range(len(missed)), missed):
                out[row] = values[reason_codes[row]] or "unknown"
            return out

        def answered_by() -> list:
            """who answered: "" when nobody claimed it, None for a call not answered"""
            return [by if was else None for by, was in zip(
                decoded("answered_by", lambda by: by or ""), kinds()[0])]

        def rows() -> Any:
            return range(first, last) if every else list(compress(range(first, last), mask))

        builders = {
            "started": lambda: cut(table.starts), "id": lambda: IdColumn(table, rows()),
            "day": lambda: cut(self._days), "hour": lambda: cut(self._hours),
            "answered": lambda: kinds()[0], "missed": lambda: kinds()[1],
            "wait": lambda: cut(table.floats["wait_seconds"]),
            "target": lambda: cut(table.flags["target"]),
            "first_time": lambda: cut(table.flags["first_time"]),
            "campaign": lambda: named("campaign"), "source": lambda: named("source"),
            "value": lambda: cut(table.floats["value"]),
            "line_type": lambda: decoded("line_type", lambda kind: kind or "unknown"),
            "recovered": lambda: cut(table.recovered), "missed_reason": reasons,
            "caller": lambda: named("caller"), "lead_value": lambda: cut(table.floats["lead_value"]),
            "region": lambda: list(map(pool.values.__getitem__, cut(self._regions))),
            "answered_by": answered_by, "talk": lambda: cut(table.floats["talk_seconds"]),
        }
        wanted = COLUMNS if only is None else tuple(only)
        built = {name: builders[name]() for name in wanted if name in builders}
        missing = [name for name in wanted if name not in built]
        if missing:          # a column added to stats.COLUMNS: made from records (slower)
            made = [stat_row(table.record(row), self._tz) for row in rows()]
            for name in missing:
                at = COLUMNS.index(name)
                built[name] = [values[at] for values in made]
        return {name: built[name] for name in wanted}

    def new_id(self, started_at: float) -> str:
        """Short, sortable and unique: base36 milliseconds of the start, then a counter."""
        ms = stem_of(started_at)
        for counter in range(ID_COUNTERS):
            call_id = derived_id(ms, counter)
            if call_id not in self:
                return call_id
        raise ValueError(f"more than {ID_COUNTERS} calls started in the same millisecond")

    def compact(self, record: Mapping[str, Any]) -> CallRecord:
        """`record` as a CallRecord.

        Its value is recomputed by today's rule (records.record_value): calls stored before
        "value counts leads" carried the lead value for every answered inbound call. The
        journal keeps what it had; every figure, list and export reads the recomputed value.
        """
        if record.__class__ is CallRecord:
            return record
        compact = CallRecord.from_doc(record)      # the table's pool shares the values
        value = record_value(compact)
        if value != compact.value:
            compact.value = value
        return compact

    def _region_code(self, record: CallRecord) -> int:
        line_type = record.line_type or "unknown"
        if record.direction != INBOUND or not record.campaign:
            return 0
        try:
            return self.table.pool.code(caller_region(record.caller, line_type,
                                                      self._region_cache))
        except TypeError:                # a hand-edited caller that is not text
            return 0


_IS_ONE = bytes(int(n == 1) for n in range(256))
_IS_TWO = bytes(int(n == 2) for n in range(256))


def _counted(record: CallRecord) -> bool:
    return record.direction == INBOUND and bool(record.campaign)
