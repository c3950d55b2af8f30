"""Every stored call as columns: a year of calls in little memory. See docs/storage.md.

Why: a `CallRecord` per call (slots, an id string, float objects, a dict by id) cost about
900 bytes of resident memory a call, 140 MB with 100k calls stored. Here a call is one row of
flat columns, about 110 bytes: its times and amounts in `array("d")`, its texts (campaign,
source, status, numbers, extensions, the tuple of extensions that rang, ...) as codes into one
pool of shared values (`array("I")`), its flags in `array("b")`, and its id as a 2-byte counter
(an id is the base36 millisecond of its start and a counter, so it is rebuilt from the start;
an id of any other form is kept in a side list). What is rare or free-form (the wrap-up, the
callback the call cleared, keys from a newer version) stays as objects in one list of `None`s.

A record is materialised as a `CallRecord` only when someone asks for it (a page of calls, a
wrap-up), and equals the record that was stored, value for value and type for type (an int
time stays an int). A stored value the columns cannot hold exactly (a string where a number
belongs, a list where a name belongs: hand edits) makes its row keep the whole `CallRecord`
in the side list; the columns then hold what `stats.stat_row` would read for it.

Rows are sorted by (start, id), so a period is two bisects. Pure: no I/O, no locks (the
tracker's lock guards every use).
"""

from __future__ import annotations

import heapq
import math
from array import array
from bisect import bisect_left, bisect_right
from itertools import compress
from typing import Any, Iterable, Iterator, Sequence

from firmware.tracker.callrecord import FIELDS, CallRecord

FLOATS = ("offered_at", "answered_at", "ended_at", "wait_seconds", "talk_seconds",
          "lead_value", "value")
CODES = ("direction", "caller", "callee", "campaign", "source", "trunk", "extension",
         "status", "missed_reason", "end_reason", "answered_by", "line_type", "rang")
FLAGS = ("target", "first_time")
EXTRA = tuple(key for key in FIELDS if key not in FLOATS + CODES + FLAGS + ("id",))
_NONE = math.nan                 # answered_at of an unanswered call (JSON has no NaN)
_EXACT_INT = 2 ** 53
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_PAIRS = [a + b for a in _DIGITS for b in _DIGITS]      # 1296 two-digit base36 strings
ID_COUNTERS = 36 * 36


def stem_of(started_at: float) -> int:
    """The millisecond an id is made of (`index.base36` of it, 9 digits)."""
    return max(int(started_at * 1000), 0)


def derived_id(ms: int, counter: int) -> str:
    """base36(ms, 9) + base36(counter, 2), as CallIndex.new_id makes ids."""
    ms, d4 = divmod(ms, 1296)
    ms, d3 = divmod(ms, 1296)
    ms, d2 = divmod(ms, 1296)
    ms, d1 = divmod(ms, 1296)
    return _DIGITS[ms] + _PAIRS[d1] + _PAIRS[d2] + _PAIRS[d3] + _PAIRS[d4] + _PAIRS[counter]


def id_counter(call_id: str, started_at: float) -> int:
    """The counter of an id made from `started_at`, else -1 (an id of another form)."""
    if (len(call_id) != 11 or not call_id.isascii() or not call_id.isalnum()
            or call_id != call_id.lower()):
        return -1
    if int(call_id[:9], 36) != stem_of(started_at):
        return -1
    return int(call_id[9:], 36)


class Pool:
    """Values that repeat (texts, tuples, None) as small int codes; code 0 is None."""

    def __init__(self) -> None:
        self.values: list[Any] = [None]
        self._codes: dict[Any, int] = {(type(None), None): 0, None: 0}   # None: for lookup

    def __len__(self) -> int:
        return len(self.values)

    @property
    def lookup(self) -> dict[Any, int]:
        """value -> code for texts and tuples (other values are keyed by (type, value))."""
        return self._codes

    def code(self, value: Any) -> int:
        """The value's code (a new one if needed); TypeError for an unhashable value."""
        key = value if value.__class__ in (str, tuple) else (value.__class__, value)
        code = self._codes.get(key)
        if code is None:
            code = self._codes[key] = len(self.values)
            self.values.append(value)
        return code

    def compact(self) -> None:
        """Copy every text into fresh memory (after start-up): the parser made them among a
        megabyte of lines each, and one survivor keeps its whole arena of the process."""
        fresh = [value.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")
                 if value.__class__ is str else value for value in self.values]
        self._codes = {(type(None), None): 0, None: 0}
        for code, value in enumerate(fresh):
            if code:
                key = value if value.__class__ in (str, tuple) else (value.__class__, value)
                self._codes[key] = code
        self.values[:] = fresh

    def find(self, value: Any) -> int | None:
        """The code of a value already pooled, else None (never adds)."""
        key = value if value.__class__ in (str, tuple) else (value.__class__, value)
        try:
            return self._codes.get(key)
        except TypeError:
            return None


def _stat_number(value: Any) -> float:
    """What `stats._number` reads: the number, or 0 for anything else."""
    return float(value) if value.__class__ in (int, float) else 0.0


class CallTable:
    def __init__(self) -> None:
        self.pool = Pool()
        self.floats = {name: array("d") for name in FLOATS}
        # 2-byte codes until the pool outgrows them (`_widen`: then 4 bytes for that column)
        self.codes = {name: array("H") for name in CODES}
        self.flags = {name: array("b") for name in FLAGS}
        self.int_kinds = array("B")      # bit n: FLOATS[n] was stored as an int
        self.id_tags = array("h")        # counter of a derived id, or -(n + 1): odd_ids[n]
        self.recovered = array("b")      # the call cleared a callback entry
        self.rest: list[Any] = []        # None, {EXTRA field or newer key: value}, or the
        #                                  whole CallRecord of a row the columns cannot hold
        self.odd_ids: list[str] = []
        self._odd_where: dict[str, tuple[float, int]] = {}     # odd id -> (start, its tag)
        self.starts = self.floats["offered_at"]
        self.columns: list[Any] = [*self.floats.values(), *self.codes.values(),
                                   *self.flags.values(), self.int_kinds, self.id_tags,
                                   self.recovered, self.rest]

    def __len__(self) -> int:
        return len(self.starts)

    # -- rows -----------------------------------------------------------------------------

    def row_values(self, record: CallRecord) -> tuple:
        """A record as the values of one row, in the order of `columns`."""
        r = record
        get = self.pool.lookup.get
        answered = r.answered_at
        try:
            if (r.offered_at.__class__ is float and r.ended_at.__class__ is float
                    and r.wait_seconds.__class__ is float and r.talk_seconds.__class__ is float
                    and r.lead_value.__class__ is float and r.value.__class__ is float
                    and (answered is None or answered.__class__ is float)
                    and r.target.__class__ is bool and r.first_time.__class__ is bool):
                codes = (get(r.direction), get(r.caller), get(r.callee), get(r.campaign),
                         get(r.source), get(r.trunk), get(r.extension), get(r.status),
                         get(r.missed_reason), get(r.end_reason), get(r.answered_by),
                         get(r.line_type), get(r.rang))
                if None not in codes and not (r.wrapup is not None or r.callback is not None
                                              or r.extra):
                    return (r.offered_at, _NONE if answered is None else answered, r.ended_at,
                            r.wait_seconds, r.talk_seconds, r.lead_value, r.value, *codes,
                            r.target, r.first_time, 0, self._id_tag(r.id, r.offered_at),
                            False, None)
        except TypeError:                  # an unhashable value: the long way says so
            pass
        return self._row_values(record)

    def _row_values(self, record: CallRecord) -> tuple:
        exact = True
        values: list[Any] = []
        kinds = 0
        for n, name in enumerate(FLOATS):
            value = getattr(record, name)
            cls = value.__class__
            if cls is float:
                values.append(value)
            elif value is None and n == 1:             # answered_at
                values.append(_NONE)
            elif cls is int and -_EXACT_INT < value < _EXACT_INT:
                values.append(float(value))
                kinds |= 1 << n
            else:
                values.append(_stat_number(value))
                exact = False
        lookup, pool_code = self.pool.lookup, self.pool.code
        for name in CODES:
            value = getattr(record, name)
            code = lookup.get(value) if value.__class__ is str else None
            if code is None:
                try:
                    code = pool_code(value)
                except TypeError:          # unhashable where a name belongs
                    code = 0
                    exact = False
            values.append(code)
        target, first_time = record.target, record.first_time
        values.append(bool(target))
        values.append(bool(first_time))
        if target.__class__ is not bool or first_time.__class__ is not bool:
            exact = False
        values.append(kinds)
        values.append(self._id_tag(record.id, record.offered_at))
        values.append(bool(record.callback))
        rest: Any = None
        if record.wrapup is not None or record.callback is not None or record.extra:
            rest = {name: getattr(record, name) for name in EXTRA
                    if getattr(record, name) is not None}
            if record.extra:
                rest.update(record.extra)
        values.append(rest if exact else record)
        return tuple(values)

    def insert(self, at: int, values: tuple) -> None:
        self._widen(values)
        for column, value in zip(self.columns, values):
            column.insert(at, value)

    def put(self, at: int, values: tuple) -> None:
        """Overwrite row `at` with a record of the same id and start (a wrap-up)."""
        self._widen(values)
        for column, value in zip(self.columns, values):
            column[at] = value

    def append_rows(self, rows: list[tuple]) -> None:
        """Append rows known to sort after every row already here, in (start, id) order:
        one C-level extend per column."""
        if rows:
            self._widen([0] * len(FLOATS) + [max(row[n] for row in rows) for n in _CODE_AT])
            for column, values in zip(self.columns, zip(*rows)):
                column.extend(values)

    def _widen(self, values) -> None:
        """Give a 2-byte code column 4 bytes once a code to be written needs them."""
        for n in _CODE_AT:
            column = self.columns[n]
            if column.typecode == "H" and values[n] > 0xFFFF:
                wide = array("I", column)
                self.columns[n] = wide
                self.codes[CODES[n - len(FLOATS)]] = wide

    def delete(self, at: int) -> None:
        for column in self.columns:
            del column[at]

    def _id_tag(self, call_id: str, start: float) -> int:
        """The counter of an id made from the start, or -(n + 1) for odd_ids[n]."""
        counter = id_counter(call_id, start)
        if counter >= 0:
            return counter
        known = self._odd_where.get(call_id)
        if known is not None:
            self._odd_where[call_id] = (start, known[1])
            return known[1]
        self.odd_ids.append(call_id)
        self._odd_where[call_id] = (start, -len(self.odd_ids))
        return -len(self.odd_ids)

    def slice(self, first: int, last: int) -> "CallTable":
        """Rows [first, last) as a table of their own (copies of the column slices; the pool
        and the odd ids, which only ever grow, are shared): what a reader takes under the
        lock and reads after letting it go, whatever the writer inserts meanwhile."""
        part = CallTable.__new__(CallTable)
        part.pool = self.pool
        part.floats = {name: values[first:last] for name, values in self.floats.items()}
        part.codes = {name: values[first:last] for name, values in self.codes.items()}
        part.flags = {name: values[first:last] for name, values in self.flags.items()}
        part.int_kinds = self.int_kinds[first:last]
        part.id_tags = self.id_tags[first:last]
        part.recovered = self.recovered[first:last]
        part.rest = self.rest[first:last]
        part.odd_ids = self.odd_ids
        part._odd_where = {}
        part.starts = part.floats["offered_at"]
        part.columns = []               # a slice is read, never written
        return part

    # -- reading --------------------------------------------------------------------------

    def id_at(self, row: int) -> str:
        tag = self.id_tags[row]
        if tag >= 0:
            return derived_id(stem_of(self.starts[row]), tag)
        return self.odd_ids[-tag - 1]

    def ids(self, rows: Iterable[int]) -> list[str]:
        """`id_at` of each of `rows`."""
        starts, tags, odd = self.starts, self.id_tags, self.odd_ids
        return [derived_id(max(int(starts[row] * 1000), 0), tag) if tag >= 0
                else odd[-tag - 1] for row, tag in zip(rows, map(tags.__getitem__, rows))]

    def find(self, call_id: str) -> int | None:
        """The row of a call id, or None."""
        starts = self.starts
        odd = self._odd_where.get(call_id)
        if odd is not None:
            start = odd[0]
            at = bisect_left(starts, start)
            while at < len(starts) and starts[at] == start:
                tag = self.id_tags[at]
                if tag < 0 and self.odd_ids[-tag - 1] == call_id:
                    return at
                at += 1
            return None
        if (len(call_id) != 11 or not call_id.isascii() or not call_id.isalnum()
                or call_id != call_id.lower()):
            return None
        ms, counter = int(call_id[:9], 36), int(call_id[9:], 36)
        low = 0 if ms == 0 else bisect_left(starts, ms / 1000 - 0.002)
        high = bisect_right(starts, (ms + 1) / 1000 + 0.002)
        tags = self.id_tags
        for at in range(low, high):
            if tags[at] == counter and stem_of(starts[at]) == ms:
                return at
        return None

    def record(self, row: int) -> CallRecord:
        """Row `row` as the CallRecord that was stored."""
        rest = self.rest[row]
        if rest.__class__ is CallRecord:     # a row the columns cannot hold exactly
            return rest
        record = CallRecord.__new__(CallRecord)
        record.id = self.id_at(row)
        kinds = self.int_kinds[row]
        for n, name in enumerate(FLOATS):
            value = self.floats[name][row]
            if kinds >> n & 1:
                value = int(value)
            elif value != value:
                value = None
            setattr(record, name, value)
        values = self.pool.values
        for name in CODES:
            setattr(record, name, values[self.codes[name][row]])
        for name in FLAGS:
            setattr(record, name, bool(self.flags[name][row]))
        for name in EXTRA:
            setattr(record, name, None)
        record.extra = None
        if rest is not None:
            extra = None
            for key, value in rest.items():
                if key in _EXTRA_SET:
                    setattr(record, key, value)
                else:
                    if extra is None:
                        extra = {}
                    extra[key] = value
            record.extra = extra
        return record

    def records(self, low: int, high: int) -> Iterator[CallRecord]:
        for row in range(low, high):
            yield self.record(row)

    def rows_between(self, low: float, high: float) -> tuple[int, int]:
        """Rows [first, last) of the calls that started in [low, high)."""
        return bisect_left(self.starts, low), bisect_left(self.starts, high)

    def position(self, started_at: float, call_id: str) -> int:
        """Where a call belongs in (start, id) order."""
        starts = self.starts
        if not starts or starts[-1] < started_at:
            return len(starts)
        at = bisect_left(starts, started_at)
        while at < len(starts) and starts[at] == started_at and self.id_at(at) < call_id:
            at += 1
        return at

    def decoded(self, name: str, first: int, last: int, mask: Sequence[int] | None = None,
                change=None) -> list:
        """The values of code column `name` in rows [first, last) (where `mask` is true),
        each through `change` when given: one C-level pass, a look-up per distinct code."""
        codes = self.codes[name][first:last]
        if mask is not None:
            codes = array("I", compress(codes, mask))
        values = self.pool.values
        table = {code: values[code] if change is None else change(values[code])
                 for code in set(codes)}
        return list(map(table.__getitem__, codes))


_EXTRA_SET = frozenset(EXTRA)
_CODE_AT = range(len(FLOATS), len(FLOATS) + len(CODES))      # code columns in `columns`


class IdColumn(Sequence):
    """The ids of some rows, made only when read (the stat columns' "id"): building 100k
    ids cost more than the figures that never read them."""

    def __init__(self, table: CallTable, rows: Sequence[int]):
        self._table = table
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return IdColumn(self._table, self._rows[index])
        return self._table.id_at(self._rows[index])

    def __iter__(self) -> Iterator[str]:
        return map(self._table.id_at, self._rows)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None       # type: ignore[assignment]


def rows_by_end(starts, ended) -> Iterator[int]:
    """Rows (sorted by start) in the order their calls ended, ties in row order.

    A call ends after it starts, so a heap of the calls begun but not yet given out is
    enough (a few calls, not a sorted list of 100k), unless a hand-edited record ended
    before it started: then a plain sort."""
    if any(end < start for start, end in zip(starts, ended)):
        yield from sorted(range(len(ended)), key=ended.__getitem__)
        return
    waiting: list[tuple[float, int]] = []
    for row, start in enumerate(starts):
        while waiting and waiting[0][0] <= start:
            yield heapq.heappop(waiting)[1]
        heapq.heappush(waiting, (ended[row], row))
    while waiting:
        yield heapq.heappop(waiting)[1]
