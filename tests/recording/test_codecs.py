"""What the SDP said decides what the recorder decodes; a codec it cannot decode is said so."""

from __future__ import annotations

import pytest

from firmware.config import parse_config
from firmware.pbx import events as ev
from firmware.pbx.media import RelaySession
from firmware.recording.check import decode_file, inspect, tone_power
from firmware.recording.recorder import Recorder
from firmware.recording.service import Recordings
from tests.recording.tones import rtp_packets, ulaw_tone

CONFIG = parse_config("""
[box]
timezone = "Europe/Warsaw"
country = "PL"

[[campaign]]
name = "Recorded"
number = "+48221234567"
record = true
""")


class FakeSession:
    tap = None

    def __init__(self, formats: dict) -> None:
        self.formats = formats


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def service(tmp_path):
    service = Recordings(CONFIG, tmp_path, lambda call_id: None,
                         free_bytes=lambda path: 10 ** 12)
    yield service
    service.store.close()


def record(service, session, legs: dict[str, list[bytes]], seconds: float = 2.0):
    """One answered call of `seconds` whose legs send `legs` (a packet every 20 ms)."""
    clock = Clock()
    recorder = Recorder(CONFIG, service.store, {"c": session}.get, clock=clock,
                        guard=service.guard)
    recorder.start()
    recorder.on_event(ev.CallOffered("c", "+48221234567", "+48501234567", 5000.0))
    recorder.on_event(ev.CallAnswered("c", "101", 5001.0))
    for index in range(max(len(p) for p in legs.values())):
        clock.now = 1000.0 + index * 0.02
        for leg, packets in legs.items():
            if index < len(packets):
                session.tap(leg, packets[index])
    clock.now = 1000.0 + seconds
    recorder.on_event(ev.CallEnded("c", ev.COMPLETED, 5001.0 + seconds))
    recorder.stop()
    assert service.store.link("r1", 5000.0, 5001.0)
    call = {"id": "r1"}
    service.decorate(call)
    return service.store.entries["c"], call


def test_g711_under_a_dynamic_payload_type_is_recorded(service):
    session = FakeSession({"a": {"96": "pcmu/8000", "101": "telephone-event/8000"},
                           "b": {"96": "pcmu/8000"}})
    entry, call = record(service, session, {
        "a": rtp_packets(ulaw_tone(440, 2), ssrc=1, payload_type=96),
        "b": rtp_packets(ulaw_tone(1000, 2), ssrc=2, payload_type=96)
        + rtp_packets(b"\0" * 480, ssrc=2, payload_type=101)})
    assert call["recording"] == "/api/calls/r1/recording" and call["recording_problem"] is None
    assert entry.seconds == pytest.approx(2.0, abs=0.001) and not entry.problem
    path = service.store.path(entry)
    assert inspect(path).state == "ok" and inspect(path).seconds == pytest.approx(2.0, abs=0.01)
    rate, left, right = decode_file(path)
    middle = slice(int(0.5 * rate), int(1.5 * rate))
    assert tone_power(left[middle], rate, 440) > 20 * tone_power(left[middle], rate, 1000)
    assert tone_power(right[middle], rate, 1000) > 20 * tone_power(right[middle], rate, 440)


def test_a_codec_the_box_cannot_decode_gives_no_file_of_silence_but_a_reason(service):
    session = FakeSession({"a": {"9": "g722/8000"}, "b": {"9": "g722/8000"}})
    entry, call = record(service, session, {
        "a": rtp_packets(b"\x55" * 16000, ssrc=1, payload_type=9),
        "b": rtp_packets(b"\x55" * 16000, ssrc=2, payload_type=9)})
    assert entry.problem == "codec g722/8000" and entry.seconds == 0
    assert not service.store.path(entry).exists()
    assert call["recording"] is None
    assert call["recording_problem"] == {"reason": "codec", "codec": "g722/8000",
                                         "partial": False}
    # the reason survives a restart (it is in the index)
    service.store.close()
    again = Recordings(CONFIG, service.store.folder.parent, lambda c: None,
                       free_bytes=lambda p: 10 ** 12)
    assert again.store.entries["c"].problem == "codec g722/8000"
    again.store.close()


def test_a_call_that_moves_to_another_codec_keeps_what_came_before(service):
    session = FakeSession({"a": {"0": "pcmu/8000", "9": "g722/8000"},
                           "b": {"0": "pcmu/8000", "9": "g722/8000"}})
    caller = rtp_packets(ulaw_tone(440, 1), ssrc=1) + \
        rtp_packets(b"\x55" * 8000, ssrc=3, payload_type=9, timestamp=8160)
    entry, call = record(service, session, {"a": caller})
    assert entry.problem == "codec g722/8000" and 0.9 < entry.seconds < 1.6
    assert call["recording"] == "/api/calls/r1/recording"
    assert call["recording_problem"]["partial"] is True
    assert inspect(service.store.path(entry)).state == "ok"


def test_the_relay_session_keeps_a_new_dict_per_sdp():
    session = RelaySession.__new__(RelaySession)
    session.formats = {}
    session.note_formats("a", {"0": "pcmu/8000"})
    first = session.formats
    session.note_formats("b", {"8": "pcma/8000"})
    assert first == {"a": {"0": "pcmu/8000"}}            # never changed in place
    assert session.formats == {"a": {"0": "pcmu/8000"}, "b": {"8": "pcma/8000"}}


def test_the_file_is_written_while_the_call_runs(service):
    """A power cut mid-call keeps what came more than a few seconds ago: pages reach the
    disk during the call, not at its end (a real worker on the real clock, ~2 s)."""
    import time

    session = FakeSession({})
    recorder = Recorder(CONFIG, service.store, {"c": session}.get, guard=service.guard)
    recorder.start()
    recorder.on_event(ev.CallOffered("c", "+48221234567", "+48501234567", 5000.0))
    recorder.on_event(ev.CallAnswered("c", "101", 5001.0))
    packets = rtp_packets(ulaw_tone(440, 2.2), ssrc=1)
    for step in range(22):                       # 100 ms of packets every 100 ms
        for packet in packets[5 * step:5 * step + 5]:
            session.tap("a", packet)
        time.sleep(0.1)
    path = service.store.path(service.store.entries["c"])
    during = inspect(path)
    recorder.on_event(ev.CallEnded("c", ev.COMPLETED, 5003.2))
    recorder.stop()
    assert during.state == "truncated" and during.seconds >= 0.5     # no last page yet
    assert inspect(path).state == "ok"
