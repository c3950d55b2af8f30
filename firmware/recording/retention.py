"""Keeping recordings within bounds: `[recording] keep_days`, `max_disk_mb`, and free space.

`plan` is pure (which recordings go, and why); `Retention` carries it out at start and then
hourly on its own thread. `DiskGuard` answers "may the box record now?": not with less than
MIN_FREE_BYTES free on the recordings' filesystem, so a full SD card never stops the box
taking calls or the call journal writing. Its free-space reader is injectable for tests.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

from firmware.recording.store import Entry, RecordingStore

logger = logging.getLogger(__name__)

MIN_FREE_BYTES = 200 * 1024 * 1024
CHECK_EVERY = 3600.0


def plan(oldest_first: Iterable[Entry], now: float, keep_days: int, max_bytes: int,
         active: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(call id, why) of every recording to delete: older than keep_days, then the oldest
    until the rest fit in max_bytes. A recording still being written is never chosen."""
    entries = [e for e in oldest_first if e.call_id not in active]
    cutoff = now - keep_days * 86400
    doomed = [(e.call_id, "keep_days") for e in entries if e.began_at < cutoff]
    gone = {call for call, _ in doomed}
    kept = [e for e in entries if e.call_id not in gone]
    total = sum(e.size for e in kept)
    for entry in kept:
        if total <= max_bytes:
            break
        doomed.append((entry.call_id, "max_disk_mb"))
        total -= entry.size
    return doomed


class DiskGuard:
    """Free space on the recordings' filesystem against a floor (both injectable)."""

    def __init__(self, folder: Path, *, min_free: int = MIN_FREE_BYTES,
                 free_bytes: Callable[[Path], int] | None = None) -> None:
        self.folder = Path(folder)
        self.min_free = min_free
        self._free_bytes = free_bytes or (lambda path: shutil.disk_usage(path).free)

    def free(self) -> int:
        try:
            return self._free_bytes(self.folder)
        except OSError as exc:
            logger.error("recordings: cannot read free space of %s: %s", self.folder, exc)
            return 0

    def ok(self) -> bool:
        return self.free() >= self.min_free


class Retention:
    def __init__(self, store: RecordingStore, keep_days: int, max_disk_mb: int, *,
                 active: Callable[[], frozenset[str]] = frozenset,
                 clock: Callable[[], float] = time.time, every: float = CHECK_EVERY) -> None:
        self.store = store
        self.keep_days, self.max_bytes = keep_days, max_disk_mb * 1024 * 1024
        self.active = active
        self.clock = clock
        self.every = every
        self.last_run: float | None = None
        self.deleted = 0
        self.also: list[Callable[[float], int]] = []   # more to prune by age (voicemail)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def configure(self, keep_days: int, max_disk_mb: int) -> None:
        self.keep_days, self.max_bytes = keep_days, max_disk_mb * 1024 * 1024

    def run_once(self) -> list[tuple[str, str]]:
        doomed = plan(self.store.oldest_first(), self.clock(), self.keep_days, self.max_bytes,
                      self.active())
        for call_id, why in doomed:
            try:
                self.store.delete(call_id, why)
            except OSError as exc:
                logger.error("recordings: cannot delete %s: %s", call_id, exc)
        if doomed:
            logger.info("recordings: retention deleted %d (%s)", len(doomed), ", ".join(
                sorted({why for _, why in doomed})))
        self.deleted += len(doomed)
        for prune in self.also:
            try:
                prune(self.clock() - self.keep_days * 86400)
            except OSError as exc:
                logger.error("recordings: retention of voicemail failed: %s", exc)
        self.last_run = self.clock()
        return doomed

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="recording-retention",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self.run_once()
            except OSError as exc:      # the index could not be written: try next hour
                logger.error("recordings: retention failed: %s", exc)
            if self._stop.wait(self.every):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
