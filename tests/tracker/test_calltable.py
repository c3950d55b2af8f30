"""The call table (calltable.py, index.py, listing.py, history.TableHistory): every call as
rows of columns must give back exactly what was stored, the same figures, the same
/api/calls dicts and the same first-time / target flags as the records did."""

import json
import math
import random
from datetime import date

import pytest
from zoneinfo import ZoneInfo

from firmware.tracker import store as store_module
from firmware.tracker.callrecord import CallRecord
from firmware.tracker.calltable import CallTable, derived_id, stem_of
from firmware.tracker.history import NumberHistory, TableHistory
from firmware.tracker.index import CallIndex
from firmware.tracker.listing import api_calls
from firmware.tracker.query import CallFilter, matches
from firmware.tracker.records import to_api
from firmware.tracker.calltable import rows_by_end as _by_end
from firmware.tracker.stats import COLUMNS, columns_of, summarize
from firmware.tracker.store import Store

TZ = ZoneInfo("Europe/Warsaw")
BASE = 1_717_200_000.0       # 2024-06-01


def plain(n, start, **extra):
    answered = n % 3 != 0
    return {"id": derived_id(stem_of(start), n % 7), "direction": "inbound",
            "caller": f"+4850123456{n % 5}", "callee": "+48221234500",
            "campaign": f"Campaign {n % 3}", "source": "Google", "trunk": "provider",
            "extension": "", "offered_at": start,
            "answered_at": start + 5.5 if answered else None, "ended_at": start + 90.25,
            "wait_seconds": 5.5, "talk_seconds": 84.75 if answered else 0.0,
            "status": "answered" if answered else "missed",
            "missed_reason": None if answered else "ring_timeout",
            "end_reason": "completed", "answered_by": "101" if answered else None,
            "rang": ["101", "102"], "line_type": "mobile" if n % 2 else None,
            "lead_value": 100.0, "target": answered, "first_time": n % 4 == 0,
            "wrapup": None, "callback": None, "value": 100.0 if answered else 0.0, **extra}


def odd_records():
    """Calls the columns cannot all hold as they are: each must still come back exactly."""
    return [
        plain(1, BASE + 10, offered_at=BASE + 10, ended_at=int(BASE) + 100, wait_seconds=3),
        plain(2, BASE + 20, wrapup={"rating": 4, "category": "Sale", "value": 250},
              callback={"how": "called_again", "cleared_at": BASE + 30,
                        "first_missed_at": BASE - 99, "last_missed_at": BASE - 9}),
        plain(3, BASE + 30, id="hand-made-id"),
        plain(4, BASE + 40, transfers=[["102", BASE + 60]], newer_key={"x": 1}),
        plain(5, BASE + 50, wait_seconds="7"),                  # a hand edit
        plain(6, BASE + 60, campaign=["not", "a", "name"]),     # unhashable
        plain(7, BASE + 70, target=1),                          # not a bool
        plain(8, BASE + 80, extension=101, direction="outbound", callee="+48600100200"),
        {"id": derived_id(stem_of(BASE + 90), 0), "direction": "internal",
         "offered_at": BASE + 90, "ended_at": BASE + 95, "status": "unanswered"},
    ]


def expected(doc):
    return CallIndex(TZ).compact(doc)


def year(count=400, seed=3):
    rng = random.Random(seed)
    starts = sorted(BASE + rng.random() * 40 * 86400 for _ in range(count))
    docs = [plain(n, start) for n, start in enumerate(starts)]
    for doc in docs[::9]:
        doc["direction"], doc["campaign"] = "outbound", ""
        doc["caller"], doc["callee"] = "101", doc["caller"]
    return docs


def test_every_kind_of_record_comes_back_exactly():
    docs = year(60) + odd_records()
    index = CallIndex(TZ)
    index.load(docs)
    assert len(index) == len(docs)
    for doc in docs:
        got = index.get(doc["id"])
        want = expected(doc)
        assert got == want and got.to_doc() == want.to_doc()
        assert [type(got[k]) for k in want] == [type(want[k]) for k in want]
    assert [r.id for r in index.in_order()] == \
        [r.id for r in sorted(map(expected, docs), key=lambda r: (r.offered_at, r.id))]
    assert index.get("no-such-call") is None and "no-such-call" not in index


def test_updates_replace_rows_and_new_ids_stay_unique():
    index = CallIndex(TZ)
    index.load(odd_records())
    call_id = odd_records()[2]["id"]
    index.update(call_id, {"wrapup": {"rating": 2}, "value": 5.0})
    assert index.get(call_id)["wrapup"] == {"rating": 2}
    assert index.get(call_id).value == 5.0
    taken = index.new_id(BASE + 10)
    assert taken not in index and len(taken) == 11
    index.add(plain(0, BASE + 10, id=taken))
    assert index.new_id(BASE + 10) not in (taken, odd_records()[0]["id"])
    with pytest.raises(ValueError):
        index.add(plain(0, BASE + 10, id=taken))


def test_stat_columns_equal_those_of_the_records():
    docs = year() + odd_records()[:5] + odd_records()[6:]
    index = CallIndex(TZ)
    index.load(docs)
    records = sorted(map(expected, docs), key=lambda r: (r.offered_at, r.id))
    want = columns_of(records, TZ)
    got = index.stats_between(-math.inf, math.inf)
    assert list(got) == list(COLUMNS)
    for name in COLUMNS:
        assert list(got[name]) == list(want[name]), name
    low, high = BASE + 5 * 86400, BASE + 12 * 86400
    part = index.stats_between(low, high)
    inside = columns_of([r for r in records if low <= r.offered_at < high], TZ)
    assert {k: list(v) for k, v in part.items()} == {k: list(v) for k, v in inside.items()}
    start, end = date(2024, 6, 1), date(2024, 7, 10)
    assert summarize(got, start, end, 0) == summarize(want, start, end, 0)


@pytest.mark.parametrize("flt", [
    CallFilter(), CallFilter(campaign="Campaign 1"), CallFilter(status="missed"),
    CallFilter(number="+48501234562"), CallFilter(extension="101"),
    CallFilter(direction="outbound", source="Google"), CallFilter(campaign="none such"),
])
def test_listing_equals_to_api(flt):
    docs = year(120) + [doc for doc in odd_records() if doc.get("wait_seconds") != "7"]
    index = CallIndex(TZ)
    index.load(docs)
    part = index.snapshot(-math.inf, math.inf)
    records = sorted(map(expected, docs), key=lambda r: (r.offered_at, r.id), reverse=True)
    want = [to_api(r, TZ) for r in records if matches(r, flt)]
    got = list(api_calls(part, flt, TZ))
    assert got == want
    assert [list(call) for call in got] == [list(call) for call in want]
    assert list(api_calls(part, flt, TZ, limit=3)) == want[:3]


def test_the_table_answers_the_flags_as_the_number_history_did():
    rng = random.Random(7)
    index = CallIndex(TZ)
    table_history, number_history = TableHistory(index.table), NumberHistory()
    docs = year(300, seed=11)
    rng.shuffle(docs)                  # recorded in the order calls end, not start
    for doc in docs:
        for number in ("+48501234560", "+48501234563", "+48999999999"):
            for seconds in (600.0, 86400.0, 7 * 86400.0):
                at = doc["offered_at"]
                assert table_history.called_within(number, at, seconds) == \
                    number_history.called_within(number, at, seconds)
                assert table_history.target_within(number, at, seconds) == \
                    number_history.target_within(number, at, seconds)
        record = index.add(doc)
        table_history.add(record, 30.0)
        number_history.add(record, 30.0)
    for number in ("+48501234560", "+48501234561", "+48999999999"):
        assert table_history.first_call(number) == number_history.first_call(number)
        assert table_history.answered_at.get(number) == number_history.answered_at.get(number)


def test_code_columns_widen_when_the_pool_outgrows_two_bytes():
    table = CallTable()
    for n in range(70_000):
        table.pool.code(f"+4860{n:07d}")
    index = CallIndex(TZ)
    index.table = table
    docs = year(20)
    index.load(docs)
    assert table.codes["caller"].typecode == "I"
    assert all(index.get(doc["id"]) == expected(doc) for doc in docs)


def test_calls_by_end_is_a_stable_sort_by_end():
    rng = random.Random(5)
    starts = sorted(rng.choice([0.0, 1.0, 2.5, 3.0]) + rng.random() for _ in range(300))
    ended = [s + rng.choice([0.0, 0.5, 2.0, 40.0]) for s in starts]
    assert list(_by_end(starts, ended)) == sorted(range(300), key=ended.__getitem__)
    ended[3] = starts[3] - 1             # a hand edit: ended before it started
    assert list(_by_end(starts, ended)) == sorted(range(300), key=ended.__getitem__)


def test_months_load_a_chunk_at_a_time_and_damage_is_still_set_aside(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "CHUNK_BYTES", 2000)       # many chunks per file
    docs = year(200)
    writer = Store(tmp_path)
    writer.open()
    for doc in docs:
        writer.append(store_module.month_of(doc["offered_at"]), doc)
    writer.append(store_module.month_of(docs[5]["offered_at"]),
                  {"op": "update", "id": docs[5]["id"], "fields": {"wrapup": {"rating": 1}}})
    writer.close()
    june = tmp_path / "calls-2024-06.jsonl"
    lines = june.read_bytes().split(b"\n")
    assert json.loads(lines[100])["id"] == docs[100]["id"]
    lines[100] = b'{"broken": '                                  # far past the first chunk
    june.write_bytes(b"\n".join(lines))
    months = []
    reader = Store(tmp_path)
    loaded = reader.open_months(CallRecord.from_doc, months.append)
    reader.close()
    got = [record.id for month in months for record in month]
    assert sorted(got) == sorted(doc["id"] for n, doc in enumerate(docs) if n != 100)
    assert len(got) == len(set(got))
    assert loaded.damaged_files == ["calls-2024-06.jsonl"]
    assert list(tmp_path.glob("calls-2024-06.jsonl.corrupt-*"))
    assert {r.id: r for month in months for r in month}[docs[5]["id"]]["wrapup"] == \
        {"rating": 1}


def test_closed_callback_entries_come_back_as_they_were_put_in():
    from firmware.tracker.callbacks import ClosedEntries
    entries = [
        {"number": "+48500100200", "campaign": "Shop", "missed_calls": 2,
         "first_missed_at": 1.5, "last_missed_at": 2.5, "attempts": 0,
         "last_attempt_at": None, "cleared_at": 3.0, "cleared_by": "101",
         "how": "called_back", "call_id": "0lwvm4vga00"},
        {"number": "+48500100200", "campaign": "Shop", "missed_calls": 1,
         "first_missed_at": 1, "last_missed_at": 2.5, "attempts": 1, "last_attempt_at": 2.7,
         "cleared_at": 3.0, "cleared_by": None, "how": "dismissed", "reason": "spam"},
        {"number": "+48500100201", "how": "from a newer version"},
    ]
    closed = ClosedEntries()
    for entry in entries:
        closed.append(entry)
    assert closed.as_dicts() == entries
    assert [list(entry) for entry in closed.as_dicts()] == [list(entry) for entry in entries]
    assert type(closed.as_dicts()[1]["first_missed_at"]) is int
