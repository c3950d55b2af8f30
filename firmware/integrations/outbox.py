"""The outbox: deliveries waiting to go out, kept on disk as safely as the call journal.

Why a journal again (docs/storage.md, docs/webhooks.md): a delivery must survive a kill and a
power cut with its id, so that the receiver can tell a retry from a new event. The file is
`<data>/outbox/outbox.jsonl`, JSON lines appended whole with one write() and an fdatasync
before `add` returns (firmware/tracker/journal.py's encoding and scan):

  {"op": "item", "id": ..., "target": ..., "key": ..., "event": ..., "body": ..., ...}
  {"op": "try", "id": ..., "at": ..., "status": 200 | null, "error": "", "response": "...",
   "state": "delivered" | "pending" | "failed", "next_at": ...}
  {"op": "again", "id": ..., "at": ...}            "send again" from the panel

One writer: every append goes through one lock, and `flock` on `LOCK` keeps a second box off
the folder. At start-up a torn or unreadable line sets the file aside as `*.corrupt-<time>`
and its good lines are written back atomically. The file is compacted (rewritten atomically
with one "item" line per kept item) at start-up and when it passes COMPACT_BYTES: pending
items and the newest KEEP_DONE finished ones are kept, so it stays small.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Iterable

from firmware.integrations.retry import (DELIVERED, FAILED, PENDING, Item, choose,
                                          expired, next_wake)
from firmware.tracker import journal
from firmware.tracker.errors import StoreError, StoreLocked

logger = logging.getLogger(__name__)

FILE_NAME = "outbox.jsonl"
LOCK_NAME = "LOCK"
KEEP_DONE = 200               # finished deliveries kept for the panel's list
COMPACT_BYTES = 2_000_000
MAX_RESPONSE = 200            # first characters of an answer kept for the panel
_fdatasync = getattr(os, "fdatasync", os.fsync)
_ITEM_FIELDS = {f.name for f in fields(Item)}


def new_id() -> str:
    """A delivery id: unique, unguessable, the same on every try of one delivery."""
    return "dlv_" + secrets.token_hex(12)


def _check(doc: object) -> dict:
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
        raise ValueError("not an outbox line")
    op = doc.get("op")
    if op == "item":
        for key, kind in (("target", str), ("key", str), ("event", str), ("body", str),
                          ("created", (int, float)), ("expires", (int, float))):
            if not isinstance(doc.get(key), kind):
                raise ValueError(f"item without {key}")
    elif op not in ("try", "again"):
        raise ValueError(f"unknown op {op!r}")
    return doc


def _scan(data: bytes) -> tuple[list[dict], list[bytes], list[int]]:
    """(docs, good lines, bad line numbers) of an outbox file; never raises."""
    docs, good, bad = [], [], []
    lines = data.split(b"\n")
    tail = lines.pop()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            docs.append(_check(json.loads(line)))
            good.append(line + b"\n")
        except ValueError:
            bad.append(number)
    if tail:
        bad.append(len(lines) + 1)
    return docs, good, bad


class Outbox:
    """The items, in memory for reading and on disk for surviving; thread-safe."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / FILE_NAME
        self._lock = threading.Lock()
        self._items: dict[str, Item] = {}
        self._seq = 0
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self.repaired: list[str] = []

    # -- start-up -------------------------------------------------------------------------

    def open(self) -> None:
        """Take the folder lock, load (repairing damage), compact, open for appending."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLocked(f"{self.folder} is in use by another box") from None
        self._lock_fd = fd
        self.path.with_name(FILE_NAME + ".tmp").unlink(missing_ok=True)
        data = self.path.read_bytes() if self.path.exists() else b""
        docs, good, bad = _scan(data)
        if bad:
            aside = self.path.with_name(f"{FILE_NAME}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
            os.replace(self.path, aside)
            journal.write_atomic(self.path, good)
            self.repaired.append(aside.name)
            logger.error("outbox: damaged line(s) %s; original kept as %s, %d good lines loaded",
                         ", ".join(map(str, bad[:20])), aside.name, len(good))
        for doc in docs:
            self._apply(doc)
        self._compact()
        pending = sum(1 for i in self._items.values() if i.state == PENDING)
        logger.info("outbox: %d deliveries waiting, %d kept", pending, len(self._items))

    def close(self) -> None:
        with self._lock:
            for fd in (self._fd, self._lock_fd):
                if fd is not None:
                    os.close(fd)
            self._fd = self._lock_fd = None

    # -- writing --------------------------------------------------------------------------

    def add(self, target: str, key: str, event: str, body: str, now: float, max_age: float,
            delivery: str | None = None, extra: dict | None = None) -> Item:
        """A new pending delivery, durable when this returns (StoreError when it is not)."""
        item = Item(id=delivery or new_id(), target=target, key=key, event=event, body=body,
                    created=now, expires=now + max_age, next_at=now, extra=dict(extra or {}))
        with self._lock:
            self._append({"op": "item", **_item_doc(item)})
            self._apply({"op": "item", **_item_doc(item)})
            return replace(self._items[item.id])

    def record_try(self, item_id: str, at: float, status: int | None, error: str,
                   response: str, state: str, next_at: float) -> None:
        with self._lock:
            doc = {"op": "try", "id": item_id, "at": at, "status": status, "error": error[:300],
                   "response": response[:MAX_RESPONSE], "state": state, "next_at": next_at}
            self._append(doc)
            self._apply(doc)

    def again(self, item_id: str, at: float) -> Item:
        """Send a delivery once more, with the same id (KeyError for an unknown id)."""
        with self._lock:
            if item_id not in self._items:
                raise KeyError(item_id)
            doc = {"op": "again", "id": item_id, "at": at}
            self._append(doc)
            self._apply(doc)
            return replace(self._items[item_id])

    def _append(self, doc: dict) -> None:
        if self._fd is None:
            raise StoreError("the outbox is not open")
        line = journal.encode(doc)
        start = os.fstat(self._fd).st_size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view):]
            _fdatasync(self._fd)
        except OSError as exc:
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                pass
            raise StoreError(f"outbox: write failed: {exc}") from exc
        if start + len(line) > COMPACT_BYTES:
            self._compact()

    def _apply(self, doc: dict) -> None:
        op, item = doc["op"], self._items.get(doc["id"])
        if op == "item":
            values = {k: v for k, v in doc.items() if k in _ITEM_FIELDS}
            self._seq += 1
            self._items[doc["id"]] = Item(**{**values, "seq": self._seq})
        elif item is None:
            return
        elif op == "try":
            if not doc.get("given_up"):
                item.tries += 1
            item.last_at, item.last_status = doc["at"], doc.get("status")
            item.last_error, item.response = doc.get("error", ""), doc.get("response", "")
            item.state, item.next_at = doc.get("state", PENDING), doc.get("next_at", doc["at"])
        elif op == "again":
            item.state, item.next_at = PENDING, doc["at"]
            item.expires = max(item.expires, doc["at"] + 3600)
            self._seq += 1       # a resent delivery goes after what is already waiting
            item.seq = self._seq
            self._items[item.id] = self._items.pop(item.id)

    def _compact(self) -> None:
        """Rewrite the file with the pending items and the newest finished ones."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        done = [i for i in self._items.values() if i.state != PENDING]
        drop = {i.id for i in sorted(done, key=lambda i: i.last_at or i.created)[:-KEEP_DONE]}
        for item_id in drop:
            del self._items[item_id]
        journal.write_atomic(self.path, [journal.encode({"op": "item", **_item_doc(i)})
                                         for i in self._items.values()])
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    # -- reading --------------------------------------------------------------------------

    def items(self) -> list[Item]:
        """Copies of every kept item, in sending order."""
        with self._lock:
            return [replace(i) for i in self._items.values()]

    def next_due(self, holds: dict[str, float], now: float) -> Item | None:
        """The next item to send now (retry.choose over the kept items), as a copy."""
        with self._lock:
            item = choose(self._items.values(), holds, now)
            return replace(item) if item else None

    def due_now(self, now: float) -> None:
        """Make every waiting delivery due at `now` (in memory): after a restart the network
        may be back, so each target gets one prompt try before the delays apply again."""
        with self._lock:
            for item in self._items.values():
                if item.state == PENDING:
                    item.next_at = min(item.next_at, now)

    def expired(self, now: float) -> list[Item]:
        """Copies of the waiting items whose time is up (retry.expired)."""
        with self._lock:
            return [replace(i) for i in expired(self._items.values(), now)]

    def next_wake(self, holds: dict[str, float], now: float) -> float | None:
        with self._lock:
            return next_wake(self._items.values(), holds, now)

    def newest_call(self) -> tuple[float, set[str]] | None:
        """(the latest `ended_at` of a call with a delivery kept, the keys of the kept
        deliveries), or None when none is kept: where a catch-up after a crash starts."""
        with self._lock:
            ends = [i.extra["ended_at"] for i in self._items.values()
                    if isinstance(i.extra.get("ended_at"), (int, float))]
            return (max(ends), {i.key for i in self._items.values()}) if ends else None

    def get(self, item_id: str) -> Item | None:
        with self._lock:
            item = self._items.get(item_id)
            return replace(item) if item else None

    def mark_failed(self, items: Iterable[Item], at: float) -> None:
        for item in items:
            with self._lock:
                doc = {"op": "try", "id": item.id, "at": at, "status": None,
                       "error": "given up: undelivered for too long", "response": "",
                       "state": FAILED, "next_at": at, "given_up": True}   # nothing sent
                self._append(doc)
                self._apply(doc)


def _item_doc(item: Item) -> dict:
    doc = asdict(item)
    doc.pop("seq")
    if not doc["extra"]:
        doc.pop("extra")
    return doc


__all__ = ["Outbox", "new_id", "DELIVERED", "FAILED", "PENDING"]

