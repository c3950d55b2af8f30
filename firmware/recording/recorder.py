"""The recorder: call events in, a stereo Opus file per recorded call out.

Why it is shaped like this:
- It listens to the call events (pbx/events.py) like the tracker does, and reaches the call's
  media session by the call id; the call path gains no code (it only passes the payload
  types of each side's SDP to the session, see below). On CallAnswered of a call to be
  recorded it sets the session's tap; on CallEnded it takes it off. The recording belongs to
  the call: a transfer keeps the session, and with it the file.
- The tap runs on the relay's hot path, so it only appends (leg, arrival, packet) to the
  recording's own bounded deque (append is atomic in CPython, no lock). When the deque is full
  the packet is dropped for the file (it becomes silence there), never delayed for the call.
- One worker thread wakes every TICK_SECONDS (and at once for a start or a stop), drains each
  recording's deque, hands each leg's packets to the timeline as one batch (mixer.py: one
  G.711 decode per run of packets), encodes the frames that are due (opus.py, 120 ms each)
  and writes pages (ogg.py): a page a second, fdatasync every few seconds, so a power cut
  loses at most those seconds. Per-packet Python is a few field reads; the rest is C.
  A slow card slows the worker, which drops audio, not the relay.
- The codec: the relay session knows the payload types each party's SDP named
  (`RelaySession.formats`); G.711 under any number is decoded; audio in a codec the box
  cannot decode gives the recording up with the reason in the index (`problem`), shown by
  the API and the panel, instead of a file of silence.
- No room (retention.DiskGuard): calls go on unrecorded, /healthz and the panel say so.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from firmware.config import Config, normalise_number
from firmware.pbx import events as ev
from firmware.recording import ogg
from firmware.recording.mixer import FRAME, RATE, StereoTimeline, laws_for
from firmware.recording.opus import (APPLICATION_RESTRICTED_LOWDELAY, Encoder, OpusError,
                                     version)
from firmware.recording.retention import DiskGuard
from firmware.recording.store import RecordingStore

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 500            # packets waiting for the worker, per call (5 s of both legs)
TICK_SECONDS = 0.25          # the worker's turn: a batch of ~12 packets per leg
PAGE_SECONDS = 1.0           # a page written this often
SYNC_SECONDS = 3.0           # and made durable this often
SPACE_CHECK_SECONDS = 10.0
BITRATE = 24000              # bit/s, both channels (2 mono streams of 12k): ~180 KB a minute
COMPLEXITY = 0               # the cheapest encoder: speech at 8 kHz loses little
APPLICATION = APPLICATION_RESTRICTED_LOWDELAY   # CELT: half SILK's CPU, the same PESQ here
GRANULE_PER_SAMPLE = 48000 // RATE
UNDECODABLE_PACKETS = 10     # this many packets in a codec the box cannot decode: give up


@dataclass
class _Call:
    """What the events said about a call so far."""

    direction: str              # "inbound" / "outbound"
    offered_at: float
    record: bool
    party: str = ""             # the caller's (inbound) or dialled (outbound) number


class Recording:
    """One call's file being written (the worker's; `dropped` is counted by the tap)."""

    def __init__(self, call_id: str, session: Any, started: float, offered_at: float,
                 answered_at: float) -> None:
        self.call_id = call_id
        self.session = session
        self.started = started           # monotonic, at the answer
        self.offered_at = offered_at
        self.answered_at = answered_at
        self.dropped = 0
        self.inbox: collections.deque = collections.deque()   # (leg, arrival, packet)
        self.timeline = StereoTimeline()
        self.encoder: Encoder | None = None
        self.writer: ogg.OggWriter | None = None
        self.fd: int | None = None
        self.path: str | None = None
        self.pre_skip = 0
        self.frames = 0
        self.size = 0
        self.last_page = self.last_sync = started
        self.tap: Callable[[str, bytes], None] | None = None
        self.given_up = ""               # why the file was given up (a codec), else ""
        self._formats: Any = _UNSEEN     # the session's formats the laws were made from
        self.laws: dict[str, Any] = {"a": None, "b": None}

    def laws_now(self) -> dict[str, Any]:
        """Payload type -> law for each leg, from the SDP the session has seen; rebuilt when
        a re-INVITE or a transfer brings new SDP (the session then holds a new dict)."""
        formats = getattr(self.session, "formats", None)
        if formats is not self._formats:
            self._formats = formats
            self.laws = {"a": laws_for(formats.get("a"), formats.get("b")),
                         "b": laws_for(formats.get("b"), formats.get("a"))} \
                if formats else {"a": None, "b": None}
        return self.laws


_UNSEEN = object()


class Recorder:
    def __init__(self, config: Config, store: RecordingStore,
                 sessions: Callable[[str], Any], *, guard: DiskGuard | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 queue_limit: int = QUEUE_LIMIT, bitrate: int = BITRATE,
                 complexity: int = COMPLEXITY) -> None:
        self.config = config
        self.store = store
        self.sessions = sessions
        self.guard = guard or DiskGuard(store.folder)
        self.clock = clock
        self.queue_limit = queue_limit
        self.bitrate, self.complexity = bitrate, complexity
        self._control: collections.deque = collections.deque()   # ("start"/"stop", ...)
        self._wake = threading.Event()
        self._calls: dict[str, _Call] = {}
        self._recording: dict[str, Recording] = {}     # by call id (the event side's view)
        self._active: dict[str, Recording] = {}        # the worker's view
        self._thread: threading.Thread | None = None
        self._running = False
        self.low_disk = False
        self.unavailable: str | None = None
        self.skipped_low_disk = 0
        self._last_space_check = 0.0
        self.worker_cpu = 0.0            # CPU seconds of the worker thread so far (bench)
        try:
            self.codec = version()
        except OpusError as exc:
            self.unavailable = str(exc)
            self.codec = ""
            logger.error("recordings: %s; calls are not recorded", exc)

    # -- the event side (the asyncio loop's thread) ----------------------------------------
    def on_event(self, event: Any) -> None:
        if isinstance(event, ev.CallOffered):
            number = normalise_number(event.dialled, self.config.box.country) or event.dialled
            campaign = self.config.campaign_for(number)
            self._calls[event.call_id] = _Call("inbound", event.at,
                                               bool(campaign and getattr(campaign, "record",
                                                                         False)),
                                               event.caller)
        elif isinstance(event, ev.DialledOut):
            extension = self.config.extension(event.extension)
            internal = self.config.extension(event.number) is not None
            self._calls[event.call_id] = _Call(
                "outbound", event.at,
                bool(extension and getattr(extension, "record", False) and not internal),
                event.number)
        elif isinstance(event, ev.CallAnswered):
            call = self._calls.get(event.call_id)
            if call is not None and call.record and event.call_id not in self._recording:
                self._start(event.call_id, call, event.at)
        elif isinstance(event, ev.CallTransferred):
            recording = self._recording.get(event.call_id)
            session = self.sessions(event.call_id)
            if recording is not None and session is not None and session is not recording.session:
                recording.session = session      # the same call on a new session: same file
                session.tap = recording.tap
        elif isinstance(event, ev.CallEnded):
            self._calls.pop(event.call_id, None)
            recording = self._recording.pop(event.call_id, None)
            if recording is not None:
                if recording.session is not None and recording.session.tap is recording.tap:
                    recording.session.tap = None
                self._control.append(("stop", recording, max(0.0, event.at -
                                                             recording.answered_at)))
                self._wake.set()

    def _start(self, call_id: str, call: _Call, answered_at: float) -> None:
        if self.unavailable or not self._running:
            return
        if self.low_disk:
            self.skipped_low_disk += 1
            logger.warning("recordings: call %s not recorded: less than %d MB free", call_id,
                           self.guard.min_free // (1024 * 1024))
            return
        session = self.sessions(call_id)
        if session is None:
            logger.warning("recordings: call %s has no media session; not recorded", call_id)
            return
        recording = Recording(call_id, session, self.clock(), call.offered_at, answered_at)
        inbox, limit, now = recording.inbox, self.queue_limit, self.clock

        def tap(leg: str, packet: bytes) -> None:
            if len(inbox) >= limit:
                recording.dropped += 1
                return
            inbox.append((leg, now(), packet))

        recording.tap = tap
        self.store.expect(call_id, call.offered_at, answered_at)
        self._recording[call_id] = recording
        self._control.append(("start", recording, {"direction": call.direction,
                                                   "party": call.party}))
        self._wake.set()
        session.tap = tap

    def reload_config(self, config: Config) -> None:
        self.config = config

    # -- the worker ------------------------------------------------------------------------
    def start(self) -> None:
        self._running = True
        self.check_space()
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish every file (cut at now) and stop the worker."""
        if not self._running:
            return
        for call_id, recording in list(self._recording.items()):
            if recording.session is not None and recording.session.tap is recording.tap:
                recording.session.tap = None
            self._control.append(("stop", recording, self.clock() - recording.started))
        self._recording.clear()
        self._running = False
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def check_space(self) -> bool:
        ok = self.guard.ok()
        if ok == self.low_disk:
            self.low_disk = not ok
            if self.low_disk:
                logger.error("recordings: less than %d MB free on %s: recording stopped",
                             self.guard.min_free // (1024 * 1024), self.store.folder)
            else:
                logger.info("recordings: free space is back: recording again")
        self._last_space_check = self.clock()
        return ok

    def _run(self) -> None:
        control = self._control
        while True:
            if not control:
                if not self._running and not self._active:
                    return
                # a turn per tick while recording; a start or a stop wakes the worker at once
                self._wake.wait(TICK_SECONDS if self._active else 1.0)
                self._wake.clear()
            while control:
                item = control.popleft()
                try:
                    self._handle(item)
                except (OSError, OpusError, ValueError) as exc:   # that call only
                    self._fail(item[1], exc)
            now = self.clock()
            for recording in list(self._active.values()):
                try:
                    self._advance(recording, now)
                except (OSError, OpusError, ValueError) as exc:   # that call only
                    self._fail(recording, exc)
            if now - self._last_space_check >= SPACE_CHECK_SECONDS and not self.check_space():
                for recording in list(self._active.values()):
                    self._finish(recording, now - recording.started)
            self.worker_cpu = time.thread_time()

    def _handle(self, item: tuple) -> None:
        kind, recording = item[0], item[1]
        if kind == "start":
            self._open(recording, item[2])
        elif kind == "stop":
            if recording.fd is not None:
                self._finish(recording, item[2])
            recording.inbox.clear()

    def _open(self, recording: Recording, extras: dict) -> None:
        encoder = Encoder(RATE, 2, bitrate=self.bitrate, complexity=self.complexity,
                          separate=True, application=APPLICATION)
        path = self.store.begin(recording.call_id, recording.offered_at, recording.answered_at,
                                extras)
        recording.path = str(path)
        recording.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        recording.encoder = encoder
        recording.pre_skip = encoder.lookahead * GRANULE_PER_SAMPLE
        recording.writer = ogg.OggWriter(int(recording.call_id[-6:], 16)
                                         if _is_hex(recording.call_id[-6:]) else 1)
        self._write(recording, recording.writer.headers(
            ogg.opus_head(2, recording.pre_skip, RATE, separate=True),
            ogg.opus_tags(f"Callbox ({self.codec})", [
                "TITLE=call " + recording.call_id, "CHANNELS=left caller, right desk phone"])))
        os.fdatasync(recording.fd)
        self._active[recording.call_id] = recording

    def _drain(self, recording: Recording) -> None:
        """Everything the tap queued, each leg's packets to the timeline as one batch."""
        inbox = recording.inbox
        count = len(inbox)
        if not count:
            return
        legs: dict[str, list] = {"a": [], "b": []}
        pop = inbox.popleft
        for _ in range(count):
            leg, arrival, packet = pop()
            legs[leg].append((arrival, packet))
        laws = recording.laws_now()
        timeline = recording.timeline
        for leg, items in legs.items():
            if items:
                timeline.put_batch(leg, items, laws[leg], recording.started)
        if timeline.undecodable and \
                sum(timeline.undecodable.values()) >= UNDECODABLE_PACKETS:
            self._give_up(recording, max(timeline.undecodable,
                                         key=timeline.undecodable.__getitem__))

    def _advance(self, recording: Recording, now: float) -> None:
        self._drain(recording)
        if recording.fd is None:                      # given up in _drain
            return
        self._encode(recording, recording.timeline.due(now - recording.started))
        if now - recording.last_page >= PAGE_SECONDS:
            recording.last_page = now
            self._write(recording, recording.writer.pages())
            self.store.grew(recording.call_id, recording.size)
            if now - recording.last_sync >= SYNC_SECONDS:
                recording.last_sync = now
                os.fdatasync(recording.fd)

    def _encode(self, recording: Recording, frames: list[bytes]) -> None:
        encode, add = recording.encoder.encode, recording.writer.add
        for frame in frames:
            recording.frames += 1
            add(encode(frame), recording.pre_skip + recording.frames * FRAME * GRANULE_PER_SAMPLE)

    def _finish(self, recording: Recording, seconds: float) -> None:
        self._active.pop(recording.call_id, None)
        timeline = recording.timeline
        try:
            self._drain(recording)
            if recording.fd is None:                  # given up on the last packets
                return
            self._encode(recording, timeline.finish(seconds))
            # the end trim (RFC 7845 4.5): the last page's granule is where the talk ended
            self._write(recording, recording.writer.finish(
                recording.pre_skip + timeline.end_samples * GRANULE_PER_SAMPLE))
            os.fdatasync(recording.fd)
        finally:
            self._close(recording)
        if recording.given_up:
            return
        length = timeline.end_samples / RATE
        self.store.end(recording.call_id, length, recording.size, recording.dropped)
        logger.info("recording of call %s: %.1f s, %d bytes%s", recording.call_id, length,
                    recording.size,
                    f", {recording.dropped} packets dropped" if recording.dropped else "")

    def _give_up(self, recording: Recording, codec: str) -> None:
        """The call's audio is in a codec the box cannot decode: no file of silence. What was
        recorded before (G.711 until a transfer, say) is kept, cut here; a file with no audio
        at all is removed. The index keeps the reason for the API and the panel."""
        timeline = recording.timeline
        problem = f"codec {codec}"
        logger.warning("recording of call %s given up: its audio is %s, which the box cannot "
                       "decode (it records G.711)", recording.call_id, codec)
        recording.given_up = problem
        self._active.pop(recording.call_id, None)
        keep = timeline.decoded > 0
        try:
            if keep:
                self._encode(recording, timeline.finish(timeline.heard_until() / RATE))
                self._write(recording, recording.writer.finish(
                    recording.pre_skip + timeline.end_samples * GRANULE_PER_SAMPLE))
                os.fdatasync(recording.fd)
        finally:
            self._close(recording)
        if not keep and recording.path:
            try:
                os.unlink(recording.path)
            except FileNotFoundError:
                pass
            recording.size = 0
        seconds = timeline.end_samples / RATE if keep else 0.0
        self.store.end(recording.call_id, seconds, recording.size, recording.dropped,
                       problem=problem)
        recording.inbox.clear()

    def _write(self, recording: Recording, data: bytes) -> None:
        if data:
            os.write(recording.fd, data)
            recording.size += len(data)

    def _close(self, recording: Recording) -> None:
        if recording.fd is not None:
            os.close(recording.fd)
            recording.fd = None
        if recording.encoder is not None:
            recording.encoder.close()

    def _fail(self, recording: Recording, exc: Exception) -> None:
        logger.error("recording of call %s stopped: %s", recording.call_id, exc)
        self._active.pop(recording.call_id, None)
        self._close(recording)
        try:
            self.store.end(recording.call_id, recording.frames * FRAME / RATE, recording.size,
                           recording.dropped)
        except OSError as inner:
            logger.error("recordings: index not written: %s", inner)

    # -- what the panel and /healthz show --------------------------------------------------
    @property
    def active_calls(self) -> frozenset[str]:
        # dict.copy() is atomic under the GIL: the loop and the worker change these dicts
        return frozenset(self._recording.copy()) | frozenset(self._active.copy())

    def health(self) -> dict:
        state = "unavailable" if self.unavailable else "low_disk" if self.low_disk else "ok"
        return {"state": state, "free_mb": self.guard.free() // (1024 * 1024),
                "min_free_mb": self.guard.min_free // (1024 * 1024),
                "recording_now": len(self._recording), "stored": len(self.store.entries),
                "disk_mb": round(self.store.total_bytes() / (1024 * 1024), 1)}


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)
