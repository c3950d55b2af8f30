"""Errors the tracker raises at its edges.

`BadInput` is what the web panel turns into `400 {"error": ..., "field": ...}`; it inherits
ValueError so plain callers can catch it without importing us (gpiozero's pattern:
one of our classes, also a builtin).
"""

from __future__ import annotations


class TrackerError(Exception):
    """Root of the tracker's own errors."""


class BadInput(TrackerError, ValueError):
    """A request's value is unusable; `field` names it, `message` says why (shown to people)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class StoreLocked(TrackerError, RuntimeError):
    """Another process already owns the data folder: the store has exactly one writer."""


class StoreError(TrackerError, OSError):
    """The store cannot be opened or written (the disk said no)."""
