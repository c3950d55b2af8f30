"""Failed sign-in throttling, per client address and per (address, user name).

Why state here: counts of recent failures live in memory only (a restart forgets them, which is
acceptable for a LAN box and keeps the SD card from being written on every wrong password).
Each key keeps the times of its failures within `window` seconds; at `limit` failures the key is
blocked until the oldest of them leaves the window.
Why per (address, user) and not per user (issue 14.11): a lock on the user name alone let
anyone lock the owner out with five wrong passwords; now a guesser blocks only itself, and
the owner's correct password from another address gets in. An address guessing at many
names is stopped by the per-address limit. A success clears that (address, user) pair only,
never the address (one good account must not reset an address that guesses at others).
"""

from __future__ import annotations

import threading
import time
from collections import deque


class Throttle:
    def __init__(self, *, per_address: int = 20, per_user: int = 5, window: float = 300.0,
                 clock=time.monotonic, max_keys: int = 10_000):
        self.per_address = per_address
        self.per_user = per_user
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def _wait(self, key: str, limit: int, now: float) -> float:
        times = self._recent(key, now)
        if len(times) < limit:
            return 0.0
        return max(0.0, times[-limit] + self.window - now)

    def retry_after(self, address: str, user: str) -> float:
        """Seconds to wait before another attempt from `address` for `user`; 0 when allowed."""
        now = self._clock()
        with self._lock:
            return max(self._wait(f"a:{address}", self.per_address, now),
                       self._wait(_pair(address, user), self.per_user, now))

    def failed(self, address: str, user: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self._max_keys:
                self._prune(now)
            for key in (f"a:{address}", _pair(address, user)):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, user: str, address: str | None = None) -> None:
        """`user` signed in from `address`: forget that pair's failures (None: nothing to
        forget, the older call without an address)."""
        if address is None:
            return
        with self._lock:
            self._failures.pop(_pair(address, user), None)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        if len(self._failures) >= self._max_keys:  # still full: forget the oldest keys
            for key in list(self._failures)[: self._max_keys // 2]:
                del self._failures[key]


def _pair(address: str, user: str) -> str:
    return f"u:{address}\x00{user.lower()}"
