"""Deadlines of call control on one heap, on the monotonic clock.

Why monotonic: a Pi has no real-time clock and steps its wall clock when NTP first answers;
a ring timeout armed on the wall clock would fire at once or hours late. Why one heap with
keys: a call re-arms and cancels its timers (the 2xx retransmission, the session timer)
often; cancelling marks the entry dead instead of searching the heap (lazy deletion).
Why groups: a key that is a tuple belongs to the group of its first item (the call id), so an
ended call drops all its timers in time proportional to its own timers, not to every call's
(a scan of all live keys cost ~0.5 ms per call at 100 calls/s). Why compaction: a cancelled
entry stays on the heap until its time comes (a call's max-length timer is an hour away), so
the heap is rebuilt from the live entries once the dead outnumber them.
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
        self._groups: dict[Hashable, set[Hashable]] = {}   # key[0] -> its live keys

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._live

    def arm(self, key: Hashable, at: float, payload: object = None) -> None:
        """(Re-)arm `key` at monotonic time `at`; an earlier arming of it is forgotten."""
        seq = next(self._order)
        if key not in self._live and isinstance(key, tuple) and key:
            self._groups.setdefault(key[0], set()).add(key)
        self._live[key] = (at, seq, payload)
        heapq.heappush(self._heap, (at, seq, key))
        self._compact()

    def cancel(self, key: Hashable) -> None:
        if self._live.pop(key, None) is not None:
            self._left_group(key)
            self._compact()

    def cancel_group(self, group: Hashable) -> None:
        """Cancel every key whose first item is `group` (all the timers of one call)."""
        for key in self._groups.pop(group, ()):
            del self._live[key]
        self._compact()

    def cancel_where(self, predicate) -> None:
        for key in [k for k in self._live if predicate(k)]:
            self.cancel(key)

    def _left_group(self, key: Hashable) -> None:
        if isinstance(key, tuple) and key:
            keys = self._groups.get(key[0])
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._groups[key[0]]

    def _compact(self) -> None:
        if len(self._heap) > 64 and len(self._heap) > 2 * len(self._live):
            self._heap = [(at, seq, key) for key, (at, seq, _) in self._live.items()]
            heapq.heapify(self._heap)

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
                self._left_group(key)
                fired.append((key, live[2]))
        return fired

    def _drop_dead(self) -> None:
        while self._heap:
            at, seq, key = self._heap[0]
            live = self._live.get(key)
            if live is not None and live[1] == seq:
                return
            heapq.heappop(self._heap)
