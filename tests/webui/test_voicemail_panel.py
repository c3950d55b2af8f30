"""Voicemail in the panel without a box: the API's `voicemail` field, who may listen, the
callback list's player, and the greetings page refusing a bad upload."""

from __future__ import annotations

import time

import pytest
import webui_helpers as h

from firmware.prompts.library import PromptLibrary, write_wav
from firmware.voicemail.store import VoicemailStore
from firmware.webui import voicemail
from tests import peers
from tests.voicemail.test_audio_parts import sine


@pytest.fixture
def vm(app, tmp_path):
    store = VoicemailStore(tmp_path / "voicemail")
    library = PromptLibrary(tmp_path / "prompts", "pl", build_dirs=())
    voicemail.install(app, store, library)
    return store, library


def missed_with_message(tracker, store, caller: str, dialled: str) -> str:
    start = time.time() - 600
    h.feed(tracker, h.inbound(start, caller, dialled, talk=None))
    write_wav(store.part_path("m1"), sine(1000, 1.0))
    store.add({"id": "m1", "caller": caller, "campaign": "", "offered_at": start,
               "at": start + 40, "seconds": 1.0})
    return "/api/voicemail/m1"


def test_calls_and_callbacks_name_the_message_and_staff_hear_only_their_campaigns(
        client, tracker, vm):
    url = missed_with_message(tracker, vm[0], h.MOBILE2, h.PAPER)      # Newspaper rings 101
    owner = h.basic(h.OWNER, h.OWNER_PW)
    calls = client.get("/api/calls", headers=owner).get_json()["calls"]
    assert [c["voicemail"] for c in calls] == [url]
    entry = client.get("/api/callbacks", headers=owner).get_json()["callbacks"][0]
    assert entry["voicemail"] == url
    audio = client.get(url, headers=h.basic(h.STAFF, h.STAFF_PW))       # 101
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    assert client.get(url, headers=h.basic(h.OTHER, h.OTHER_PW)).status_code == 404  # 102
    assert client.delete(url, headers=h.basic(h.STAFF, h.STAFF_PW)).status_code == 403
    assert client.get("/api/voicemail/..%2Fusers", headers=owner).status_code == 404


def test_the_callback_list_has_a_player(vm, owner, tracker):
    missed_with_message(tracker, vm[0], h.MOBILE2, h.SHOP)
    page = owner.get("/callbacks").get_data(as_text=True)
    assert '<audio class="voicemail" controls preload="none" src="/api/voicemail/m1"' in page


def test_a_bad_upload_says_why_and_keeps_the_greeting(vm, owner):
    peers.need("ffmpeg")
    library = vm[1]
    page = owner.get("/settings/greetings")
    assert page.status_code == 200 and "*981" in page.get_data(as_text=True)
    token = h.csrf_from(page.get_data(as_text=True))
    from io import BytesIO
    answer = owner.post("/settings/greetings/1", data={
        "csrf_token": token, "audio": (BytesIO(b"%PDF-1.4 not audio"), "price-list.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    text = answer.get_data(as_text=True)
    assert "not changed" in text and "WAV or MP3" in text
    assert not library.has_own("greeting", "Shop window")
    tone = owner.get("/settings/greetings/1.wav")     # no file yet: the generated stand-in
    assert tone.status_code == 200 and tone.data[:4] == b"RIFF"
