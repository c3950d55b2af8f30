"""The callback queue: missed callers waiting for someone to call them back. Pure, no I/O.

Rules (see CONTRACT.md, "to call back"):
- a missed inbound call on a campaign number from a real number (E.164) adds the number, or
  counts one more missed call on its entry;
- an answered call with that number, in either direction, answered after the last missed call,
  clears the entry; the clearing is kept (when, by which extension, how) for recovery figures
  and returned so the clearing call's record carries it;
- an unanswered outbound call to a queued number counts as an attempt;
- staff may dismiss an entry with a reason (spam, wrong number);
- internal calls never touch the queue.

The state is a fold over completed calls (in the order they ended) and dismissals, so it is
rebuilt from the journal at start-up instead of being stored separately.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from firmware.tracker.callrecord import CallRecord, as_record
from firmware.tracker.records import (ANSWERED, INBOUND, MISSED, OUTBOUND, UNANSWERED,
                                      is_phone_number)


@dataclass(slots=True)      # thousands wait on a busy line: no dict per entry
class Entry:
    number: str
    campaign: str
    missed_calls: int
    first_missed_at: float
    last_missed_at: float
    attempts: int = 0
    last_attempt_at: float | None = None


class ClosedEntries:
    """Cleared and dismissed entries, oldest first, as columns: a year of 100k calls closes
    some 20k entries, and a dict each (or a tuple with its float objects) cost 5-7 MB.

    An entry of the usual shape (Entry's fields, then cleared_at, cleared_by, how, and
    call_id or reason) is kept as its times in `array("d")` (NaN for None), its counts in
    `array("I")`, its texts as codes of a small pool, and its last value in a list; any other
    entry whole, in that list. `as_dicts()` gives them back as dicts, equal to the ones put in.
    """

    _TIMES = ("first_missed_at", "last_missed_at", "last_attempt_at", "cleared_at")
    _COUNTS = ("missed_calls", "attempts")
    _TEXTS = ("number", "campaign", "cleared_by", "how")
    _SHAPES = (None,
               ("number", "campaign", "missed_calls", "first_missed_at", "last_missed_at",
                "attempts", "last_attempt_at", "cleared_at", "cleared_by", "how", "call_id"),
               ("number", "campaign", "missed_calls", "first_missed_at", "last_missed_at",
                "attempts", "last_attempt_at", "cleared_at", "cleared_by", "how", "reason"))

    def __init__(self) -> None:
        self._shape = array("B")
        self._times = {key: array("d") for key in self._TIMES}
        self._counts = {key: array("I") for key in self._COUNTS}
        self._texts = {key: array("I") for key in self._TEXTS}
        self._last: list[Any] = []          # call_id / reason, or a whole odd entry
        self._pool: list[Any] = [None]
        self._codes: dict[Any, int] = {None: 0}

    def __len__(self) -> int:
        return len(self._shape)

    def append(self, info: dict[str, Any]) -> None:
        shape = self._SHAPES.index(tuple(info)) if tuple(info) in self._SHAPES else 0
        if shape and not self._fits(info):
            shape = 0
        self._shape.append(shape)
        for key in self._TIMES:
            value = info.get(key) if shape else None
            self._times[key].append(math.nan if value is None else value)
        for key in self._COUNTS:
            self._counts[key].append(info[key] if shape else 0)
        for key in self._TEXTS:
            self._texts[key].append(self._code(info[key]) if shape else 0)
        self._last.append(info[self._SHAPES[shape][-1]] if shape else dict(info))

    def _fits(self, info: dict[str, Any]) -> bool:
        return (all(info[key].__class__ is float or (info[key] is None and key ==
                                                     "last_attempt_at") for key in self._TIMES)
                and all(info[key].__class__ is int and 0 <= info[key] < 2 ** 32
                        for key in self._COUNTS)
                and all(info[key] is None or info[key].__class__ is str for key in self._TEXTS))

    def _code(self, value: Any) -> int:
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self._pool)
            self._pool.append(value)
        return code

    def as_dicts(self) -> list[dict[str, Any]]:
        """Every entry as a new dict (keys in the order they were put in), one pass over the
        columns zipped."""
        out = []
        append = out.append
        pool, last_keys = self._pool, [shape[-1] if shape else None for shape in self._SHAPES]
        times, counts, texts = self._times, self._counts, self._texts
        for (shape, number, campaign, missed, first, latest, attempts, attempted, cleared,
             by, how, last) in zip(
                self._shape, texts["number"], texts["campaign"], counts["missed_calls"],
                times["first_missed_at"], times["last_missed_at"], counts["attempts"],
                times["last_attempt_at"], times["cleared_at"], texts["cleared_by"],
                texts["how"], self._last):
            if not shape:
                append(dict(last))
                continue
            append({"number": pool[number], "campaign": pool[campaign], "missed_calls": missed,
                    "first_missed_at": None if first != first else first,
                    "last_missed_at": None if latest != latest else latest,
                    "attempts": attempts,
                    "last_attempt_at": None if attempted != attempted else attempted,
                    "cleared_at": None if cleared != cleared else cleared,
                    "cleared_by": pool[by], "how": pool[how], last_keys[shape]: last})
        return out


class CallbackQueue:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._closed = ClosedEntries()      # cleared and dismissed entries, oldest first

    @property
    def closed(self) -> list[dict[str, Any]]:
        """Cleared and dismissed entries, oldest first (new dicts each time)."""
        return self._closed.as_dicts()

    def _close(self, info: dict[str, Any]) -> None:
        self._closed.append(info)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, number: object) -> bool:
        return number in self._entries

    def waiting(self) -> list[Entry]:
        """Waiting entries in no particular order (entries() sorts them)."""
        return list(self._entries.values())

    def entries(self) -> list[Entry]:
        """Waiting entries, the longest-waiting first."""
        return sorted(self._entries.values(), key=lambda e: (e.first_missed_at, e.number))

    def apply(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """Fold one completed call in; returns the clearing details when it cleared an entry."""
        r = as_record(record)
        direction, status = r.direction, r.status
        if direction == INBOUND:
            number = r.caller
        elif direction == OUTBOUND:
            number = r.callee
        else:
            return None
        if not is_phone_number(number):
            return None
        if status == MISSED and direction == INBOUND and r.campaign:    # records.counted
            self._missed(number, r)
            return None
        entry = self._entries.get(number)
        if entry is None:
            return None
        if status == ANSWERED and r.answered_at > entry.last_missed_at:
            del self._entries[number]
            how = "called_back" if direction == OUTBOUND else "called_again"
            by = r.extension if direction == OUTBOUND else r.answered_by
            info = {**asdict(entry), "cleared_at": r.answered_at, "cleared_by": by,
                    "how": how, "call_id": r.id}
            self._close(info)
            return info
        if direction == OUTBOUND and status == UNANSWERED:
            entry.attempts += 1
            entry.last_attempt_at = r.offered_at
        return None

    def dismiss(self, number: str, reason: str, by: str, at: float) -> dict[str, Any]:
        """Take `number` off the queue; KeyError when it is not waiting."""
        entry = self._entries.pop(number)
        info = {**asdict(entry), "cleared_at": at, "cleared_by": by, "how": "dismissed",
                "reason": reason}
        self._close(info)
        return info

    def _missed(self, number: str, record: CallRecord) -> None:
        at = record.offered_at
        entry = self._entries.get(number)
        if entry is None:
            self._entries[number] = Entry(number, record.campaign, 1, at, at)
            return
        entry.missed_calls += 1
        entry.first_missed_at = min(entry.first_missed_at, at)
        if at >= entry.last_missed_at:
            entry.last_missed_at = at
            entry.campaign = record.campaign

