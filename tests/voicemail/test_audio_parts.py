"""The pieces under voicemail: G.711, the recorder, the playout's pacing, prompts and the
greeting conversion (ffmpeg), each on its own, with synthetic packets and files."""

from __future__ import annotations

import array
import asyncio
import math
import struct
import wave

import pytest

from firmware.pbx import g711
from firmware.pbx.playout import Playout, RtpPacketizer
from firmware.prompts.convert import NotAudio, convert
from firmware.prompts.library import PromptLibrary, generated, language_for, write_wav
from firmware.voicemail.recorder import MessageRecorder, parse_rtp
from firmware.voicemail.store import VoicemailStore
from tests import peers


def sine(frequency: float, seconds: float, rate: int = 8000) -> array.array:
    return array.array("h", (int(8000 * math.sin(2 * math.pi * frequency * i / rate))
                             for i in range(int(seconds * rate))))


def rtp(seq: int, ts: int, payload: bytes, pt: int = 0) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq, ts, 7) + payload


@pytest.mark.parametrize("payload_type", [g711.PCMU, g711.PCMA])
def test_g711_round_trip_keeps_a_tone(payload_type):
    tone = sine(1000, 0.1)
    back = g711.decode(g711.encode(tone, payload_type), payload_type)
    assert max(abs(a - b) for a, b in zip(tone, back)) < 300


def test_the_recorder_places_audio_by_timestamp_and_stops_when_full(tmp_path):
    full = []
    recorder = MessageRecorder(tmp_path / "m.wav.part", 0.1, on_full=lambda: full.append(1))
    frame = g711.encode(sine(1000, 0.02), 0)
    recorder.packet(rtp(1, 1000, frame))
    recorder.packet(rtp(3, 1320, frame))             # packet 2 lost: 20 ms of silence
    recorder.packet(rtp(2, 1160, frame))             # ... arriving late: dropped
    recorder.packet(b"\x00junk")
    assert recorder.seconds == pytest.approx(0.06)
    for n in range(4, 10):
        recorder.packet(rtp(n, 1000 + 160 * (n - 1), frame))
    assert full and recorder.seconds == pytest.approx(0.1)
    recorder.close()
    with wave.open(str(tmp_path / "m.wav.part")) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (1, 8000, 800)


def test_a_dtmf_key_is_reported_once_though_its_end_comes_three_times(tmp_path):
    keys = []
    recorder = MessageRecorder(tmp_path / "m.wav.part", 5, event_pt=101, on_digit=keys.append)
    for _ in range(3):
        recorder.packet(rtp(1, 800, bytes([11, 0x8A, 0, 160]), pt=101))   # "#", end bit
    recorder.packet(rtp(2, 960, bytes([1, 0x0A, 0, 80]), pt=101))          # "1", not ended
    assert keys == ["#"]
    assert parse_rtp(b"\x80\x00") is None


def test_the_playout_sends_20_ms_frames_and_says_when_it_is_done():
    async def scenario():
        sent, done = [], asyncio.Event()
        player = Playout(sent.append, [sine(440, 0.1)], g711.PCMA, on_done=done.set)
        player.start()
        await asyncio.wait_for(done.wait(), 2)
        assert len(sent) == 5 and all(len(p) == 12 + 160 for p in sent)
        first, second = (struct.unpack("!BBHI", p[:8]) for p in sent[:2])
        assert first[1] == 0x80 | 8 and second[1] == 8              # marker on the first
        assert (second[2] - first[2]) % 65536 == 1 and second[3] - first[3] == 160
    asyncio.run(scenario())


def test_the_packetizer_wraps_sequence_numbers():
    packer = RtpPacketizer(0, ssrc=1)
    packer.sequence = 0xFFFF
    packer.packet(sine(440, 0.02))
    assert packer.sequence == 0


def test_a_missing_or_damaged_prompt_falls_back_to_a_generated_one(tmp_path):
    library = PromptLibrary(tmp_path / "own", "pl", build_dirs=(tmp_path / "build",))
    assert list(library.load("beep")) == list(generated("beep"))
    (tmp_path / "build" / "pl").mkdir(parents=True)
    (tmp_path / "build" / "pl" / "notice.wav").write_bytes(b"RIFF broken")
    assert list(library.load("notice")) == list(generated("notice"))
    (tmp_path / "own").mkdir()
    write_wav(library.own_path("greeting", "Shop window"), sine(440, 0.5))
    assert len(library.load("greeting", "Shop window")) == 4000
    assert list(library.load("greeting", "Radio")) == list(generated("greeting"))
    assert language_for("PL") == "pl" and language_for("US") == "en"


def test_the_store_answers_only_messages_whose_file_is_there(tmp_path):
    store = VoicemailStore(tmp_path / "vm")
    for n, at in (("a1", 10.0), ("b2", 20.0)):
        write_wav(store.part_path(n), sine(440, 0.1))
        store.add({"id": n, "caller": "+48600111222", "campaign": "Shop", "offered_at": at,
                   "at": at, "seconds": 0.1})
    assert [m["id"] for m in store.messages()] == ["b2", "a1"]          # newest first
    store.path("a1").unlink()
    assert [m["id"] for m in VoicemailStore(tmp_path / "vm").messages()] == ["b2"]
    assert store.delete("b2") and not store.path("b2").exists() and not store.delete("zz")
    assert store.path("../etc/passwd") is None


def test_an_upload_that_is_not_audio_or_too_long_keeps_the_old_greeting(tmp_path):
    peers.need("ffmpeg")
    dest = tmp_path / "greeting.wav"
    write_wav(dest, sine(440, 1.0))
    old = dest.read_bytes()
    with pytest.raises(NotAudio) as bad:
        convert(b"GIF89a not a sound", dest, 120)
    assert bad.value.code == "not_audio" and dest.read_bytes() == old
    long_file = tmp_path / "long.wav"
    write_wav(long_file, array.array("h", bytes(2 * 8000 * 8)))
    with pytest.raises(NotAudio) as long:
        convert(long_file.read_bytes(), dest, 5)
    assert long.value.code == "too_long" and dest.read_bytes() == old
    with pytest.raises(NotAudio):
        convert(b"", dest, 5)
    assert convert(old, tmp_path / "copy.wav", 5) == pytest.approx(1.0, abs=0.05)


def test_keep_days_deletes_old_messages_in_the_recordings_retention_run(tmp_path):
    from firmware.recording.retention import Retention
    from firmware.recording.store import RecordingStore

    day = 86400.0
    store = VoicemailStore(tmp_path / "vm")
    for n, at in (("old", 1 * day), ("new", 95 * day)):
        write_wav(store.part_path(n), sine(440, 0.1))
        store.add({"id": n, "caller": "+48600111222", "campaign": "Shop", "offered_at": at,
                   "at": at, "seconds": 0.1})
    recordings = RecordingStore(tmp_path / "recordings")
    retention = Retention(recordings, keep_days=90, max_disk_mb=100, clock=lambda: 100 * day)
    retention.also.append(store.prune)
    retention.run_once()
    recordings.close()
    assert [m["id"] for m in VoicemailStore(tmp_path / "vm").messages()] == ["new"]
    assert not (tmp_path / "vm" / "old.wav").exists()
