"""A call record in memory: a fixed set of slots that reads like the stored JSON object.

Why not the dict that json.loads gives: a year of 100k calls held as dicts took 134 MB (a
25-key dict alone is 832 bytes), too much for a Raspberry Pi next to everything else. A
`CallRecord` keeps the same fields in slots (about 240 bytes), and `from_doc` shares the values
that repeat from call to call (campaign names, statuses, extensions, the tuple of extensions
that rang, lead values and values) instead of holding a copy per call.

It is a `Mapping`, so `record["caller"]`, `record.get("wrapup")`, `dict(record)` and comparing
with a dict work as with the stored object; hot paths read attributes (`record.caller`).
A record is never changed in place once the index holds it: `replace(fields)` returns a new
one, so a reader that took a record out of the index sees a consistent call, whatever the
writer does next. Keys outside FIELDS (from a newer version, or written by hand) are kept in
`extra` and written back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator

FIELDS = ("id", "direction", "caller", "callee", "campaign", "source", "trunk", "extension",
          "offered_at", "answered_at", "ended_at", "wait_seconds", "talk_seconds", "status",
          "missed_reason", "end_reason", "answered_by", "rang", "line_type", "lead_value",
          "target", "first_time", "wrapup", "callback", "value")

# What a field is when the stored object lacks it (journal.check insists on the others).
DEFAULTS: dict[str, Any] = {
    "caller": "", "callee": "", "campaign": "", "source": "", "trunk": "", "extension": "",
    "answered_at": None, "wait_seconds": 0.0, "talk_seconds": 0.0, "missed_reason": None,
    "end_reason": "", "answered_by": None, "rang": (), "line_type": None, "lead_value": 0.0,
    "target": False, "first_time": False, "wrapup": None, "callback": None, "value": 0.0,
}

# Values that repeat from call to call: one object each instead of one per call.
_SHARED_TEXT = ("direction", "caller", "callee", "campaign", "source", "trunk", "extension",
                "status", "missed_reason", "end_reason", "answered_by", "line_type")
# Only amounts repeat; wait and talk seconds are nearly all different, and pooling them cost
# a tuple and a dict slot per call (10 MB with 100k calls) to save nothing.
_SHARED_NUMBERS = ("lead_value", "value")
_FIELD_SET = frozenset(FIELDS)
_TEXT = tuple((key, DEFAULTS.get(key)) for key in _SHARED_TEXT)
_NUMBERS = tuple((key, DEFAULTS.get(key)) for key in _SHARED_NUMBERS)
_PLAIN = tuple((key, DEFAULTS.get(key)) for key in FIELDS
               if key not in _SHARED_TEXT and key not in _SHARED_NUMBERS and key != "rang")
# What every figure reads from a record: a stored record without them is refused.
RECORD_TIMES = ("offered_at", "ended_at")
RECORD_TEXTS = ("direction", "status")


class CallRecord(Mapping):
    __slots__ = FIELDS + ("extra",)

    # Declared for type checkers; the slots hold them.
    id: str
    direction: str
    caller: str
    callee: str
    campaign: str
    source: str
    trunk: str
    extension: str
    offered_at: float
    answered_at: float | None
    ended_at: float
    wait_seconds: float
    talk_seconds: float
    status: str
    missed_reason: str | None
    end_reason: str
    answered_by: str | None
    rang: tuple[str, ...]
    line_type: str | None
    lead_value: float
    target: bool
    first_time: bool
    wrapup: dict[str, Any] | None
    callback: dict[str, Any] | None
    value: float
    extra: dict[str, Any] | None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], shared: dict | None = None) -> "CallRecord":
        """The record of a stored object; `shared` (kept across calls) pools repeated values.

        ValueError when a field without a default (id, direction, times, status) is missing
        or of the wrong type (check_record).
        """
        check_record(doc)
        record = cls.__new__(cls)
        get = doc.get
        for key, default in _PLAIN:
            setattr(record, key, get(key, default))
        if shared is None:
            for key, default in _TEXT:
                setattr(record, key, get(key, default))
            for key, default in _NUMBERS:
                setattr(record, key, get(key, default))
        else:
            for key, default in _TEXT:
                value = get(key, default)
                if value.__class__ is str:
                    value = shared.setdefault(value, value)
                setattr(record, key, value)
            for key, default in _NUMBERS:
                value = get(key, default)
                if value.__class__ is float:   # keyed by type: 0.0, 0 and False are equal keys
                    value = shared.setdefault((float, value), value)
                setattr(record, key, value)
        rang = get("rang")
        rang = tuple(rang) if rang else ()
        if shared is not None and all(ext.__class__ is str for ext in rang):
            rang = shared.setdefault(rang, rang)
        record.rang = rang
        record.extra = None if doc.keys() <= _FIELD_SET else {
            key: value for key, value in doc.items() if key not in _FIELD_SET}
        return record

    def replace(self, fields: Mapping[str, Any]) -> "CallRecord":
        """A copy with `fields` changed (a wrap-up); this record stays as it was."""
        return CallRecord.from_doc({**self.to_doc(), **fields})

    def to_doc(self) -> dict[str, Any]:
        """The plain JSON object, as the journal stores it."""
        doc = {key: getattr(self, key) for key in FIELDS}
        doc["rang"] = list(self.rang)
        if self.extra:
            doc.update(self.extra)
        return doc

    # -- Mapping ------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        if key in _FIELD_SET:
            return getattr(self, key)
        if self.extra is not None and key in self.extra:
            return self.extra[key]
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        yield from FIELDS
        if self.extra:
            yield from self.extra

    def __len__(self) -> int:
        return len(FIELDS) + (len(self.extra) if self.extra else 0)

    def __contains__(self, key: object) -> bool:
        return key in _FIELD_SET or bool(self.extra and key in self.extra)

    def __eq__(self, other: object) -> bool:
        """Equal to a record or an object with the same stored form (rang list or tuple)."""
        if not isinstance(other, Mapping):
            return NotImplemented
        doc = other.to_doc() if isinstance(other, CallRecord) else dict(other)
        if isinstance(doc.get("rang"), tuple):
            doc["rang"] = list(doc["rang"])
        return self.to_doc() == doc

    __hash__ = None       # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CallRecord({self.to_doc()!r})"


def check_record(doc: Mapping[str, Any]) -> None:
    """ValueError unless `doc` has what every figure reads from a record."""
    if not isinstance(doc.get("id"), str):
        raise ValueError("record without an id")
    for key in RECORD_TIMES:
        value = doc.get(key)
        if value.__class__ not in (int, float) or value != value:     # not bool, not NaN
            raise ValueError(f"record without a number in {key!r}")
    for key in RECORD_TEXTS:
        if not isinstance(doc.get(key), str):
            raise ValueError(f"record without text in {key!r}")


def as_record(record: Mapping[str, Any]) -> CallRecord:
    """`record` as a CallRecord (pure functions also take the plain stored objects)."""
    return record if record.__class__ is CallRecord else CallRecord.from_doc(record)
