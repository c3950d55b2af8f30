"""The store: call data on disk, one append-only journal file per month. See docs/storage.md.

Why not TinyDB's JSONStorage: it rewrites the whole database on every insert (18 ms at 1k
calls, 1.7 s and 44 MB at 100k), in place, without fsync, so a kill can leave invalid JSON.
Here a completed call is one line appended with one write() and an fdatasync before the writer
moves on, so the cost and the bytes of a write do not depend on the history; files are bounded
by month (UTC month of the call's start; a record's later updates go to its own file); at
start-up a damaged file is renamed aside, its good lines are kept, and the log says so.

What we keep from TinyDB is its model and its Storage contract: documents are JSON objects in
plain, human-readable files, and `JournalStorage` is a `tinydb.Storage`, so a month file can be
opened with TinyDB and queried with `Query` (`open_month`) by tools and tests.

State: the open file descriptors and the folder lock. One `Store` per folder, used from one
thread (the tracker's writer); the lock (flock) keeps a second process from writing too.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from firmware.tracker import journal
from firmware.tracker.errors import StoreError, StoreLocked

logger = logging.getLogger(__name__)

FILE_RE = re.compile(r"^calls-(\d{4}-\d{2})\.jsonl$")
LOCK_NAME = "LOCK"
MAX_OPEN_FILES = 3
CHUNK_BYTES = 1 << 20          # lines parsed at a time by open_months
_fdatasync = getattr(os, "fdatasync", os.fsync)


def month_of(ts: float) -> str:
    """The journal month ("2024-03") of an epoch time: UTC, so a time zone change moves nothing."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m")


def file_name(month: str) -> str:
    return f"calls-{month}.jsonl"


class Loaded:
    """What the journal held at start-up: records (in file order) and dismissals."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.dismissals: list[dict[str, Any]] = []
        self.damaged_files: list[str] = []


def _convert(loaded: Loaded, ids: list[str], make_record: Callable, source: str) -> None:
    for call_id in dict.fromkeys(ids):
        try:
            loaded.records[call_id] = make_record(loaded.records[call_id])
        except (KeyError, TypeError, ValueError) as exc:
            logger.error("%s: call %s cannot be loaded (%r); left out", source, call_id, exc)
            del loaded.records[call_id]


def _replay_made(docs: list[dict[str, Any]], records: dict[str, Any],
                 dismissals: list[dict[str, Any]], make_record: Callable, source: str) -> None:
    """journal.replay, with each record made by `make_record` as soon as it is set."""
    for doc in docs:
        op = doc.get("op")
        if op is None:
            merged = doc
        elif op == "update":
            record = records.get(doc["id"])
            if record is None:
                logger.warning("%s: update of unknown call %s ignored", source, doc["id"])
                continue
            base = record.to_doc() if hasattr(record, "to_doc") else record
            merged = {**base, **doc["fields"]}
        else:
            dismissals.append(doc)
            continue
        try:
            records[doc["id"]] = make_record(merged)
        except (KeyError, TypeError, ValueError) as exc:
            if op is None:
                logger.error("%s: call %s cannot be loaded (%r); left out", source, doc["id"],
                             exc)
                records.pop(doc["id"], None)
            else:
                logger.warning("%s: update of call %s ignored: %s", source, doc["id"], exc)


class Store:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.bytes_written = 0                 # journal bytes appended since open (benchmarks)
        self._fds: dict[str, int] = {}         # month -> fd, most recently used last
        self._lock_fd: int | None = None

    # -- start-up -------------------------------------------------------------------------

    def _begin_open(self) -> Loaded:
        """What both ways of opening do first: take the folder lock and remove a rewrite a
        crash left unfinished."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock()
        except OSError as exc:
            raise StoreError(f"{self.folder}: cannot open the call store: {exc}") from exc
        for leftover in sorted(self.folder.glob("calls-*.jsonl.tmp")):
            logger.warning("%s: unfinished rewrite from a crash removed", leftover.name)
            leftover.unlink()
        return Loaded()

    def open(self, make_record: Callable[[dict[str, Any]], Any] | None = None) -> Loaded:
        """Take the folder lock, repair damaged files, and replay every month in order.

        `make_record` turns each loaded record into its in-memory form once its month is
        replayed (so one month of plain dicts at most is in memory at a time).
        """
        loaded = self._begin_open()
        for path in sorted(p for p in self.folder.iterdir() if FILE_RE.match(p.name)):
            docs = self._load_file(path, loaded)
            touched = journal.replay(docs, loaded.records, loaded.dismissals, path.name)
            del docs
            if make_record is not None:
                _convert(loaded, touched, make_record, path.name)
        logger.info("call store %s: %d calls in %d month files", self.folder,
                    len(loaded.records), len(list(self.folder.glob("calls-*.jsonl"))))
        return loaded

    def open_months(self, make_record: Callable[[dict[str, Any]], Any],
                    take_month: Callable[[list[Any]], None]) -> Loaded:
        """Like `open`, but each month's records, once replayed and made by `make_record`,
        go to `take_month` (in the month's file order) and are not kept in `Loaded.records`.

        A sound file is parsed about a megabyte at a time and each record is made as soon as
        it is read, so the plain dicts of no more than a megabyte of lines are in memory at
        once: memory a start-up peak used stays in the process's resident size.
        """
        loaded = self._begin_open()
        count = 0
        for path in sorted(p for p in self.folder.iterdir() if FILE_RE.match(p.name)):
            month: dict[str, Any] = {}
            for docs in self._chunks(path, loaded):
                _replay_made(docs, month, loaded.dismissals, make_record, path.name)
            count += len(month)
            take_month(list(month.values()))
        logger.info("call store %s: %d calls in %d month files", self.folder, count,
                    len(list(self.folder.glob("calls-*.jsonl"))))
        return loaded

    def _chunks(self, path: Path, loaded: Loaded) -> Iterator[list[dict[str, Any]]]:
        """The documents of a file, a megabyte of lines at a time (a damaged file: repaired
        first, then all at once)."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            logger.error("%s: cannot read, its calls are not loaded: %s", path.name, exc)
            loaded.damaged_files.append(path.name)
            return
        start = 0
        if data.endswith(b"\n"):
            while start < len(data):
                end = data.find(b"\n", start + CHUNK_BYTES)
                end = len(data) if end < 0 else end + 1
                found = journal.scan(data[start:end])
                if found.damaged:
                    break
                yield found.docs
                start = end
            else:
                return
        found = journal.scan(data)           # damaged: repair, then the lines not yet given
        if found.damaged:
            self._set_aside(path, found)
            loaded.damaged_files.append(path.name)
        yield journal.scan(data[start:]).docs if start else found.docs

    def _load_file(self, path: Path, loaded: Loaded) -> list[dict[str, Any]]:
        try:
            data = path.read_bytes()
        except OSError as exc:
            logger.error("%s: cannot read, its calls are not loaded: %s", path.name, exc)
            loaded.damaged_files.append(path.name)
            return []
        found = journal.scan(data)
        if found.damaged:
            self._set_aside(path, found)
            loaded.damaged_files.append(path.name)
        return found.docs

    def _set_aside(self, path: Path, found: journal.Scan) -> None:
        """Keep the damaged file as *.corrupt-<time>; write its good lines as the month file."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        os.replace(path, aside)
        journal.write_atomic(path, found.good_lines)
        torn_only = found.torn_tail and len(found.bad_lines) == 1
        what = "a torn last line (a write cut short)" if torn_only else "unreadable lines"
        logger.error("%s: %s at line(s) %s; original kept as %s, %d good lines loaded",
                     path.name, what, ", ".join(map(str, found.bad_lines[:20])), aside.name,
                     len(found.good_lines))

    def _lock(self) -> None:
        fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLocked(f"{self.folder} is in use by another tracker") from None
        self._lock_fd = fd

    # -- writing --------------------------------------------------------------------------

    def append(self, month: str, doc: dict[str, Any]) -> int:
        """Append one document to the month's journal; durable when this returns.

        On failure (disk full, I/O error) the file is cut back to where it was, so a failed
        write never leaves half a line in front of the next one, and StoreError is raised.
        """
        line = journal.encode(doc)
        fd = self._fd(month)
        start = os.fstat(fd).st_size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            _fdatasync(fd)
        except OSError as exc:
            self._cut_back(fd, start, month)
            raise StoreError(f"{file_name(month)}: write failed: {exc}") from exc
        self.bytes_written += len(line)
        return len(line)

    def _cut_back(self, fd: int, size: int, month: str) -> None:
        try:
            os.ftruncate(fd, size)
            _fdatasync(fd)
        except OSError as exc:
            logger.error("%s: cannot cut a failed write back (%s); start-up will repair it",
                         file_name(month), exc)

    def _fd(self, month: str) -> int:
        fd = self._fds.pop(month, None)
        if fd is None:
            if self._lock_fd is None:
                raise StoreError("the store is not open")
            path = self.folder / file_name(month)
            created = not path.exists()
            try:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                if created:
                    journal.fsync_dir(self.folder)
            except OSError as exc:
                raise StoreError(f"{path.name}: cannot open for writing: {exc}") from exc
            while len(self._fds) >= MAX_OPEN_FILES:
                os.close(self._fds.pop(next(iter(self._fds))))
        self._fds[month] = fd
        return fd

    def close(self) -> None:
        """Close the files and release the lock; safe to call twice."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


# -- TinyDB compatibility ---------------------------------------------------------------------

class JournalStorage(Storage):
    """A month journal as a TinyDB Storage: tables "calls" (by id) and "dismissals".

    Reading replays the journal. Writing replaces the file atomically with one line per
    document (a compaction); it is refused unless `read_only=False`, and must never run while
    the box is running: the tracker is the journal's only writer.
    """

    def __init__(self, path: str | Path, read_only: bool = True):
        super().__init__()
        self.path = Path(path)
        self.read_only = read_only

    def read(self) -> dict[str, dict[str, Any]] | None:
        if not self.path.exists():
            return None
        records: dict[str, dict[str, Any]] = {}
        dismissals: list[dict[str, Any]] = []
        journal.replay(journal.scan(self.path.read_bytes()).docs, records, dismissals,
                       self.path.name)
        return {"calls": records,
                "dismissals": {str(n): d for n, d in enumerate(dismissals, 1)}}

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        if self.read_only:
            raise PermissionError(f"{self.path.name}: opened read-only")
        calls = data.get("calls", {})
        dismissals = data.get("dismissals", {})
        lines = [journal.encode({**doc, "id": str(doc_id)}) for doc_id, doc in calls.items()]
        lines += [journal.encode({**d, "op": "dismiss"}) for d in dismissals.values()]
        journal.write_atomic(self.path, lines)


class _StrIdTable(Table):
    document_id_class = str       # our ids are strings ("lt3k9q0a01"), TinyDB's are ints


class _MonthDB(TinyDB):
    table_class = _StrIdTable


def open_month(path: str | Path, read_only: bool = True) -> TinyDB:
    """A month journal as a TinyDB database, for tools: `open_month(p).table("calls")`."""
    return _MonthDB(path, storage=JournalStorage, read_only=read_only)
