"""Who called before, and when: the index behind the first-time and target flags.

Pure and in memory, rebuilt from the records at start-up. Per number it keeps the sorted start
times of inbound calls, and of the calls that qualified as target calls (answered and long
enough), so "an earlier call within the window" is one bisect, whatever the history's size.
The flags are decided once, when a call is recorded, and stored with it.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import Any, Mapping

from firmware.tracker.callrecord import as_record
from firmware.tracker.records import ANSWERED, INBOUND, is_phone_number


class NumberHistory:
    def __init__(self) -> None:
        self._calls: dict[str, list[float]] = {}
        self._targets: dict[str, list[float]] = {}

    def add(self, record: Mapping[str, Any], target_call_seconds: float) -> None:
        """Note an inbound call; `target_call_seconds` decides whether it qualified."""
        r = as_record(record)
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
