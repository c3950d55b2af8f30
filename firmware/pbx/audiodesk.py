"""The audio desk: carries out what pbx/voicemail.py decides, on the relay's caller leg.

The endpoint hands it the actions of pbx/audio_io.py. It plays prompts and messages
(pbx/playout.py) through the caller leg's own socket, records the caller from the relay's
tap (voicemail/recorder.py), and tells call control when a playout ended or a recording is
full (`AudioDone`, fed on the next turn of the loop, never from inside the relay's packet
handler). Nothing here raises into the call path: a missing prompt plays a generated tone
(prompts/library.py), a message that cannot be written is logged and the call goes on.
"""

from __future__ import annotations

import array
import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Callable

from firmware.pbx.audio_io import AudioDone, PlayAudio, RecordAudio, StopAudio
from firmware.pbx.playout import Playout
from firmware.prompts.library import PromptLibrary, generated, language_for, read_wav, silence
from firmware.voicemail.recorder import DigitListener, MessageRecorder
from firmware.voicemail.store import VoicemailStore

logger = logging.getLogger(__name__)

MIN_MESSAGE_SECONDS = 1.0     # shorter: the caller hung up at the beep; nothing to keep


class AudioDesk:
    """`waiting()` gives the numbers still to call back (None: every message counts);
    `rings_for(extension)` the campaigns a desk phone rings for."""

    def __init__(self, library: PromptLibrary, store: VoicemailStore, *,
                 feed: Callable[[object], None] = lambda event: None,
                 waiting: Callable[[], set[str] | None] = lambda: None,
                 rings_for: Callable[[str], set[str]] = lambda extension: set()) -> None:
        self.library = library
        self.store = store
        self.feed = feed
        self.waiting = waiting
        self.rings_for = rings_for
        self._players: dict[str, Playout] = {}
        self._recorders: dict[str, tuple[MessageRecorder, RecordAudio]] = {}
        self._sessions: dict[str, object] = {}
        self._taps: dict[str, object] = {}     # the taps this desk set, to remove only its own

    @classmethod
    def for_box(cls, config, data_dir: Path) -> AudioDesk:
        library = PromptLibrary(data_dir / "prompts", language_for(config.box.country))
        return cls(library, VoicemailStore(data_dir / "voicemail"))

    # -- actions ---------------------------------------------------------------------------
    def execute(self, action) -> None:
        try:
            if isinstance(action, PlayAudio):
                self._play(action)
            elif isinstance(action, RecordAudio):
                self._record(action)
            elif isinstance(action, StopAudio):
                self.stop(action.call_id)
        except (OSError, ValueError, RuntimeError) as exc:
            logger.error("audio: %s on %s failed: %s", type(action).__name__,
                         action.call_id, exc)

    def _play(self, action: PlayAudio) -> None:
        self._stop_player(action.call_id)
        session = action.session
        self._sessions[action.call_id] = session
        items = self._items(action.items)
        leg = session.a.rtp

        def send(packet: bytes) -> None:
            if leg.remote is not None and leg.transport is not None and not session.closed:
                leg.transport.sendto(packet, leg.remote)

        player = Playout(send, items, action.payload_type, repeat=action.repeat,
                         on_done=lambda: self._done(action.call_id, action.tag))
        self._players[action.call_id] = player
        if action.skip_on_digit and action.event_pt is not None:
            listener = DigitListener(action.event_pt, lambda key: player.skip())
            session.tap = self._taps[action.call_id] = \
                lambda side, data: listener.packet(data) if side == "a" else None
        player.start()

    def _items(self, items: tuple) -> list[array.array]:
        out: list[array.array] = []
        for item in items:
            if item[0] == "prompt":
                out.append(self.library.load(item[1], item[2]))
            elif item[0] == "messages":
                out.extend(self._messages_for(item[1]))
        return out or [generated("beep")]

    def _messages_for(self, extension: str) -> list[array.array]:
        """The waiting messages of the campaigns `extension` rings for, newest first, each
        after a beep; "no new messages" when there are none."""
        campaigns = self.rings_for(extension)
        waiting = self.waiting()
        out: list[array.array] = []
        for message in self.store.messages():
            if campaigns and message.get("campaign") not in campaigns:
                continue
            if waiting is not None and message.get("caller") not in waiting:
                continue
            path = self.store.path(message["id"])
            try:
                samples = read_wav(path)
            except (OSError, ValueError) as exc:
                logger.warning("audio: message %s unreadable: %s", message["id"], exc)
                continue
            beep = self.library.load("beep")
            beep.extend(silence(0.3))
            out.extend([beep, samples, silence(0.7)])
        return out or [self.library.load("no_messages")]

    def _record(self, action: RecordAudio) -> None:
        self._stop_player(action.call_id)
        self._finish_recording(action.call_id)
        session = action.session
        self._sessions[action.call_id] = session
        call_id = action.call_id
        if action.kind == "message":
            path = self.store.part_path(call_id)
        else:
            self.library.own_dir.mkdir(parents=True, exist_ok=True)
            path = self.library.own_dir / f".{call_id}.wav.part"

        def on_digit(key: str) -> None:
            if action.kind == "greeting" and key == "#":
                self._done(call_id, "key")

        recorder = MessageRecorder(path, action.max_seconds, event_pt=action.event_pt,
                                   on_digit=on_digit,
                                   on_full=lambda: self._done(call_id, "full"))
        self._recorders[call_id] = (recorder, action)
        session.tap = self._taps[call_id] = \
            lambda side, data: recorder.packet(data) if side == "a" else None

    def stop(self, call_id: str) -> None:
        """The call ended: stop playing, keep what was recorded."""
        self._stop_player(call_id)
        self._finish_recording(call_id)
        session = self._sessions.pop(call_id, None)
        mine = self._taps.pop(call_id, None)
        # only the desk's own tap: the call's recording (firmware/recording) may hold the tap
        if session is not None and mine is not None and getattr(session, "tap", None) is mine:
            session.tap = None

    # -- inside ----------------------------------------------------------------------------
    def _done(self, call_id: str, tag: str) -> None:
        """Tell call control on the next turn of the loop (never from inside a tap)."""
        try:
            asyncio.get_running_loop().call_soon(self.feed, AudioDone(call_id, tag))
        except RuntimeError:
            self.feed(AudioDone(call_id, tag))

    def _stop_player(self, call_id: str) -> None:
        player = self._players.pop(call_id, None)
        if player is not None:
            player.stop()

    def _finish_recording(self, call_id: str) -> None:
        found = self._recorders.pop(call_id, None)
        if found is None:
            return
        recorder, action = found
        seconds = recorder.close()
        meta = dict(action.meta)
        if seconds < MIN_MESSAGE_SECONDS:
            logger.info("audio: %s left %.1f s: nothing kept", call_id, seconds)
            recorder.path.unlink(missing_ok=True)
            return
        if action.kind == "message":
            self.store.add({"id": call_id, "caller": meta.get("caller", ""),
                            "campaign": meta.get("campaign", ""),
                            "offered_at": meta.get("offered_at", 0.0),
                            "reason": meta.get("reason", ""), "at": time.time(),
                            "seconds": round(seconds, 2)})
        else:
            dest = self.library.own_path("greeting", meta.get("campaign", ""))
            os.replace(recorder.path, dest)
            logger.info("audio: greeting of %s recorded from a desk phone (%.1f s)",
                        meta.get("campaign"), seconds)
