"""The audio desk on its own: a message recorded from tapped packets is kept (or not), *97
finds the right messages, a greeting dialled in replaces the campaign's greeting."""

from __future__ import annotations

import struct
from types import SimpleNamespace

from firmware.pbx import g711
from firmware.pbx.audio_io import AudioDone, RecordAudio, StopAudio
from firmware.pbx.audiodesk import AudioDesk
from firmware.prompts.library import PromptLibrary, generated, read_wav
from firmware.voicemail.store import VoicemailStore
from tests.voicemail.test_audio_parts import sine


def packets(seconds: float, start_seq: int = 1):
    tone = sine(1000, seconds)
    for n in range(len(tone) // 160):
        payload = g711.encode(tone[n * 160:(n + 1) * 160], 0)
        yield struct.pack("!BBHII", 0x80, 0, start_seq + n, n * 160, 9) + payload


def desk(tmp_path, **kwargs) -> tuple[AudioDesk, list]:
    fed: list = []
    library = PromptLibrary(tmp_path / "prompts", "en", build_dirs=())
    return AudioDesk(library, VoicemailStore(tmp_path / "vm"), feed=fed.append, **kwargs), fed


def session():
    return SimpleNamespace(tap=None, legs={"a": None}, closed=False)


def record(desk_: AudioDesk, call_id: str, seconds: float, kind: str = "message",
           meta=(("caller", "+48600111222"), ("campaign", "Shop window"),
                 ("offered_at", 100.0))) -> None:
    media = session()
    desk_.execute(RecordAudio(call_id, media, 101, kind, 30, meta))
    for packet in packets(seconds):
        media.tap("a", packet)
        media.tap("b", b"ignored: not the caller's leg")
    desk_.execute(StopAudio(call_id))
    assert media.tap is None


def test_a_message_is_kept_with_its_length_and_a_half_second_one_is_not(tmp_path):
    desk_, _ = desk(tmp_path)
    record(desk_, "c1", 2.0)
    record(desk_, "c2", 0.5)
    messages = desk_.store.messages()
    assert [m["id"] for m in messages] == ["c1"] and messages[0]["seconds"] == 2.0
    assert len(read_wav(desk_.store.path("c1"))) == 16000
    assert not list((tmp_path / "vm").glob("*.part"))


def test_a_full_message_tells_call_control(tmp_path):
    desk_, fed = desk(tmp_path)
    media = session()
    desk_.execute(RecordAudio("c3", media, None, "message", 1, ()))
    for packet in packets(1.5):
        media.tap("a", packet)
    assert fed == [AudioDone("c3", "full")]          # no loop running: told at once


def test_star_97_plays_the_waiting_messages_of_the_phones_campaigns_newest_first(tmp_path):
    desk_, _ = desk(tmp_path, waiting=lambda: {"+48600111222", "+48600333444"},
                    rings_for=lambda ext: {"Shop window"})
    record(desk_, "old", 1.0)
    record(desk_, "new", 1.5, meta=(("caller", "+48600333444"), ("campaign", "Shop window")))
    record(desk_, "called", 1.2, meta=(("caller", "+48600999999"), ("campaign", "Shop window")))
    record(desk_, "other", 1.2, meta=(("caller", "+48600111222"), ("campaign", "Radio")))
    items = desk_._messages_for("101")
    lengths = [len(item) for item in items]
    assert lengths[1::3] == [12000, 8000]            # beep, message, pause: newest first
    nothing, _ = desk(tmp_path / "empty")
    assert [list(i) for i in nothing._messages_for("101")] == [list(generated("no_messages"))]


def test_a_greeting_dialled_in_replaces_the_campaigns_greeting(tmp_path):
    desk_, _ = desk(tmp_path)
    record(desk_, "g1", 1.5, kind="greeting", meta=(("campaign", "Shop window"),))
    assert len(desk_.library.load("greeting", "Shop window")) == 12000
