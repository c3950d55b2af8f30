"""The store: durable appends, bounded month files, repair at start-up, one writer, TinyDB."""

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from tinydb import Query

from firmware.tracker import journal
from firmware.tracker.errors import StoreLocked
from firmware.tracker.store import JournalStorage, Store, month_of, open_month


def record(n, month="2024-05", **extra):
    return {"id": f"{month}-{n:06d}", "direction": "inbound", "offered_at": 1714000000.0 + n,
            "ended_at": 1714000060.0 + n, "status": "answered", **extra}


def load(folder):
    """Open a store on `folder`, close it again, and return what it loaded."""
    store = Store(folder)
    try:
        return store.open()
    finally:
        store.close()


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path)
    s.open()
    yield s
    s.close()


def test_append_and_load(tmp_path, store):
    for n in range(3):
        assert store.append("2024-05", record(n)) < 4096
    store.append("2024-06", record(9, "2024-06"))
    store.append("2024-05", {"op": "update", "id": "2024-05-000001",
                             "fields": {"wrapup": {"rating": 5}}})
    store.append("2024-06", {"op": "dismiss", "number": "+48501234567", "reason": "spam",
                             "by": "owner", "at": 1.0})
    store.close()
    assert sorted(p.name for p in tmp_path.glob("calls-*")) == [
        "calls-2024-05.jsonl", "calls-2024-06.jsonl"]
    loaded = load(tmp_path)
    assert list(loaded.records) == ["2024-05-000000", "2024-05-000001", "2024-05-000002",
                                    "2024-06-000009"]
    assert loaded.records["2024-05-000001"]["wrapup"] == {"rating": 5}
    assert loaded.dismissals[0]["reason"] == "spam"
    assert loaded.damaged_files == []


def test_month_of_is_utc():
    assert month_of(1714521599.0) == "2024-04"      # 2024-04-30 23:59:59 UTC
    assert month_of(1714521600.0) == "2024-05"


def test_nan_is_refused(store):
    with pytest.raises(ValueError):
        store.append("2024-05", record(1, wait=float("nan")))


def test_one_writer(tmp_path, store):
    with pytest.raises(StoreLocked):
        load(tmp_path)
    store.close()
    assert load(tmp_path).records == {}


def test_torn_last_line_is_set_aside_and_the_rest_loaded(tmp_path, store, caplog):
    for n in range(3):
        store.append("2024-05", record(n))
    store.close()
    path = tmp_path / "calls-2024-05.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"id":"2024-05-000003","offered_')         # a kill in the middle of a write
    with caplog.at_level(logging.ERROR):
        loaded = load(tmp_path)
    assert len(loaded.records) == 3 and loaded.damaged_files == ["calls-2024-05.jsonl"]
    assert "torn last line" in caplog.text
    [aside] = tmp_path.glob("calls-2024-05.jsonl.corrupt-*")
    assert aside.read_bytes().endswith(b'"offered_')
    assert path.read_bytes().endswith(b"}\n") and len(path.read_bytes().splitlines()) == 3


def test_corrupt_file_is_set_aside_and_the_good_lines_loaded(tmp_path, store, caplog):
    for n in range(2):
        store.append("2024-05", record(n))
        store.append("2024-06", record(n, "2024-06"))
    store.close()
    path = tmp_path / "calls-2024-05.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"\x00\xff garbage\n" + lines[1] + b"[1, 2]\n")
    with caplog.at_level(logging.ERROR):
        loaded = load(tmp_path)
    assert sorted(loaded.records) == ["2024-05-000001", "2024-06-000000", "2024-06-000001"]
    assert "unreadable lines at line(s) 1, 3" in caplog.text
    assert len(list(tmp_path.glob("calls-2024-05.jsonl.corrupt-*"))) == 1
    caplog.clear()
    assert len(load(tmp_path).records) == 3 and not caplog.text      # repaired for good


def test_leftover_temp_file_is_removed(tmp_path, store):
    store.close()
    (tmp_path / "calls-2024-05.jsonl.tmp").write_text("half a rewrite")
    load(tmp_path)
    assert not list(tmp_path.glob("*.tmp"))


def test_update_of_unknown_call_is_ignored(tmp_path, store, caplog):
    store.append("2024-05", {"op": "update", "id": "ghost", "fields": {"a": 1}})
    store.close()
    with caplog.at_level(logging.WARNING):
        assert load(tmp_path).records == {}
    assert "unknown call ghost" in caplog.text


def test_scan_sorts_lines():
    good = journal.encode(record(1)).strip()
    found = journal.scan(good + b'\n\n{"op":"nope"}\n{"id":1}\n{"op":"update","id":"a"}\n'
                         b'{"id":"b","offered_at":"noon"}\n{"i')
    assert [d["id"] for d in found.docs] == ["2024-05-000001"]
    assert found.bad_lines == [7, 3, 4, 5, 6] and found.torn_tail


def test_tinydb_reads_a_month(tmp_path, store):
    store.append("2024-05", record(1, status="missed"))
    store.append("2024-05", record(2))
    store.append("2024-05", {"op": "update", "id": "2024-05-000002",
                             "fields": {"status": "missed"}})
    db = open_month(tmp_path / "calls-2024-05.jsonl")
    calls = db.table("calls")
    assert len(calls.search(Query().status == "missed")) == 2
    assert calls.get(doc_id="2024-05-000001")["status"] == "missed"
    with pytest.raises(PermissionError):
        calls.truncate()


def test_tinydb_write_is_an_atomic_compaction(tmp_path, store):
    store.append("2024-05", record(1))
    store.append("2024-05", {"op": "update", "id": "2024-05-000001", "fields": {"x": 1}})
    store.close()
    path = tmp_path / "calls-2024-05.jsonl"
    storage = JournalStorage(path, read_only=False)
    storage.write(storage.read())
    [line] = path.read_bytes().splitlines()
    assert json.loads(line)["x"] == 1


def test_a_kill_never_loses_an_acknowledged_write(tmp_path):
    """SIGKILL a writer mid-stream: every line it reported durable loads, nothing is invalid."""
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from firmware.tracker.store import Store
        store = Store(Path({str(tmp_path)!r}))
        store.open()
        n = 0
        while True:
            store.append("2024-05", {{"id": f"c{{n:08d}}", "offered_at": float(n),
                                      "ended_at": n + 9.0, "direction": "inbound",
                                      "status": "missed", "pad": "x" * 600}})
            print(n, flush=True)
            n += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            text=True)
    acknowledged = -1
    deadline = time.monotonic() + 10
    while acknowledged < 200 and time.monotonic() < deadline:
        acknowledged = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    loaded = load(tmp_path)
    assert len(loaded.records) >= acknowledged + 1
    assert list(loaded.records)[:acknowledged + 1] == [f"c{n:08d}"
                                                       for n in range(acknowledged + 1)]


def test_an_update_that_would_break_a_record_is_ignored(tmp_path, store, caplog):
    """A hand-edited update must not cost the call: the record loads as it was before it."""
    store.append("2024-05", record(1))
    store.append("2024-05", {"op": "update", "id": "2024-05-000001",
                             "fields": {"offered_at": "noon", "value": 1.0}})
    store.append("2024-05", {"op": "update", "id": "2024-05-000001", "fields": {"value": 2.0}})
    store.close()
    with caplog.at_level(logging.WARNING):
        loaded = load(tmp_path)
    assert loaded.records["2024-05-000001"]["offered_at"] == 1714000001.0
    assert loaded.records["2024-05-000001"]["value"] == 2.0
    assert "update of call 2024-05-000001 ignored" in caplog.text


def test_records_load_in_their_compact_form(tmp_path, store):
    from firmware.tracker.callrecord import CallRecord

    store.append("2024-05", record(1))
    store.append("2024-05", record(2, rang=7))             # cannot be a record: left out
    store.close()
    again = Store(tmp_path)
    try:
        loaded = again.open(make_record=CallRecord.from_doc)
    finally:
        again.close()
    assert list(loaded.records) == ["2024-05-000001"]
    assert isinstance(loaded.records["2024-05-000001"], CallRecord)
