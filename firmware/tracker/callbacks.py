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


_KEYS: dict[tuple[str, ...], tuple[str, ...]] = {}     # one key tuple per shape


class CallbackQueue:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        # cleared and dismissed entries, oldest first, as tuples of their values (a dict each
        # cost 4 MB more with a year of 100k calls); `closed` gives them as dicts
        self._closed: list[tuple[tuple[str, ...], tuple]] = []

    @property
    def closed(self) -> list[dict[str, Any]]:
        """Cleared and dismissed entries, oldest first (new dicts each time)."""
        return [dict(zip(keys, values)) for keys, values in self._closed]

    def compact(self) -> None:
        """Copy the closed entries into fresh memory (after start-up: made among the
        records of the fold, they would keep its memory in use)."""
        self._closed = [(keys, tuple(_fresh(value) for value in values))
                        for keys, values in self._closed]

    def _close(self, info: dict[str, Any]) -> None:
        keys = tuple(info)
        self._closed.append((_KEYS.setdefault(keys, keys), tuple(info.values())))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, number: object) -> bool:
        return number in self._entries

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


def _fresh(value: Any) -> Any:
    """A copy of a float or a text (other values as they are)."""
    if value.__class__ is float:
        return value + 0.0 if value else float(value)
    if value.__class__ is str:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")
    return value
