"""Recordings in the panel and the API, on the real tracker and a real recordings store."""

import struct
import time

import pytest

import webui_helpers as h
from firmware.recording import ogg
from firmware.recording.opus import Encoder
from firmware.recording.service import Recordings
from firmware.webui.app import create_app


def opus_file(seconds: float = 1.0) -> bytes:
    encoder = Encoder(8000, 2, separate=True)
    pre_skip = encoder.lookahead * 6
    writer = ogg.OggWriter(9)
    data = writer.headers(ogg.opus_head(2, pre_skip, 8000, separate=True), ogg.opus_tags("t"))
    for index in range(int(seconds * 50)):
        writer.add(encoder.encode(struct.pack("<h", 1000) * 320), pre_skip + (index + 1) * 960)
    return data + writer.finish()


@pytest.fixture
def service(tmp_path, config):
    service = Recordings(config, tmp_path, lambda call_id: None,
                         free_bytes=lambda path: 10**12)
    yield service
    service.store.close()


@pytest.fixture
def recorded(tracker, service):
    """One answered call of 101 (and one of 102), each with a recording linked to it."""
    tracker.call_extras.append(service.decorate)
    now = time.time()
    events_101 = h.inbound(now - 600, h.MOBILE, h.SHOP, talk=60, by="101")
    events_102 = h.inbound(now - 300, h.MOBILE2, h.SHOP, talk=30, by="102")
    h.feed(tracker, events_101, events_102)
    ids = {}
    for events in (events_101, events_102):
        offered, answered = events[0].at, events[2].at
        call_id = events[0].call_id
        path = service.store.begin(call_id, offered, answered,      # as the recorder does
                                   {"direction": "inbound", "party": events[0].caller})
        path.write_bytes(opus_file())
        service.store.end(call_id, 1.0, path.stat().st_size)
        record = next(c for c in tracker.calls(_everything())
                      if c["answered_by"] == events[2].extension)
        assert service.store.link(record["id"], offered, answered)
        ids[events[2].extension] = record["id"]
    return ids


def _everything():
    from firmware.tracker.query import CallFilter
    return CallFilter()


@pytest.fixture
def app(config, tracker, users, service):
    return create_app(config, tracker, users, secret_key="test-secret", testing=True,
                      health=lambda: {"sip": "ok", "recording": service.health()},
                      recordings=service)


def test_calls_carry_the_url_and_the_owner_plays_it_with_ranges(client, recorded):
    calls = client.get("/api/calls", headers=h.basic(h.OWNER, h.OWNER_PW)).get_json()["calls"]
    assert {c["recording"] for c in calls} == {f"/api/calls/{i}/recording"
                                              for i in recorded.values()}
    url = f"/api/calls/{recorded['101']}/recording"
    whole = client.get(url, headers=h.basic(h.OWNER, h.OWNER_PW))
    assert whole.status_code == 200 and whole.mimetype == "audio/ogg"
    assert whole.data[:4] == b"OggS"
    part = client.get(url, headers={**h.basic(h.OWNER, h.OWNER_PW), "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == whole.data[10:20]


def test_staff_hear_their_own_calls_only_and_never_delete(client, recorded):
    mine = f"/api/calls/{recorded['101']}/recording"
    theirs = f"/api/calls/{recorded['102']}/recording"
    assert client.get(mine, headers=h.basic(h.STAFF, h.STAFF_PW)).status_code == 200
    assert client.get(theirs, headers=h.basic(h.STAFF, h.STAFF_PW)).status_code == 403
    assert client.delete(mine, headers=h.basic(h.STAFF, h.STAFF_PW)).status_code == 403


def test_owner_deletes_the_file_and_the_call_stays(client, recorded, service):
    url = f"/api/calls/{recorded['101']}/recording"
    path = service.store.path(service.entry(recorded["101"]))
    assert client.delete(url, headers=h.basic(h.OWNER, h.OWNER_PW)).status_code == 204
    assert not path.exists()
    assert client.get(url, headers=h.basic(h.OWNER, h.OWNER_PW)).status_code == 404
    call = client.get(f"/api/calls/{recorded['101']}",
                      headers=h.basic(h.OWNER, h.OWNER_PW)).get_json()
    assert call["recording"] is None and call["talk_seconds"] == 60


def test_a_missing_or_truncated_file_is_said_so(owner, recorded, service):
    entry = service.entry(recorded["101"])
    path = service.store.path(entry)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 30])                 # a power cut mid-page
    page = owner.get(f"/calls/{recorded['101']}").get_data(as_text=True)
    assert "was cut short" in page and "<audio" in page
    path.unlink()
    answer = owner.get(f"/api/calls/{recorded['101']}/recording")
    assert answer.status_code == 404 and answer.get_json()["state"] == "missing"
    page = owner.get(f"/calls/{recorded['101']}").get_data(as_text=True)
    assert "file is missing" in page and "<audio" not in page
    assert "+48 501 234 567" in page                        # the call record is intact


def test_good_calls_are_marked_durably_and_listed(client, recorded, service, config):
    staff = h.basic(h.STAFF, h.STAFF_PW)
    assert client.put(f"/api/calls/{recorded['101']}/good", headers=staff).status_code == 200
    assert client.put(f"/api/calls/{recorded['102']}/good", headers=staff).status_code == 403
    assert client.put(f"/api/calls/{recorded['102']}/good",
                      headers=h.basic(h.OWNER, h.OWNER_PW)).status_code == 200
    assert h.sign_in(client, h.STAFF, h.STAFF_PW).status_code == 302
    page = client.get("/calls/good").get_data(as_text=True)
    assert page.count("<audio") == 1 and h.STAFF in page     # staff see their own only
    again = Recordings(config, service.store.folder.parent, lambda c: None)
    assert set(again.store.marks) == set(recorded.values())
    again.store.close()


def test_low_disk_is_shown_in_healthz_and_the_panel(tmp_path, config, tracker, users):
    service = Recordings(config, tmp_path / "low", lambda c: None,
                         free_bytes=lambda path: 50 * 1024 * 1024)
    service.recorder.check_space()
    app = create_app(config, tracker, users, secret_key="test-secret", testing=True,
                     health=lambda: {"sip": "ok", "recording": service.health()},
                     recordings=service)
    client = h.english_client(app)
    assert client.get("/healthz").get_json()["recording"]["state"] == "low_disk"
    assert h.sign_in(client, h.OWNER, h.OWNER_PW).status_code == 302
    assert "Recording is stopped" in client.get("/calls").get_data(as_text=True)
    service.store.close()


def test_players_in_the_call_list_the_report_and_the_callback_list(owner, recorded, tracker):
    calls_page = owner.get("/calls").get_data(as_text=True)
    assert calls_page.count("<audio") == 2
    report = owner.get("/reports/durations?short=100&long=3600").get_data(as_text=True)
    assert report.count("<audio") == 2                      # both calls are "too short"
    h.feed(tracker, h.inbound(time.time() - 60, h.MOBILE, h.SHOP, talk=None))  # calls again
    callbacks = owner.get("/callbacks").get_data(as_text=True)
    assert "Last conversation" in callbacks and callbacks.count("<audio") == 1


def test_a_call_in_a_codec_the_box_cannot_record_says_why(owner, recorded, service):
    call_id = service.store.links[recorded["102"]]
    service.store.end(call_id, 0.0, 0, problem="codec g722/8000")   # as the recorder does
    service.store.path(service.store.entries[call_id]).unlink()
    call = owner.get(f"/api/calls/{recorded['102']}").get_json()
    assert call["recording"] is None
    assert call["recording_problem"] == {"reason": "codec", "codec": "g722/8000",
                                         "partial": False}
    state = owner.get(f"/api/calls/{recorded['102']}/recording/state").get_json()
    assert state["state"] == "not_possible" and state["problem"]["codec"] == "g722/8000"
    answer = owner.get(f"/api/calls/{recorded['102']}/recording")
    assert answer.status_code == 404 and answer.get_json()["state"] == "not_possible"
    page = owner.get(f"/calls/{recorded['102']}").get_data(as_text=True)
    assert 'data-problem="codec"' in page and "G722/8000" in page and "<audio" not in page
    # a whole recording has no problem
    assert owner.get(f"/api/calls/{recorded['101']}").get_json()["recording_problem"] is None
