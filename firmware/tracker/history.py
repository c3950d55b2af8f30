"""Who called before, and when: the index behind the first-time and target flags.

Pure and in memory, rebuilt from the records at start-up. Per number it keeps the sorted start
times of inbound calls, and of the calls that qualified as target calls (answered and long
enough), so "an earlier call within the window" is one bisect, whatever the history's size;
and the start of the latest answered call in either direction (`unrecovered_value`).
The flags are decided once, when a call is recorded, and stored with it.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, insort
from collections.abc import Mapping
from typing import Any

from firmware.tracker.callrecord import as_record
from firmware.tracker.records import ANSWERED, INBOUND, OUTBOUND, is_phone_number


class NumberHistory:
    def __init__(self) -> None:
        self._calls: dict[str, list[float]] = {}
        self._targets: dict[str, list[float]] = {}
        self.answered_at: dict[str, float] = {}     # number -> start of its latest answered call

    def add(self, record: Mapping[str, Any], target_call_seconds: float) -> None:
        """Note a call; `target_call_seconds` decides whether an inbound one qualified."""
        r = as_record(record)
        if r.status == ANSWERED and r.direction in (INBOUND, OUTBOUND):
            party = r.caller if r.direction == INBOUND else r.callee
            if is_phone_number(party) and r.offered_at > self.answered_at.get(party, -1e300):
                self.answered_at[party] = r.offered_at
        number = r.caller
        if r.direction != INBOUND or not is_phone_number(number):
            return
        _insert(self._calls.setdefault(number, []), r.offered_at)
        if r.status == ANSWERED and r.talk_seconds >= target_call_seconds:
            _insert(self._targets.setdefault(number, []), r.offered_at)

    def called_within(self, number: str, at: float, seconds: float) -> bool:
        """An inbound call from `number` started in [at - seconds, at)."""
        return _within(self._calls.get(number), at, seconds)

    def target_within(self, number: str, at: float, seconds: float) -> bool:
        """A qualifying (answered, long enough) call from `number` started in [at - seconds, at)."""
        return _within(self._targets.get(number), at, seconds)

    def first_call(self, number: str) -> float | None:
        """When the first inbound call from `number` started, else None."""
        times = self._calls.get(number)
        return times[0] if times else None


def _insert(times: list[float], at: float) -> None:
    if not times or times[-1] <= at:
        times.append(at)
    else:
        insort(times, at)


def _within(times: list[float] | None, at: float, seconds: float) -> bool:
    if not times:
        return False
    index = bisect_left(times, at)        # times[index - 1] is the latest start before `at`
    return index > 0 and at - times[index - 1] < seconds


class TableHistory:
    """NumberHistory's answers from the call table itself (index.py), for a year in little
    memory: per number (a code of the table's pool) only four times in arrays, no list of
    every call. The latest inbound call and the latest qualifying one answer "within the
    window" at once for a call newer than both (nearly always: calls are recorded as they
    end); otherwise the table's rows of the window are searched for the number's code.
    """

    def __init__(self, table) -> None:
        self._table = table
        self._first = array("d")         # first inbound call's start, by number code
        self._last = array("d")          # latest inbound call's start
        self._last_target = array("d")   # latest qualifying inbound call's start
        self._answered = array("d")      # latest answered call's start, either direction
        self._target_seconds = 0.0
        self.answered_at = _ByNumber(table.pool, self._answered)

    def add(self, record: Mapping[str, Any], target_call_seconds: float) -> None:
        """Note a call; `target_call_seconds` decides whether an inbound one qualified."""
        r = as_record(record)
        self._target_seconds = target_call_seconds
        if r.status == ANSWERED and r.direction in (INBOUND, OUTBOUND):
            party = r.caller if r.direction == INBOUND else r.callee
            if is_phone_number(party):
                code = self._code(party)
                if not r.offered_at <= self._answered[code]:       # NaN: none yet
                    self._answered[code] = r.offered_at
        number = r.caller
        if r.direction != INBOUND or not is_phone_number(number):
            return
        code = self._code(number)
        at = r.offered_at
        if not at >= self._first[code]:
            self._first[code] = at
        if not at <= self._last[code]:
            self._last[code] = at
        if r.status == ANSWERED and r.talk_seconds >= target_call_seconds \
                and not at <= self._last_target[code]:
            self._last_target[code] = at

    def add_row(self, row: int, target_call_seconds: float) -> None:
        """`add` for a row of the table, read from its columns (start-up)."""
        table = self._table
        codes, pool = table.codes, table.pool
        direction, status = codes["direction"][row], codes["status"][row]
        inbound, outbound, answered = (pool.find(INBOUND), pool.find(OUTBOUND),
                                       pool.find(ANSWERED))
        if direction != inbound and direction != outbound:
            return
        at = table.starts[row]
        number = pool.values[codes["caller"][row]]
        if status == answered:
            party = number if direction == inbound else pool.values[codes["callee"][row]]
            if party.__class__ is str and is_phone_number(party):
                code = self._code(party)
                if not at <= self._answered[code]:
                    self._answered[code] = at
        if direction != inbound or number.__class__ is not str or not is_phone_number(number):
            return
        self._target_seconds = target_call_seconds
        code = self._code(number)
        if not at >= self._first[code]:
            self._first[code] = at
        if not at <= self._last[code]:
            self._last[code] = at
        if status == answered and table.floats["talk_seconds"][row] >= target_call_seconds \
                and not at <= self._last_target[code]:
            self._last_target[code] = at

    def called_within(self, number: str, at: float, seconds: float) -> bool:
        """An inbound call from `number` started in [at - seconds, at)."""
        return self._within(number, at, seconds, self._last, False)

    def target_within(self, number: str, at: float, seconds: float) -> bool:
        """A qualifying (answered, long enough) call from `number` started in
        [at - seconds, at)."""
        return self._within(number, at, seconds, self._last_target, True)

    def answered_for(self, numbers) -> dict[str, float]:
        """{number: start of its latest answered call} for those of `numbers` that have one
        (the figures' `answered_at`, for the numbers missed in a period)."""
        codes, times = self._table.pool.lookup, self._answered
        count = len(times)
        out = {}
        for number in numbers:
            code = codes.get(number) if number.__class__ is str else None
            if code is not None and code < count:
                at = times[code]
                if at == at:
                    out[number] = at
        return out

    def first_call(self, number: str) -> float | None:
        """When the first inbound call from `number` started, else None."""
        code = self._table.pool.find(number)
        if code is None or code >= len(self._first) or self._first[code] != self._first[code]:
            return None
        return self._first[code]

    def _within(self, number: str, at: float, seconds: float, latest: array,
                qualifying: bool) -> bool:
        code = self._table.pool.find(number)
        if code is None or code >= len(latest) or latest[code] != latest[code]:
            return False
        if latest[code] < at:                   # the latest one is before `at`: it decides
            return at - latest[code] < seconds
        return self._search(code, at, seconds, qualifying)

    def _search(self, code: int, at: float, seconds: float, qualifying: bool) -> bool:
        table = self._table
        starts = table.starts
        low, high = bisect_left(starts, at - seconds), bisect_left(starts, at)
        callers, directions = table.codes["caller"], table.codes["direction"]
        inbound, answered = table.pool.find(INBOUND), table.pool.find(ANSWERED)
        status, talk = table.codes["status"], table.floats["talk_seconds"]
        while low < high:
            try:
                row = callers.index(code, low, high)
            except ValueError:
                return False
            if directions[row] == inbound and at - starts[row] < seconds and (
                    not qualifying or (status[row] == answered
                                       and talk[row] >= self._target_seconds)):
                return True
            low = row + 1
        return False

    def _code(self, number: str) -> int:
        code = self._table.pool.code(number)
        missing = code + 1 - len(self._first)
        if missing > 0:
            nothing = array("d", [math.nan]) * missing
            for times in (self._first, self._last, self._last_target, self._answered):
                times.extend(nothing)
        return code


class _ByNumber(Mapping):
    """number -> time, read from an array by the number's pool code (NaN: none)."""

    def __init__(self, pool, times: array):
        self._pool = pool
        self._times = times

    def __getitem__(self, number: str) -> float:
        code = self._pool.find(number)
        if code is None or code >= len(self._times) or self._times[code] != self._times[code]:
            raise KeyError(number)
        return self._times[code]

    def __iter__(self):
        values = self._pool.values
        return (values[code] for code, at in enumerate(self._times) if at == at)

    def __len__(self) -> int:
        return sum(1 for at in self._times if at == at)
