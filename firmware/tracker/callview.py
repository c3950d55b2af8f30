"""The calls of a period as columns, for the reports (reports.py): read from the call table,
no per-call dict, no ISO text but for the rows a report shows.

Why: a report over a year used to read every call in the /api/calls shape (a 25-key dict and
three ISO times a call: 4 s for 100k calls here, before its own pass over the dicts). The
tracker already holds the calls as columns (calltable.py) with each call's local day and
hour beside them (index.py); a `CallView` is a copy of a period's rows of those columns
(taken under the tracker's lock, read after it), and gives each field as one sequence of
plain values, decoded from the pool's codes once per column and only for the columns a
report reads (a C-level pass each). A report is then a loop over a few zipped columns.

Every column holds what the /api/calls shape holds for the call, so a report computes the
same figures whichever way it is fed: `wait` and `talk` rounded to 0.1 s as `to_api` rounds
them, `value` as recomputed by today's rule, texts as stored. `ViewOfCalls` is the same view
over calls already in the /api/calls shape (hand-built in tests, or a list someone holds):
the local day and hour are then read from `started_at`, as the reports did before.

Rows of a table view are in (start, id) order (`ordered`); a view of dicts keeps the order
it was given.
"""

from __future__ import annotations

from array import array
from datetime import date, datetime, tzinfo
from itertools import compress, repeat
from typing import Any, Callable, Iterable, Sequence

from firmware.tracker.calltable import CallTable
from firmware.tracker.localtime import iso_formatter
from firmware.tracker.records import talk_by

# the code columns of the call table a report may read, by the name reports use
NAMED = ("direction", "caller", "callee", "campaign", "source", "status", "answered_by",
         "extension", "rang", "missed_reason", "line_type")


class CallView:
    """A period's calls as columns; see the module docstring. Columns are attributes made
    on first use: `direction`, `caller`, `callee`, `campaign`, `source`, `status`,
    `answered_by`, `extension`, `rang` (tuples), `missed_reason`, `line_type` (texts or
    None), `wait`, `talk` (seconds, 0.1 s), `value`, `started` (epoch), `day` (local date
    ordinal), `hour`, `target`, `first_time`, `recovered` (0/1: the call cleared a callback entry), `wrapup`, `callback` (dict or None)."""

    ordered = True

    def __len__(self) -> int:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Sequence:
        if name.startswith("_"):
            raise AttributeError(name)
        values = self._column(name)
        setattr(self, name, values)         # made once; the next read is an attribute
        return values

    def _column(self, name: str) -> Sequence:
        raise NotImplementedError

    def id(self, row: int) -> str:
        raise NotImplementedError

    def started_at(self, row: int) -> str:
        """The row's start as /api/calls shows it (ISO 8601 with the box's offset)."""
        raise NotImplementedError

    def rows_with(self, column: Sequence) -> list[int]:
        """The rows where `column` is true (a flag, or a column of dicts and Nones)."""
        return list(compress(range(len(self)), column))

    def ids(self, rows: Sequence[int]) -> list[str]:
        """The ids of `rows`."""
        return [self.id(row) for row in rows]

    def started_texts(self, rows: Sequence[int]) -> list[str]:
        """`started_at` of each of `rows`."""
        return [self.started_at(row) for row in rows]

    def cell(self, name: str) -> Callable[[int], Any]:
        """A function giving column `name`'s value of a row (for a few rows: it need not
        decode the whole column)."""
        return getattr(self, name).__getitem__

    def listed(self, rows: Iterable[int]) -> list[int]:
        """`rows` in the call list's order: the latest call first for a table view (its rows
        are in start order), the order given for a view of calls."""
        rows = list(rows)
        return rows[::-1] if self.ordered else rows

    def talk_splits(self) -> dict[int, dict]:
        """{row: each person's talk} for the transferred calls (records.talk_by)."""
        raise NotImplementedError


class TableView(CallView):
    """Rows of the call table (a slice taken under the lock) with their local days and hours
    (index.py keeps them per row)."""

    def __init__(self, part: CallTable, days: array, hours: array, tz: tzinfo,
                 rounded: dict[str, array] | None = None):
        self._part = part
        self._days = days
        self._hours = hours
        self._format = iso_formatter(tz)
        self._values = part.pool.values
        self._rounded = rounded or {}        # wait_seconds, talk_seconds at 0.1 s

    def __len__(self) -> int:
        return len(self._part)

    def _column(self, name: str) -> Sequence:
        part = self._part
        if name in NAMED:
            codes = part.codes[name]
            values = self._values
            table = {code: values[code] for code in set(codes)}
            return list(map(table.__getitem__, codes))
        if name in ("wait", "talk"):
            key = name + "_seconds"
            if key in self._rounded:
                return self._rounded[key]
            return array("d", map(round, part.floats[key], repeat(1)))
        if name == "value":
            return part.floats["value"]
        if name == "started":
            return part.starts
        if name == "day":
            return self._days
        if name == "hour":
            return self._hours
        if name in ("target", "first_time"):
            return part.flags[name]
        if name == "recovered":
            return part.recovered
        if name in ("wrapup", "callback"):
            out: list[Any] = [None] * len(part)
            rests = part.rest
            for row in compress(range(len(rests)), rests):
                rest = rests[row]
                out[row] = rest.get(name) if rest.__class__ is dict else rest[name]
            return out
        raise AttributeError(name)

    def id(self, row: int) -> str:
        return self._part.id_at(row)

    def started_at(self, row: int) -> str:
        return self._format(self._part.starts[row])

    def ids(self, rows: Sequence[int]) -> list[str]:
        return self._part.ids(rows)

    def started_texts(self, rows: Sequence[int]) -> list[str]:
        starts = self._part.starts
        return self._format.many(map(starts.__getitem__, rows))

    def cell(self, name: str) -> Callable[[int], Any]:
        if name in NAMED and name not in self.__dict__:     # not decoded: a look-up a row
            codes, values = self._part.codes[name], self._values
            return lambda row: values[codes[row]]
        return super().cell(name)

    def talk_splits(self) -> dict[int, dict]:
        part, rests = self._part, self._part.rest
        return {row: talk_by(part.record(row)) for row in compress(range(len(rests)), rests)
                if "transfers" in rests[row]}


class ViewOfCalls(CallView):
    """Calls in the /api/calls shape as a view (the reports' old input)."""

    ordered = False

    def __init__(self, calls: Iterable[dict]):
        self._calls = calls if isinstance(calls, list) else list(calls)

    def __len__(self) -> int:
        return len(self._calls)

    def _column(self, name: str) -> Sequence:
        calls = self._calls
        if name in ("wait", "talk"):
            return [float(call[name + "_seconds"]) for call in calls]
        if name == "rang":
            return [tuple(call.get("rang") or ()) for call in calls]
        if name == "value":
            return [call["value"] or 0.0 for call in calls]
        if name in ("target", "first_time"):
            return [int(bool(call[name])) for call in calls]
        if name == "recovered":
            return [int(bool(call.get("callback"))) for call in calls]
        if name == "started":
            return [datetime.fromisoformat(call["started_at"]).timestamp() for call in calls]
        if name == "day":
            return [date.fromisoformat(call["started_at"][:10]).toordinal() for call in calls]
        if name == "hour":
            return [int(call["started_at"][11:13]) for call in calls]
        if name in NAMED or name in ("wrapup", "callback"):
            return [call.get(name) for call in calls]
        raise AttributeError(name)

    def id(self, row: int) -> str:
        return self._calls[row]["id"]

    def started_at(self, row: int) -> str:
        return self._calls[row]["started_at"]

    def talk_splits(self) -> dict[int, dict]:
        return {row: call["talk_by"] for row, call in enumerate(self._calls)
                if call.get("talk_by") is not None}


def as_view(calls: CallView | Iterable[dict]) -> CallView:
    """A view of `calls`: itself when it is one, else a ViewOfCalls."""
    return calls if isinstance(calls, CallView) else ViewOfCalls(calls)
