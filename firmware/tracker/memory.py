"""Start-up's memory: what keeps the box's resident size down after the history is loaded
(docs/storage.md, "A year in little memory"). glibc only; elsewhere these do nothing."""

from __future__ import annotations

import ctypes
import gc
from contextlib import contextmanager
from typing import Iterator

_M_MMAP_THRESHOLD = -3                    # glibc's mallopt parameter


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cycle collector while loading: the history is ~100k new dicts that hold no
    cycles, and collecting over and over while they pile up would double the start-up time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def fixed_mmap_threshold() -> None:
    """Big blocks (the call table's columns as they grow) straight from mmap, so that those
    freed go back to the system at once: glibc otherwise raises the threshold after the
    first free, and later columns grow inside its heap, leaving holes (6 MB with 100k
    calls)."""
    try:
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):      # not glibc: nothing to do
        pass


def release_free_memory() -> None:
    """Hand the memory the start-up's parsing freed back to the system (glibc keeps it
    otherwise, and the box's resident size would stay at the peak)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):      # not glibc: nothing to do
        pass
