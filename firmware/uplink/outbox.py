"""A durable outbox: what the box must still tell the central, safe across kills and power cuts.

Why a store of its own (docs/central.md, "The box's outbox"): the central may be away for a
week, and nothing the tracker published may be lost or sent twice in a way that counts twice.
It meets the call journal's bar (docs/storage.md):

    <data>/outbox/central/
      LOCK                       flock'ed by the one process that uses this outbox
      seg-000001733312000000.jsonl   entries from that seq on, appended only
      ACKED                      the highest seq the central acknowledged (atomic replace)

- **One writer**: `append` is called on the tracker's writer thread only; the sender thread
  only reads whole lines and moves ACKED. A second process on the folder gets OutboxLocked.
- **Durable before moving on**: an entry is one JSON line written with one write() on an
  O_APPEND descriptor, then fdatasync; a new segment fsyncs the folder too.
- **A kill** can leave at most a torn last line (its fdatasync never returned, so nobody was
  told it was kept): `open` cuts it off and logs it. A line that does not parse elsewhere is
  skipped with an error in the log, never fatal.
- **Bounded**: segments roll over at SEGMENT_BYTES; a segment whose entries are all
  acknowledged is deleted; reading a batch reads one segment at a time.
- **Ordered, idempotent**: each entry has a `seq` that only grows, also across restarts; a new
  outbox starts at the current time in milliseconds, so a box whose data was wiped still
  sends versions the central takes as newer.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from firmware.atomic import atomic_write, fsync_dir

logger = logging.getLogger(__name__)

SEGMENT_BYTES = 1024 * 1024
_PREFIX, _SUFFIX = "seg-", ".jsonl"


class OutboxLocked(RuntimeError):
    """Another process uses this outbox folder."""


class Outbox:
    def __init__(self, folder: Path, *, clock=time.time):
        self.folder = Path(folder)
        self._clock = clock
        self._lock = threading.Lock()
        self._lock_file = None
        self._fd: int | None = None
        self._segments: list[int] = []       # first seq of each segment file, ascending
        self._segment_size = 0
        self.next_seq = 0
        self.acked = 0
        self.changed = threading.Event()     # set by append: the sender has work

    # -- life -------------------------------------------------------------------------------

    def open(self) -> "Outbox":
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.folder / "LOCK", "a+b")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise OutboxLocked(f"{self.folder} is used by another process") from None
        self.acked = self._read_acked()
        self._segments = sorted(int(p.name[len(_PREFIX):-len(_SUFFIX)]) for p in
                                self.folder.glob(f"{_PREFIX}*{_SUFFIX}")
                                if p.name[len(_PREFIX):-len(_SUFFIX)].isdigit())
        last_seq = self.acked
        if self._segments:
            path = self._path(self._segments[-1])
            self._cut_torn_tail(path)
            for entry in self._entries(path):
                last_seq = max(last_seq, entry["seq"])
            last_seq = max(last_seq, self._segments[-1] - 1)
            self._segment_size = path.stat().st_size
        self.next_seq = last_seq + 1 if last_seq else int(self._clock() * 1000)
        if self.pending():
            self.changed.set()
        return self

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None

    # -- the writer (the tracker's thread) -----------------------------------------------------

    def append(self, kind: str, fields: dict[str, Any]) -> int:
        """Keep one entry durably; returns its seq. OSError when the disk refuses."""
        with self._lock:
            seq = self.next_seq
            line = (json.dumps({"seq": seq, "kind": kind, **fields}, separators=(",", ":"),
                               ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
            if self._fd is None or self._segment_size + len(line) > SEGMENT_BYTES:
                self._roll(seq, len(line))
            written = os.write(self._fd, line)
            if written != len(line):                   # a short write: cut it back, refuse
                os.ftruncate(self._fd, self._segment_size)
                raise OSError(f"short write to the outbox ({written} of {len(line)} bytes)")
            os.fdatasync(self._fd)
            self._segment_size += len(line)
            self.next_seq = seq + 1
        self.changed.set()
        return seq

    def _roll(self, seq: int, need: int) -> None:
        """Open the segment to append to: the last one while it has room, else a new one."""
        reopen = self._fd is None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if reopen and self._segments and self._segment_size + need <= SEGMENT_BYTES and \
                self._path(self._segments[-1]).exists():
            first = self._segments[-1]               # reopen the current segment
        else:
            first = seq
            self._segments.append(first)
            self._segment_size = 0
        self._fd = os.open(self._path(first), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fsync_dir(self.folder)

    # -- the reader (the sender's thread) ------------------------------------------------------

    def pending(self) -> int:
        """How many entries wait (an estimate from the seqs: exact unless lines were lost)."""
        with self._lock:
            if not self._segments:
                return 0
            return max(0, self.next_seq - max(self.acked + 1, self._segments[0]))

    def batch(self, limit: int) -> list[dict]:
        """Up to `limit` unacknowledged entries, oldest first."""
        with self._lock:
            segments = list(self._segments)
            acked = self.acked
        out: list[dict] = []
        for n, first in enumerate(segments):
            following = segments[n + 1] if n + 1 < len(segments) else None
            if following is not None and following - 1 <= acked:
                continue                            # all of this segment is acknowledged
            for entry in self._entries(self._path(first)):
                if entry["seq"] > acked:
                    out.append(entry)
                    if len(out) >= limit:
                        return out
        return out

    def ack(self, upto: int) -> None:
        """The central kept every entry up to `upto`: remember it, drop finished segments."""
        with self._lock:
            if upto <= self.acked:
                return
            self.acked = upto
            atomic_write(self.folder / "ACKED", f"{upto}\n".encode())
            while len(self._segments) > 1 and self._segments[1] - 1 <= upto:
                first = self._segments.pop(0)
                try:
                    self._path(first).unlink()
                except FileNotFoundError:
                    pass

    # -- files ---------------------------------------------------------------------------------

    def _path(self, first: int) -> Path:
        return self.folder / f"{_PREFIX}{first:018d}{_SUFFIX}"

    def _read_acked(self) -> int:
        try:
            text = (self.folder / "ACKED").read_text().strip()
            return int(text) if text.isdigit() else 0
        except FileNotFoundError:
            return 0

    def _entries(self, path: Path) -> list[dict]:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1                  # whole lines only
        out = []
        for number, line in enumerate(data[:end].split(b"\n")[:-1], 1):
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict) or entry.get("seq").__class__ is not int:
                    raise ValueError("no seq")
            except ValueError:
                logger.error("outbox %s line %d unreadable; skipped", path.name, number)
                continue
            out.append(entry)
        return out

    def _cut_torn_tail(self, path: Path) -> None:
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            logger.warning("outbox %s: a torn last line (%d bytes, never acknowledged) cut off",
                           path.name, len(data) - end)
            with open(path, "r+b") as f:
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())
