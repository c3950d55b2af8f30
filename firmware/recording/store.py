"""Where recordings live: audio files plus one append-only index, and the good-call marks.

Why an append-only log: a recording changes state a few times in its life (begun, ended,
linked to its call record, deleted) and a mark is set or cleared now and then. Rewriting one
JSON file of 100k recordings on each change would cost seconds on a Pi; appending a line
(fdatasync'd, like the call journal) costs one small write. The log is read once at start,
a torn last line (power cut) is skipped, and it is compacted when mostly dead lines.

Files: <dir>/<month>/<pbx call id>.ogg (call ids start with the hex start time, so names
sort by time) and <dir>/index.jsonl. The call record (tracker) knows nothing of recordings:
a recording is found by the record's id through the "link" the tracker's "call.recorded"
publication gives (matched on the exact offered_at/answered_at times of the call events).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from firmware.atomic import atomic_write

logger = logging.getLogger(__name__)

INDEX = "index.jsonl"
COMPACT_MIN_LINES = 1000


@dataclass
class Entry:
    call_id: str
    file: str                          # relative to the store's folder
    began_at: float                    # wall clock of the answer
    offered_at: float
    answered_at: float
    seconds: float | None = None       # None while the call runs (or it never ended: cut)
    size: int = 0
    dropped_packets: int = 0
    problem: str = ""                  # why there is less or no audio ("codec g722/8000")
    extras: dict[str, Any] = field(default_factory=dict)


class RecordingStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.entries: dict[str, Entry] = {}          # by pbx call id
        self.links: dict[str, str] = {}              # record id -> pbx call id
        self.marks: dict[str, dict] = {}             # record id -> {"by", "at"}
        self._expected: dict[tuple[float, float], str] = {}   # (offered, answered) -> call
        self.record_of: dict[str, str] = {}          # pbx call id -> record id
        self.by_party: dict[str, str] = {}           # the other party's number -> newest call
        self._lines = 0
        self._load()
        self._log = open(self.folder / INDEX, "ab")

    # -- the log ---------------------------------------------------------------------------
    def _load(self) -> None:
        path = self.folder / INDEX
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return
        bad = 0
        try:    # one parse of the whole log is ~3x faster than a parse per line
            ops = json.loads(b"[" + b",".join(data.splitlines()) + b"]")
        except ValueError:      # a torn line somewhere: line by line, skipping it
            ops = []
            for line in data.splitlines():
                try:
                    ops.append(json.loads(line))
                except ValueError:
                    bad += 1
        for op in ops:
            try:
                self._apply(op)
            except (KeyError, TypeError):
                bad += 1
                continue
            self._lines += 1
        if bad:
            logger.warning("recordings: %d unreadable index lines skipped (a power cut?)", bad)
        for entry in self.entries.values():
            if entry.seconds is None:        # cut short by a stop or a power cut: what is there
                entry.size = self._size(entry)
        live = len(self.entries) + len(self.links) + len(self.marks)
        if self._lines > COMPACT_MIN_LINES and self._lines > 3 * live or bad:
            self._compact()

    def _apply(self, op: dict) -> None:
        kind = op["op"]
        if kind == "begin":
            self.entries[op["call"]] = Entry(op["call"], op["file"], op["at"], op["offered_at"],
                                             op["answered_at"], extras=op.get("extras") or {})
            if op["call"] not in self.record_of:        # else linked already
                self._expected[(op["offered_at"], op["answered_at"])] = op["call"]
            party = (op.get("extras") or {}).get("party")
            if party:
                self.by_party[party] = op["call"]
        elif kind == "end":
            entry = self.entries.get(op["call"])
            if entry is not None:
                entry.seconds, entry.size = op["seconds"], op["size"]
                entry.dropped_packets = op.get("dropped", 0)
                entry.problem = op.get("problem", "")
        elif kind == "link":
            self.links[op["record"]] = op["call"]
            self.record_of[op["call"]] = op["record"]
            linked = self.entries.get(op["call"])
            if linked is not None:
                self._expected.pop((linked.offered_at, linked.answered_at), None)
        elif kind == "delete":
            entry = self.entries.pop(op["call"], None)
            if entry is not None:
                self._expected.pop((entry.offered_at, entry.answered_at), None)
                party = entry.extras.get("party")
                if party and self.by_party.get(party) == entry.call_id:
                    del self.by_party[party]
        elif kind == "mark":
            self.marks[op["record"]] = {"by": op.get("by", ""), "at": op.get("at", 0)}
        elif kind == "unmark":
            self.marks.pop(op["record"], None)
        else:
            raise KeyError(kind)

    def _append(self, op: dict) -> None:
        """Apply and log one change durably (the caller holds the lock)."""
        self._apply(op)
        self._log.write(json.dumps(op, separators=(",", ":")).encode() + b"\n")
        self._log.flush()
        os.fdatasync(self._log.fileno())
        self._lines += 1

    def _compact(self) -> None:
        ops: list[dict] = []
        for entry in self.entries.values():
            ops.append({"op": "begin", "call": entry.call_id, "file": entry.file,
                        "at": entry.began_at, "offered_at": entry.offered_at,
                        "answered_at": entry.answered_at, "extras": entry.extras})
            if entry.seconds is not None:
                ops.append({"op": "end", "call": entry.call_id, "seconds": entry.seconds,
                            "size": entry.size, "dropped": entry.dropped_packets,
                            **({"problem": entry.problem} if entry.problem else {})})
        ops += [{"op": "link", "record": r, "call": c} for r, c in self.links.items()
                if c in self.entries]
        ops += [{"op": "mark", "record": r, **m} for r, m in self.marks.items()]
        text = b"".join(json.dumps(op, separators=(",", ":")).encode() + b"\n" for op in ops)
        atomic_write(self.folder / INDEX, text)
        self._lines = len(ops)
        logger.info("recordings: index compacted to %d lines", len(ops))

    def close(self) -> None:
        with self._lock:
            self._log.close()

    # -- recordings --------------------------------------------------------------------------
    def path(self, entry: Entry) -> Path:
        return self.folder / entry.file

    def _size(self, entry: Entry) -> int:
        try:
            return self.path(entry).stat().st_size
        except OSError:
            return 0

    def expect(self, call_id: str, offered_at: float, answered_at: float) -> None:
        """Remember a call being recorded, so its record can be linked even before `begin`
        reaches the disk. Called from the event loop: no I/O and no lock (the worker may hold
        it through an fdatasync); one dict assignment is atomic."""
        self._expected[(offered_at, answered_at)] = call_id

    def begin(self, call_id: str, offered_at: float, answered_at: float,
              extras: dict | None = None) -> Path:
        """A new recording's file path (its folder made); logged before the first byte."""
        month = time.strftime("%Y-%m", time.gmtime(answered_at))
        relative = f"{month}/{call_id}.ogg"
        (self.folder / month).mkdir(exist_ok=True)
        with self._lock:
            self._append({"op": "begin", "call": call_id, "file": relative,
                          "at": answered_at, "offered_at": offered_at,
                          "answered_at": answered_at, "extras": extras or {}})
        return self.folder / relative

    def end(self, call_id: str, seconds: float, size: int, dropped: int = 0,
            problem: str = "") -> None:
        """The recording is complete; `problem` says why it has less audio than the call
        (or none: seconds 0, no file), e.g. "codec g722/8000"."""
        with self._lock:
            if call_id in self.entries:
                op = {"op": "end", "call": call_id, "seconds": round(seconds, 3),
                      "size": size, "dropped": dropped}
                if problem:
                    op["problem"] = problem
                self._append(op)

    def grew(self, call_id: str, size: int) -> None:
        """The file's size while it is written (for the disk quota; not logged)."""
        entry = self.entries.get(call_id)
        if entry is not None:
            entry.size = size

    def link(self, record_id: str, offered_at: float, answered_at: float | None) -> bool:
        """The tracker recorded a call: tie its id to the recording of the same call."""
        if answered_at is None:
            return False
        with self._lock:
            call_id = self._expected.pop((offered_at, answered_at), None)
            if call_id is None:
                return False
            self._append({"op": "link", "record": record_id, "call": call_id})
        return True

    def for_record(self, record_id: str) -> Entry | None:
        call_id = self.links.get(record_id)
        return self.entries.get(call_id) if call_id is not None else None

    def newest_for(self, number: str) -> str | None:
        """The record id of the newest recorded call with `number` (caller or called)."""
        call_id = self.by_party.get(number)
        return self.record_of.get(call_id) if call_id in self.entries else None

    def delete(self, call_id: str, why: str) -> bool:
        """Remove one recording (file and entry); False when there was none."""
        with self._lock:
            entry = self.entries.get(call_id)
            if entry is None:
                return False
            try:
                self.path(entry).unlink()
            except FileNotFoundError:
                pass
            self._append({"op": "delete", "call": call_id, "why": why})
        logger.info("recording %s deleted (%s)", call_id, why)
        return True

    def oldest_first(self) -> list[Entry]:
        with self._lock:
            return sorted(self.entries.values(), key=lambda e: (e.began_at, e.call_id))

    def total_bytes(self) -> int:
        with self._lock:
            return sum(e.size for e in self.entries.values())

    # -- good calls --------------------------------------------------------------------------
    def mark(self, record_id: str, by: str, at: float) -> None:
        with self._lock:
            if record_id not in self.marks:
                self._append({"op": "mark", "record": record_id, "by": by, "at": at})

    def unmark(self, record_id: str) -> None:
        with self._lock:
            if record_id in self.marks:
                self._append({"op": "unmark", "record": record_id})

    def marked(self) -> Iterable[str]:
        with self._lock:
            return list(self.marks)
