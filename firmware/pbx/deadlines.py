"""Deadlines of call control on one heap, on the monotonic clock.

Why monotonic: a Pi has no real-time clock and steps its wall clock when NTP first answers;
a ring timeout armed on the wall clock would fire at once or hours late. Why one heap with
keys: a call re-arms and cancels its timers (the 2xx retransmission, the session timer)
often; cancelling marks the entry dead instead of searching the heap (lazy deletion).
"""

from __future__ import annotations

import heapq
import itertools
from typing import Hashable


class Deadlines:
    """`arm(key, at, payload)`, `cancel(key)`, `due(now)` -> [(key, payload)] in time order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Hashable]] = []
        self._live: dict[Hashable, tuple[float, int, object]] = {}
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._live

    def arm(self, key: Hashable, at: float, payload: object = None) -> None:
        """(Re-)arm `key` at monotonic time `at`; an earlier arming of it is forgotten."""
        seq = next(self._order)
        self._live[key] = (at, seq, payload)
        heapq.heappush(self._heap, (at, seq, key))

    def cancel(self, key: Hashable) -> None:
        self._live.pop(key, None)

    def cancel_where(self, predicate) -> None:
        for key in [k for k in self._live if predicate(k)]:
            del self._live[key]

    @property
    def next_deadline(self) -> float | None:
        self._drop_dead()
        return self._heap[0][0] if self._heap else None

    def due(self, now: float) -> list[tuple[Hashable, object]]:
        fired = []
        while self._heap and self._heap[0][0] <= now:
            at, seq, key = heapq.heappop(self._heap)
            live = self._live.get(key)
            if live is not None and live[1] == seq:
                del self._live[key]
                fired.append((key, live[2]))
        return fired

    def _drop_dead(self) -> None:
        while self._heap:
            at, seq, key = self._heap[0]
            live = self._live.get(key)
            if live is not None and live[1] == seq:
                return
            heapq.heappop(self._heap)
