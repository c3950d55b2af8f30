"""The journal's file format: JSON lines, one complete document or operation per line.

A line is either a call record (a JSON object with an "id" and no "op"), or an operation:
  {"op": "update", "id": "...", "fields": {...}}     fields replace the record's fields
  {"op": "dismiss", "number": "+48...", "reason": "...", "by": "...", "at": 1700000000.0}
Replaying the lines in order gives the month's records and dismissals.

A line is only ever appended whole, with one write() and an fsync, so the only damage a kill
or a power cut can leave is a torn last line (no newline at the end); anything else that does
not parse is corruption from outside (disk, hands). `scan` reads a file and sorts its lines
into good and bad without raising, so the store can keep the good ones and set the file aside.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from firmware.atomic import fsync_dir  # noqa: F401 (store.py calls journal.fsync_dir)
from firmware.tracker.callrecord import check_record
from typing import Any, Iterable, Mapping

logger = logging.getLogger(__name__)

OPS = ("update", "dismiss")


def encode(doc: Mapping[str, Any]) -> bytes:
    """One journal line (with its newline); NaN and infinities are refused, as JSON has none."""
    return (json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                       default=_plain) + "\n").encode("utf-8")


def _plain(value: Any) -> Any:
    """What json cannot write itself: a CallRecord (a Mapping, not a dict)."""
    to_doc = getattr(value, "to_doc", None)
    if to_doc is None:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return to_doc()


def decode(line: bytes) -> dict[str, Any]:
    """A journal line back into a document; ValueError when it is not a valid line."""
    return check(json.loads(line))


def check(doc: Any) -> dict[str, Any]:
    """`doc` when it is a valid journal document, else ValueError."""
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    op = doc.get("op")
    if op is None:
        check_record(doc)
    elif op == "update":
        if not isinstance(doc.get("id"), str) or not isinstance(doc.get("fields"), dict):
            raise ValueError("update without id or fields")
    elif op == "dismiss":
        if not isinstance(doc.get("number"), str):
            raise ValueError("dismiss without a number")
    else:
        raise ValueError(f"unknown op {op!r}")
    return doc


@dataclass
class Scan:
    """What `scan` found in one file."""

    docs: list[dict[str, Any]] = field(default_factory=list)
    good_lines: list[bytes] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)   # 1-based line numbers
    torn_tail: bool = False                                # last line had no newline

    @property
    def damaged(self) -> bool:
        return bool(self.bad_lines) or self.torn_tail


def scan(data: bytes) -> Scan:
    """Split a journal file's bytes into decoded documents and the numbers of bad lines.

    A sound file is parsed in one go as a JSON array (one parser call: twice as fast, and the
    parser then shares one string object per key across all documents, which halves the
    memory the loaded records take); anything else is gone through line by line.
    """
    if data.endswith(b"\n") or not data:
        try:
            docs = json.loads(b"[" + data[:-1].replace(b"\n", b",") + b"]")
            if len(docs) == data.count(b"\n"):          # one document per line, no more
                return Scan(docs=[check(doc) for doc in docs])
        except ValueError:     # a damaged line, or a blank one: sort them out one by one
            pass
    return _scan_lines(data)


def _scan_lines(data: bytes) -> Scan:
    result = Scan()
    lines = data.split(b"\n")
    tail = lines.pop()                     # b"" when the file ends with a newline
    if tail:
        result.torn_tail = True
        result.bad_lines.append(len(lines) + 1)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = decode(line)
        except ValueError:                 # JSONDecodeError and UnicodeDecodeError included
            result.bad_lines.append(number)
            continue
        result.docs.append(doc)
        result.good_lines.append(line + b"\n")
    return result


def replay(docs: Iterable[dict[str, Any]], records: dict[str, Mapping[str, Any]],
           dismissals: list[dict[str, Any]], source: str = "") -> list[str]:
    """Apply documents in order: records by id (insertion order kept), updates, dismissals.

    Returns the ids of the records this set or changed (each now a plain dict), in order.
    """
    touched: list[str] = []
    for doc in docs:
        op = doc.get("op")
        if op is None:
            records[doc["id"]] = doc
            touched.append(doc["id"])
        elif op == "update":
            record = records.get(doc["id"])
            if record is None:
                logger.warning("%s: update of unknown call %s ignored", source, doc["id"])
            else:
                merged = {**record, **doc["fields"]}
                try:
                    check_record(merged)
                except ValueError as exc:
                    logger.warning("%s: update of call %s ignored: %s", source, doc["id"], exc)
                    continue
                records[doc["id"]] = merged
                touched.append(doc["id"])
        else:
            dismissals.append(doc)
    return touched


def write_atomic(path: Path, lines: Iterable[bytes]) -> int:
    """Replace `path` with `lines` all or nothing: temp file, fsync, rename, fsync the folder."""
    tmp = path.with_name(path.name + ".tmp")
    size = 0
    with open(tmp, "wb") as out:
        for line in lines:
            out.write(line)
            size += len(line)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return size
