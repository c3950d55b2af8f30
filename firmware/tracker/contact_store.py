"""The contacts store: people, their numbers, their place in the sales funnel, and every change.

Why it is shaped like this (docs/storage.md, "Contacts"): contacts must be as safe as calls and
a change must cost the same at 50 contacts and at 50,000. So, like the call journal, every
change is ONE line appended with one write() and an fdatasync before anything in memory moves
(an import is one line too, so it is all or nothing); no file is rewritten in normal running;
at start-up a damaged file is set aside as `*.corrupt-<time>` and its good lines are kept.
The store is the only writer of its folder: a lock serialises the changes from the panel's
threads, and flock on `LOCK` keeps a second process out.

State: every contact in memory (a dict each), the number -> contact index that makes
`contact_for(number)` one dict look-up, a lower-cased search text per contact, each contact's
history (the journal lines that touched it), and the owner's lost reasons.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
import fcntl
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from firmware.atomic import fsync_dir
from firmware.tracker import contact_journal as cj
from firmware.tracker.contact_rules import DEFAULT_LOST_REASONS, Rules, blank, clean_fields, \
    clean_numbers, clean_reasons, forget_numbers
from firmware.tracker.errors import BadInput, StoreError, StoreLocked
from firmware.tracker.journal import write_atomic

logger = logging.getLogger(__name__)

LOCK_NAME = "LOCK"
STAGE_FIELDS = ("stage", "next_contact_at", "value", "lost_reason")
_fdatasync = getattr(os, "fdatasync", os.fsync)
_SEPARATORS = str.maketrans("", "", " -()./\u00a0")


class NumberTaken(BadInput):
    """A number already belongs to another contact (the API's 409)."""

    def __init__(self, number: str, contact: Mapping[str, Any]):
        holder = contact["name"] or contact["company"] or contact["id"]
        super().__init__("numbers", f"{number} already belongs to {holder}")
        self.number = number
        self.contact = {"id": contact["id"], "name": contact["name"]}


@dataclasses.dataclass
class ImportRow:
    """One spreadsheet row as the reader found it: raw texts, phone cells not yet parsed."""

    row: int
    fields: dict[str, str]
    numbers: list[str]


@dataclasses.dataclass
class ImportResult:
    imported: int = 0
    updated: int = 0
    rejected: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        return {"imported": self.imported, "updated": self.updated, "rejected": self.rejected}


class ContactStore:
    def __init__(self, folder: Path, *, clock: Callable[[], float] = time.time):
        self.folder = Path(folder)
        self.bytes_written = 0
        # told of each changed contact once its line is durable (the tracker: contact.changed)
        self.on_change: Callable[[dict[str, Any]], None] | None = None
        self._clock = clock
        self._lock = threading.RLock()
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._segment = 1
        self._contacts: dict[str, dict[str, Any]] = {}
        self._by_number: dict[str, str] = {}
        self._search_text: dict[str, str] = {}
        # Every search text joined into one string (rebuilt on the first search after a
        # change): str.find runs in C over it, ten times faster than a loop over 50,000.
        self._blob: str | None = None
        self._blob_starts: list[int] = []
        self._blob_ids: list[str] = []
        # Per contact, its changes as (at, by, names of the fields changed, the stage fields
        # that came with it or None, a note's text or None): tuples with shared parts, as a
        # full copy of every change would double the memory a contact takes.
        self._history: dict[str, list[tuple]] = {}
        self._shared: dict[Any, Any] = {}
        self._reasons: list[str] = list(DEFAULT_LOST_REASONS)
        self._last_id = 0
        self._repaired: list[str] = []

    # -- life -----------------------------------------------------------------------------

    def open(self) -> None:
        """Take the folder lock, set damaged files aside, replay every file in order."""
        with self._lock:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._take_lock()
            except OSError as exc:
                raise StoreError(f"{self.folder}: cannot open the contacts store: {exc}") from exc
            paths = sorted(p for p in self.folder.iterdir() if cj.FILE_RE.match(p.name))
            for path in paths:
                for doc in self._load_file(path):
                    self._apply(doc)
            if paths:
                self._segment = int(cj.FILE_RE.match(paths[-1].name).group(1))
            logger.info("contacts store %s: %d contacts in %d files", self.folder,
                        len(self._contacts), len(paths))

    def close(self) -> None:
        """Close the file and release the lock; safe to call twice."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def repaired_files(self) -> list[str]:
        with self._lock:
            return list(self._repaired)

    def _take_lock(self) -> None:
        fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLocked(f"{self.folder} is in use by another process") from None
        self._lock_fd = fd

    def _load_file(self, path: Path) -> list[dict[str, Any]]:
        try:
            data = path.read_bytes()
        except OSError as exc:
            logger.error("%s: cannot read, its contacts are not loaded: %s", path.name, exc)
            self._repaired.append(path.name)
            return []
        found = cj.scan(data)
        if found.damaged:
            stamp = time.strftime("%Y%m%dT%H%M%S")
            aside = path.with_name(f"{path.name}.corrupt-{stamp}")
            os.replace(path, aside)
            write_atomic(path, found.good_lines)
            logger.error("%s: damaged line(s) %s; original kept as %s, %d good lines loaded",
                         path.name, ", ".join(map(str, sorted(found.bad_lines)[:20])), aside.name,
                         len(found.good_lines))
            self._repaired.append(path.name)
        return found.docs

    # -- replay (start-up and every write) ------------------------------------------------

    def _apply(self, doc: dict[str, Any]) -> None:
        op = doc["op"]
        if op == "set":
            self._apply_set(doc)
        elif op == "note":
            contact = self._contacts.get(doc["id"])
            if contact is not None:
                self._history[doc["id"]].append((doc["at"], self._share(doc["by"]), (),
                                                 None, doc["text"]))
                self._contacts[doc["id"]] = {**contact, "updated_at": doc["at"]}
        elif op == "batch":
            for inner in doc["ops"]:
                self._apply_set(inner)
        else:
            self._reasons = list(doc["reasons"])

    def _apply_set(self, doc: dict[str, Any]) -> None:
        contact_id, fields = doc["id"], doc["fields"]
        before = self._contacts.get(contact_id)
        if before is None:
            before = {**blank(), "id": contact_id, "created_at": doc["at"],
                      "created_by": doc["by"]}
            self._history[contact_id] = []
            self._last_id = max(self._last_id, int(contact_id[1:]))
        old_numbers = before["numbers"]
        # Replaced, never changed in place: a reader holding the old dict keeps a whole one.
        contact = {**before, **{k: v for k, v in fields.items() if k in before and k != "id"},
                   "updated_at": doc["at"]}
        self._contacts[contact_id] = contact
        if "numbers" in fields:
            for number in old_numbers:
                if self._by_number.get(number) == contact_id:
                    del self._by_number[number]
            for number in contact["numbers"]:
                holder = self._by_number.get(number)
                if holder not in (None, contact_id):
                    logger.warning("contacts: %s moved from %s to %s", number, holder,
                                   contact_id)
                    other = self._contacts[holder]
                    other = {**other, "numbers": [n for n in other["numbers"] if n != number]}
                    self._contacts[holder] = other
                    self._index_text(other)
                self._by_number[number] = contact_id
        self._index_text(contact)
        stage = tuple((k, fields[k]) for k in STAGE_FIELDS if k in fields)
        self._history[contact_id].append((doc["at"], self._share(doc["by"]),
                                          self._share(tuple(sorted(fields))),
                                          self._share(stage) if stage else None, None))

    def _share(self, value: Any) -> Any:
        """One object for values that repeat from change to change (names, field lists)."""
        if len(self._shared) > 10_000:
            self._shared.clear()
        return self._shared.setdefault(value, value)

    def _index_text(self, contact: dict[str, Any]) -> None:
        digits = " ".join(n.lstrip("+") for n in contact["numbers"])
        self._blob = None
        self._search_text[contact["id"]] = \
            f"{contact['name']}\n{contact['company']}\n{digits}".casefold()

    # -- writing --------------------------------------------------------------------------

    def _append(self, doc: dict[str, Any]) -> None:
        """Append one line durably, then apply it; StoreError (nothing changed) on failure."""
        line = cj.encode(doc)
        fd = self._open_segment()
        start = os.fstat(fd).st_size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            _fdatasync(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, start)
                _fdatasync(fd)
            except OSError:
                logger.error("contacts: a failed write could not be cut back; start-up "
                             "will set it aside")
            raise StoreError(f"contacts: write failed: {exc}") from exc
        self.bytes_written += len(line)
        self._apply(doc)
        if self.on_change is not None:      # durable now: integrations may hear of it
            for contact_id in _changed_ids(doc):
                if contact_id in self._contacts:
                    self.on_change(dict(self._contacts[contact_id]))
        if start + len(line) >= cj.SEGMENT_BYTES:
            os.close(fd)
            self._fd = None
            self._segment += 1

    def _open_segment(self) -> int:
        if self._fd is None:
            if self._lock_fd is None:
                raise StoreError("the contacts store is not open")
            path = self.folder / cj.file_name(self._segment)
            created = not path.exists()
            try:
                self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                if created:
                    fsync_dir(self.folder)
            except OSError as exc:
                raise StoreError(f"{path.name}: cannot open for writing: {exc}") from exc
        return self._fd

    def _rules(self, rules: Rules) -> Rules:
        return dataclasses.replace(rules, lost_reasons=tuple(self._reasons))

    def _check_numbers(self, numbers: Iterable[str], contact_id: str | None) -> None:
        for number in numbers:
            holder = self._by_number.get(number)
            if holder is not None and holder != contact_id:
                raise NumberTaken(number, self._contacts[holder])

    def create(self, body: Mapping[str, Any], by: str, rules: Rules) -> dict[str, Any]:
        """A new contact from a request body; BadInput / NumberTaken before anything is written."""
        with self._lock:
            fields = clean_fields(body, self._rules(rules))
            self._check_numbers(fields["numbers"], None)
            contact_id = f"c{self._last_id + 1}"
            self._append({"op": "set", "id": contact_id, "at": self._clock(), "by": by,
                          "fields": fields})
            return dict(self._contacts[contact_id])

    def change(self, contact_id: str, body: Mapping[str, Any], by: str,
               rules: Rules) -> dict[str, Any]:
        """Change a contact; KeyError when unknown, BadInput / NumberTaken on bad fields."""
        with self._lock:
            current = self._contacts[contact_id]
            fields = clean_fields(body, self._rules(rules), current)
            if "numbers" in fields:
                self._check_numbers(fields["numbers"], contact_id)
            if fields:
                self._append({"op": "set", "id": contact_id, "at": self._clock(), "by": by,
                              "fields": fields})
            return dict(self._contacts[contact_id])

    def add_note(self, contact_id: str, text: Any, by: str) -> None:
        """A note on the contact's timeline (not its `notes` field)."""
        if not isinstance(text, str) or not text.strip() or len(text) > 5000:
            raise BadInput("note", "must be text of 1 to 5000 characters")
        with self._lock:
            if contact_id not in self._contacts:
                raise KeyError(contact_id)
            self._append({"op": "note", "id": contact_id, "at": self._clock(), "by": by,
                          "text": text.strip()})

    def set_reasons(self, lines: Iterable[Any], by: str) -> list[str]:
        reasons = clean_reasons(lines)
        with self._lock:
            if reasons != self._reasons:
                self._append({"op": "reasons", "at": self._clock(), "by": by,
                              "reasons": reasons})
            return list(self._reasons)

    def import_rows(self, rows: Iterable[ImportRow], campaign: str, by: str,
                    rules: Rules) -> ImportResult:
        """Apply a spreadsheet's rows as ONE journal line: every row that passes, or nothing.

        A row is matched to a contact by any of its numbers; a matched contact keeps what the
        row leaves empty. A row whose numbers belong to two contacts, or that breaks a rule,
        is rejected with its row number; the other rows still go in.
        """
        result = ImportResult()
        with self._lock:
            rules = self._rules(rules)
            staged: dict[str, dict[str, Any]] = {}     # contact id -> its state after the rows
            claims: dict[str, str] = {}                # numbers the file gives new owners
            ops: list[dict[str, Any]] = []
            next_id = self._last_id
            at = self._clock()
            for row in rows:
                try:
                    numbers = clean_numbers(row.numbers, rules, {})
                except BadInput as exc:
                    result.rejected.append({"row": row.row, "error": exc.message})
                    continue
                owners = {claims.get(n) or self._by_number.get(n) for n in numbers} - {None}
                if len(owners) > 1:
                    result.rejected.append({"row": row.row, "error":
                                            "its numbers belong to different contacts"})
                    continue
                body: dict[str, Any] = {k: v for k, v in row.fields.items() if v}
                try:
                    if owners:
                        contact_id = owners.pop()
                        current = staged.get(contact_id) or self._contacts[contact_id]
                        body["numbers"] = current["numbers"] + \
                            [n for n in numbers if n not in current["numbers"]]
                        if campaign and not current["campaign"]:
                            body["campaign"] = campaign
                        fields = clean_fields(body, rules, current)
                        result.updated += 1
                    else:
                        body.update(numbers=numbers, stage="new", campaign=campaign)
                        fields = clean_fields(body, rules)
                        next_id += 1
                        contact_id = f"c{next_id}"
                        current = {}
                        result.imported += 1
                except BadInput as exc:
                    result.rejected.append({"row": row.row,
                                            "error": f"{exc.field}: {exc.message}"})
                    continue
                staged[contact_id] = {**current, **fields}
                for number in fields.get("numbers", ()):
                    claims[number] = contact_id
                if fields:
                    ops.append({"op": "set", "id": contact_id, "at": at, "by": by,
                                "fields": fields})
            forget_numbers()
            if ops:
                self._append({"op": "batch", "at": at, "by": by, "ops": ops})
        return result

    # -- reading --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._contacts)

    def now(self) -> float:
        """The store's clock (frozen in tests): what "overdue" is measured against."""
        return self._clock()

    def get(self, contact_id: str) -> dict[str, Any] | None:
        with self._lock:
            contact = self._contacts.get(contact_id)
            return dict(contact) if contact is not None else None

    def contact_for(self, number: str | None) -> dict[str, str] | None:
        """`{"id", "name"}` of the contact that owns an E.164 number, else None."""
        contact_id = self._by_number.get(number) if number else None
        contact = self._contacts.get(contact_id) if contact_id else None
        if contact is None:
            return None
        return {"id": contact_id, "name": contact["name"] or contact["company"]}

    def contact_name(self, number: str) -> str | None:
        """The name to show for a caller (E.164 in): one dict look-up, no lock, no disk.

        Safe from any thread: the dicts are only ever changed by single assignments or
        deletions, which CPython makes atomic.
        """
        found = self.contact_for(number)
        return (found["name"] or None) if found else None

    def search(self, q: str = "", *, stage: str | None = None, owner: str | None = None,
               campaign: str | None = None) -> list[dict[str, Any]]:
        """Contacts whose name, company or number holds `q`, ordered by name.

        Like `all` and `in_stage`, this hands out the stored dicts themselves (copying 50,000
        of them cost more than the search): they are replaced on every change, never changed
        in place, so they stay whole; callers must not change them either.
        """
        text = " ".join(q.split()).casefold()
        digits = text.translate(_SEPARATORS).lstrip("+")
        if not digits.isdigit() or len(digits) < 3:
            digits = ""
        elif digits.startswith("0"):
            digits = digits.lstrip("0")          # a national trunk prefix ("0 20 7946...")
        with self._lock:
            if text:
                ids = self._matching(text)
                if digits:
                    ids = list(dict.fromkeys(ids + self._matching(digits)))
            else:
                ids = list(self._contacts)
            found = []
            for contact_id in ids:
                contact = self._contacts[contact_id]
                if (stage and contact["stage"] != stage) or \
                        (owner is not None and contact["owner"] != owner) or \
                        (campaign and contact["campaign"] != campaign):
                    continue
                found.append(contact)
        found.sort(key=lambda c: ((c["name"] or c["company"]).casefold(), c["id"]))
        return found

    def _matching(self, needle: str) -> list[str]:
        """Ids of the contacts whose search text holds `needle`, in creation order."""
        if self._blob is None:
            self._blob_ids = list(self._search_text)
            self._blob_starts = []
            position = 0
            for contact_id in self._blob_ids:
                self._blob_starts.append(position)
                position += len(self._search_text[contact_id]) + 1
            self._blob = "\0".join(self._search_text[i] for i in self._blob_ids)
        blob, starts, found = self._blob, self._blob_starts, []
        position = blob.find(needle)
        while position >= 0:
            index = bisect_right(starts, position) - 1
            found.append(self._blob_ids[index])
            following = index + 1
            if following >= len(starts):
                break
            position = blob.find(needle, starts[following])
        return found

    def overdue(self, now: float) -> int:
        """How many contacts in progress are past their next-contact time (for the LED)."""
        with self._lock:
            return sum(1 for c in self._contacts.values() if c["stage"] == "in_progress"
                       and c["next_contact_at"] is not None and c["next_contact_at"] <= now)

    @property
    def is_open(self) -> bool:
        return self._lock_fd is not None

    def in_stage(self, stage: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c for c in self._contacts.values() if c["stage"] == stage]

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._contacts.values())

    def history(self, contact_id: str) -> list[dict[str, Any]]:
        """The contact's changes, oldest first: {"op": "set", "at", "by", "changed": [field
        names], "fields": {the stage fields that came with it}} or {"op": "note", "at", "by",
        "text"}."""
        with self._lock:
            if contact_id not in self._history:
                raise KeyError(contact_id)
            entries = list(self._history[contact_id])
        return [{"op": "note", "at": at, "by": by, "text": text} if text is not None else
                {"op": "set", "at": at, "by": by, "changed": list(names),
                 "fields": dict(stage or ())}
                for at, by, names, stage, text in entries]

    def reasons(self) -> list[str]:
        with self._lock:
            return list(self._reasons)


def _changed_ids(doc: dict[str, Any]) -> list[str]:
    """The contacts a journal line sets (one, or an import's many)."""
    if doc.get("op") == "set":
        return [doc["id"]]
    return [op["id"] for op in doc.get("ops", ()) if isinstance(op, dict) and "id" in op]
