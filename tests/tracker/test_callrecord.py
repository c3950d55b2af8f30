"""CallRecord: the compact in-memory record reads, compares and stores like the JSON object."""

import json

import pytest

from firmware.tracker import journal
from firmware.tracker.callrecord import FIELDS, CallRecord, as_record

DOC = {
    "id": "0lvx2k9q000", "direction": "inbound", "caller": "+48501234567",
    "callee": "+48221234567", "campaign": "Shop window", "source": "Street", "trunk": "provider",
    "extension": "", "offered_at": 1714000000.25, "answered_at": 1714000006.0,
    "ended_at": 1714000126.0, "wait_seconds": 5.75, "talk_seconds": 120.0, "status": "answered",
    "missed_reason": None, "end_reason": "completed", "answered_by": "101",
    "rang": ["101", "102"], "line_type": "mobile", "lead_value": 300.0, "target": True,
    "first_time": True, "wrapup": {"rating": 4, "tags": ["price"]}, "callback": None,
    "value": 300.0,
}


def test_reads_like_the_stored_object():
    record = CallRecord.from_doc(DOC)
    assert record["caller"] == record.caller == "+48501234567"
    assert record.get("wrapup") == {"rating": 4, "tags": ["price"]}
    assert record.get("no such key", "x") == "x"
    assert "status" in record and "no such key" not in record
    assert list(record) == list(FIELDS) and len(record) == len(FIELDS)
    assert record == DOC and dict(record) == {**DOC, "rang": ("101", "102")}
    assert record.rang == ("101", "102")
    with pytest.raises(KeyError):
        record["no such key"]


def test_stored_line_is_the_same_as_the_dicts():
    record = CallRecord.from_doc(DOC)
    assert json.loads(journal.encode(record)) == DOC
    assert record.to_doc() == DOC


def test_unknown_keys_are_kept_and_missing_ones_get_defaults():
    doc = {"id": "a", "direction": "outbound", "offered_at": 1.0, "ended_at": 2.0,
           "status": "unanswered", "from_a_newer_version": [1, 2]}
    record = CallRecord.from_doc(doc)
    assert record["from_a_newer_version"] == [1, 2]
    assert record.campaign == "" and record.rang == () and record.wrapup is None
    assert record.value == 0.0 and record.target is False
    assert json.loads(journal.encode(record))["from_a_newer_version"] == [1, 2]


@pytest.mark.parametrize("broken", [
    {"id": None}, {"offered_at": "noon"}, {"ended_at": float("nan")}, {"ended_at": True},
    {"direction": 1}, {"status": None},
])
def test_a_record_without_what_figures_read_is_refused(broken):
    with pytest.raises(ValueError):
        CallRecord.from_doc({**DOC, **broken})


def test_replace_leaves_the_original_as_it_was():
    """Readers hold records outside the lock: a wrap-up must not change them under their feet."""
    record = CallRecord.from_doc(DOC)
    changed = record.replace({"value": 50.0, "wrapup": {"rating": 1}})
    assert changed.value == 50.0 and changed.wrapup == {"rating": 1}
    assert record.value == 300.0 and record.wrapup == {"rating": 4, "tags": ["price"]}


def test_repeated_values_are_one_object():
    shared: dict = {}
    one = CallRecord.from_doc(json.loads(json.dumps(DOC)), shared)
    two = CallRecord.from_doc(json.loads(json.dumps({**DOC, "id": "b"})), shared)
    assert one.campaign is two.campaign and one.rang is two.rang
    assert one.lead_value is two.lead_value


def test_sharing_keeps_types_apart():
    """0.0, 0 and False are equal dict keys: pooling must not turn a value into another type."""
    shared: dict = {}
    CallRecord.from_doc({**DOC, "target": False, "first_time": False, "value": 0}, shared)
    record = CallRecord.from_doc({**DOC, "id": "b", "value": 0.0, "talk_seconds": 0.0}, shared)
    assert record.value.__class__ is float and record.talk_seconds.__class__ is float
    assert record.target is True


def test_as_record_takes_either_form():
    record = CallRecord.from_doc(DOC)
    assert as_record(record) is record
    assert as_record(DOC) == record
