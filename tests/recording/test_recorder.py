"""The recorder driven by call events and tapped packets (the relay replaced by its tap)."""

import time

import pytest

from firmware.config import parse_config
from firmware.pbx import events as ev
from firmware.recording.check import decode_file, inspect, tone_power
from firmware.recording.recorder import Recorder
from firmware.recording.retention import DiskGuard, Retention, plan
from firmware.recording.store import Entry, RecordingStore
from tests.recording.tones import rtp_packets, ulaw_tone

CONFIG = parse_config("""
[box]
timezone = "Europe/Warsaw"
country = "PL"

[[extension]]
number = "101"
password = "secret-101-pw"
record = true

[[extension]]
number = "102"
password = "secret-102-pw"

[[campaign]]
name = "Recorded"
number = "+48221234567"
record = true

[[campaign]]
name = "Plain"
number = "+48221234568"
""")


class FakeSession:
    tap = None


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def run(recorder, events_and_packets):
    for item in events_and_packets:
        if callable(item):
            item()
        else:
            recorder.on_event(item)


@pytest.fixture
def store(tmp_path):
    store = RecordingStore(tmp_path / "recordings")
    yield store
    store.close()


def test_a_recorded_campaign_call_gives_a_stereo_file_of_its_talk_time(store):
    clock = Clock()
    session = FakeSession()
    recorder = Recorder(CONFIG, store, {"c1": session}.get, clock=clock,
                        guard=DiskGuard(store.folder, free_bytes=lambda p: 10**12))
    recorder.start()
    recorder.on_event(ev.CallOffered("c1", "+48221234567", "+48501234567", 5000.0))
    recorder.on_event(ev.CallAnswered("c1", "101", 5003.0))
    assert session.tap is not None
    caller = rtp_packets(ulaw_tone(440, 3), ssrc=1)
    desk = rtp_packets(ulaw_tone(1000, 2), ssrc=2, timestamp=99999)
    for index in range(150):          # 3 s of 20 ms packets; the desk phone starts 1 s late
        clock.now = 1000.0 + index * 0.02
        session.tap("a", caller[index])
        if index >= 50:
            session.tap("b", desk[index - 50])
        if index % 25 == 0:
            time.sleep(0.03)           # let the worker write pages while the call runs
    clock.now += 2.0
    recorder.on_event(ev.CallEnded("c1", ev.COMPLETED, 5008.0))   # 5 s of talk
    assert session.tap is None
    recorder.stop()
    entry = store.entries["c1"]
    assert entry.seconds == pytest.approx(5.0, abs=0.02)
    assert entry.size < 240 * 1024 * 5 / 60
    path = store.path(entry)
    assert inspect(path).state == "ok" and inspect(path).seconds == pytest.approx(5.0, abs=0.05)
    rate, left, right = decode_file(path)
    early, late = slice(int(0.4 * rate), int(0.9 * rate)), slice(int(1.5 * rate), int(2.5 * rate))
    assert tone_power(left[late], rate, 440) > 20 * tone_power(left[late], rate, 1000)
    assert tone_power(right[late], rate, 1000) > 20 * tone_power(right[late], rate, 440)
    assert tone_power(right[early], rate, 1000) < tone_power(right[late], rate, 1000) / 100
    # the tracker's record is linked by the exact event times
    assert store.link("rec1", 5000.0, 5003.0)
    assert store.for_record("rec1").call_id == "c1"


def test_only_configured_calls_are_recorded(store):
    sessions = {c: FakeSession() for c in ("p", "o", "i")}
    recorder = Recorder(CONFIG, store, sessions.get,
                        guard=DiskGuard(store.folder, free_bytes=lambda p: 10**12))
    recorder.start()
    recorder.on_event(ev.CallOffered("p", "+48221234568", "+48501234567", 1.0))
    recorder.on_event(ev.CallAnswered("p", "101", 2.0))
    recorder.on_event(ev.DialledOut("o", "101", "+48501234567", 3.0))
    recorder.on_event(ev.CallAnswered("o", "", 4.0))
    recorder.on_event(ev.DialledOut("i", "101", "102", 5.0))
    recorder.on_event(ev.CallAnswered("i", "102", 6.0))
    assert sessions["p"].tap is None and sessions["i"].tap is None
    assert sessions["o"].tap is not None          # extension 101 records its outbound calls
    recorder.on_event(ev.CallEnded("o", ev.COMPLETED, 7.0))
    recorder.stop()
    assert list(store.entries) == ["o"]


def test_a_full_queue_drops_audio_for_the_file_and_never_raises(store):
    session = FakeSession()
    recorder = Recorder(CONFIG, store, {"c": session}.get, queue_limit=10,
                        guard=DiskGuard(store.folder, free_bytes=lambda p: 10**12))
    # the worker is not started: nothing drains the queue
    recorder._running = True
    recorder.on_event(ev.CallOffered("c", "+48221234567", "+48501234567", 1.0))
    recorder.on_event(ev.CallAnswered("c", "101", 2.0))
    for packet in rtp_packets(ulaw_tone(440, 1)):
        session.tap("a", packet)
    assert recorder._recording["c"].dropped == 50 - 10     # the bound is per call


def test_low_disk_stops_recording_and_calls_go_on(store):
    free = [150 * 1024 * 1024]
    session = FakeSession()
    recorder = Recorder(CONFIG, store, {"c": session}.get,
                        guard=DiskGuard(store.folder, free_bytes=lambda p: free[0]))
    recorder.start()
    assert recorder.health()["state"] == "low_disk"
    recorder.on_event(ev.CallOffered("c", "+48221234567", "+48501234567", 1.0))
    recorder.on_event(ev.CallAnswered("c", "101", 2.0))
    assert session.tap is None and not store.entries
    free[0] = 10**12
    recorder.check_space()
    assert recorder.health()["state"] == "ok"
    recorder.stop()


def _entry(call, began, size):
    return Entry(call, f"m/{call}.ogg", began, began - 5, began, 60.0, size)


def test_retention_plan_keep_days_then_oldest_over_quota():
    day = 86400
    entries = [_entry("a", 0, 100), _entry("b", 50 * day, 100), _entry("c", 80 * day, 100),
               _entry("d", 89 * day, 100)]
    assert plan(entries, 95 * day, 90, 10**6) == [("a", "keep_days")]
    assert plan(entries, 95 * day, 90, 150) == [("a", "keep_days"), ("b", "max_disk_mb"),
                                                ("c", "max_disk_mb")]
    assert plan(entries, 95 * day, 90, 150, frozenset({"b"})) == [
        ("a", "keep_days"), ("c", "max_disk_mb")]


def test_retention_deletes_files_and_the_index_survives_a_restart(store):
    for index, call in enumerate(("old", "mid", "new")):
        path = store.begin(call, 100.0 + index, 200.0 + index * 1000)
        path.write_bytes(b"x" * 600_000)
        store.end(call, 30.0, 600_000)
    store.mark("r-new", "owner", 5.0)
    retention = Retention(store, keep_days=90, max_disk_mb=1, clock=lambda: 5000.0)
    assert [c for c, _ in retention.run_once()] == ["old", "mid"]
    assert not (store.folder / "1970-01" / "old.ogg").exists()
    assert (store.folder / "1970-01" / "new.ogg").exists()
    store.close()
    with open(store.folder / "index.jsonl", "ab") as log:
        log.write(b'{"op":"end","call":"ne')         # a torn last line (power cut)
    again = RecordingStore(store.folder)
    assert list(again.entries) == ["new"] and again.marks["r-new"]["by"] == "owner"
    again.close()


def test_a_transferred_call_stays_one_recording(store):
    clock = Clock()
    first, second = FakeSession(), FakeSession()
    sessions = {"t": first}
    recorder = Recorder(CONFIG, store, sessions.get, clock=clock,
                        guard=DiskGuard(store.folder, free_bytes=lambda p: 10**12))
    recorder.start()
    recorder.on_event(ev.CallOffered("t", "+48221234567", "+48501234567", 100.0))
    recorder.on_event(ev.CallAnswered("t", "101", 101.0))
    tap = first.tap
    recorder.on_event(ev.CallTransferred("t", "102", 102.0))     # same session: same tap
    assert first.tap is tap
    sessions["t"] = second                                        # moved to another session
    recorder.on_event(ev.CallTransferred("t", "103", 103.0))
    assert second.tap is tap
    recorder.on_event(ev.CallEnded("t", ev.COMPLETED, 104.0))
    assert second.tap is None
    recorder.stop()
    assert list(store.entries) == ["t"] and store.entries["t"].seconds == pytest.approx(
        3.0, abs=0.06)
