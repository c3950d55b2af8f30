"""The in-memory index: ordered by start, updates replace records, snapshots stay put."""

from zoneinfo import ZoneInfo

from firmware.tracker.callrecord import CallRecord
from firmware.tracker.index import CallIndex

TZ = ZoneInfo("Europe/Warsaw")


def record(call_id, start, **extra):
    return {"id": call_id, "direction": "inbound", "offered_at": start, "ended_at": start + 60,
            "status": "answered", "campaign": "Shop", "caller": "+48501234567",
            "lead_value": 100.0, "target": True, "value": 100.0, **extra}


def test_ranges_come_newest_first_with_ties_by_id():
    index = CallIndex(TZ)
    index.load([record("b", 20.0), record("a", 10.0)])
    index.add(record("d", 15.0))
    index.add(record("c", 15.0))
    index.add(record("e", 30.0))
    assert [r.id for r in index.newest_first(0, 100)] == ["e", "b", "d", "c", "a"]
    assert [r.id for r in index.newest_first(15.0, 30.0)] == ["b", "d", "c"]
    assert all(isinstance(r, CallRecord) for r in index.newest_first(0, 100))


def test_an_update_replaces_the_record_and_leaves_a_snapshot_alone():
    index = CallIndex(TZ)
    index.add(record("a", 10.0))
    snapshot = index.newest_first(0, 100)
    index.update("a", {"value": 5.0, "wrapup": {"rating": 3}})
    assert snapshot[0].value == 100.0 and snapshot[0].wrapup is None
    assert index.get("a").value == 5.0
    assert list(index.stats_between(0, 100)["value"]) == [5.0]
