"""The contacts journal's lines, and the files they live in. See docs/storage.md, "Contacts".

A line is one JSON object, one of:
  {"op": "set", "id": "c12", "at": 1.7e9, "by": "olga", "fields": {...}}
        the contact's fields that changed (the first "set" of an id creates it)
  {"op": "note", "id": "c12", "at": ..., "by": ..., "text": "..."}
  {"op": "batch", "at": ..., "by": ..., "ops": [set, set, ...]}
        an import: many changes on ONE line, so a cut-short write loses all of them, never half
  {"op": "reasons", "at": ..., "by": ..., "reasons": ["Too expensive", ...]}
        the owner's list of lost reasons
Replaying the lines of every file in order gives the contacts, their history and the reasons.
The lines themselves are the history: who changed what, and when.

Files are `contacts-000001.jsonl`, `contacts-000002.jsonl`, ...: the writer starts the next one
once the current one passes SEGMENT_BYTES, so no file grows without bound and a damaged file
costs at most its own lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from firmware.tracker import journal
from firmware.tracker.contact_rules import STAGES

FILE_RE = re.compile(r"^contacts-(\d{6})\.jsonl$")
SEGMENT_BYTES = 8 * 1024 * 1024
_ID = re.compile(r"^c[0-9]{1,12}$")
encode = journal.encode          # the same line encoding as the call journal (no NaN, UTF-8)


def file_name(number: int) -> str:
    return f"contacts-{number:06d}.jsonl"


def check(doc: Any) -> dict[str, Any]:
    """`doc` when it is a valid contacts-journal line, else ValueError."""
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    op = doc.get("op")
    if not isinstance(doc.get("at"), (int, float)) or not isinstance(doc.get("by"), str):
        raise ValueError("no time or author")
    if op == "set":
        if not _is_id(doc.get("id")) or not isinstance(doc.get("fields"), dict):
            raise ValueError("set without id or fields")
        _check_fields(doc["fields"])
    elif op == "note":
        if not _is_id(doc.get("id")) or not isinstance(doc.get("text"), str):
            raise ValueError("note without id or text")
    elif op == "batch":
        ops = doc.get("ops")
        if not isinstance(ops, list):
            raise ValueError("batch without ops")
        for inner in ops:
            if not isinstance(inner, dict) or inner.get("op") != "set":
                raise ValueError("a batch holds only set operations")
            check(inner)
    elif op == "reasons":
        reasons = doc.get("reasons")
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise ValueError("reasons without a list of texts")
    else:
        raise ValueError(f"unknown op {op!r}")
    return doc


_TEXT = ("name", "company", "email", "campaign", "owner", "priority", "lost_reason", "notes")


def _check_fields(fields: dict[str, Any]) -> None:
    """A hand-edited line must not give a contact values the code cannot show."""
    for key, value in fields.items():
        if key in _TEXT:
            ok = isinstance(value, str)
        elif key == "numbers":
            ok = isinstance(value, list) and all(isinstance(n, str) for n in value)
        elif key == "stage":
            ok = value in STAGES
        elif key in ("next_contact_at", "value"):
            ok = value is None or (isinstance(value, (int, float))
                                   and not isinstance(value, bool))
        else:
            ok = False
        if not ok:
            raise ValueError(f"bad value for {key}")


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


@dataclass
class Scan:
    """What `scan` found in one file: good documents and lines, and the bad line numbers."""

    docs: list[dict[str, Any]] = field(default_factory=list)
    good_lines: list[bytes] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)
    torn_tail: bool = False

    @property
    def damaged(self) -> bool:
        return bool(self.bad_lines) or self.torn_tail


def scan(data: bytes) -> Scan:
    """Sort a file's lines into documents and bad line numbers, without raising."""
    result = Scan()
    lines = data.split(b"\n")
    tail = lines.pop()
    if tail:                                   # no newline at the end: a write cut short
        result.torn_tail = True
        result.bad_lines.append(len(lines) + 1)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = check(json.loads(line))
        except ValueError:                     # JSONDecodeError and UnicodeDecodeError too
            result.bad_lines.append(number)
            continue
        result.docs.append(doc)
        result.good_lines.append(line + b"\n")
    return result
