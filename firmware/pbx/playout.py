"""Sending audio from the box itself: prompts as RTP at 20 ms pacing on a relay leg.

`RtpPacketizer` is pure (header fields in, bytes out). `Playout` paces it on the event loop
against absolute times (`loop.call_at`), so a late wake-up sends the frames it owes instead
of drifting; it sends through the leg's own socket to wherever the relay would send that
party's audio (the latched source, else the SDP address), so NAT and strict source behave as
for relayed audio. Items play in order; `skip()` moves to the next (a DTMF key), `stop()` ends
without telling anyone, and `on_done` is called once when the last item has been sent.
"""

from __future__ import annotations

import array
import asyncio
import logging
import secrets
import struct
from typing import Callable

from firmware.pbx import g711

logger = logging.getLogger(__name__)

FRAME = 160                 # samples per 20 ms at 8 kHz
FRAME_SECONDS = 0.02
MAX_CATCH_UP = 5            # frames sent at once after a late wake-up, at most


class RtpPacketizer:
    """RTP headers for one stream the box sends (RFC 3550)."""

    def __init__(self, payload_type: int, ssrc: int | None = None) -> None:
        self.payload_type = payload_type
        self.ssrc = secrets.randbits(32) if ssrc is None else ssrc
        self.sequence = secrets.randbits(16)
        self.timestamp = secrets.randbits(32)
        self.marker = True          # the first packet of a talk spurt

    def packet(self, samples: array.array) -> bytes:
        payload = g711.encode(samples, self.payload_type)
        header = struct.pack("!BBHII", 0x80, (0x80 if self.marker else 0) | self.payload_type,
                             self.sequence, self.timestamp, self.ssrc)
        self.marker = False
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + len(samples)) & 0xFFFFFFFF
        return header + payload


def frames(samples: array.array) -> list[array.array]:
    """20 ms frames; the last one padded with silence."""
    out = []
    for start in range(0, len(samples), FRAME):
        frame = samples[start:start + FRAME]
        if len(frame) < FRAME:
            frame.extend(array.array("h", bytes(2 * (FRAME - len(frame)))))
        out.append(frame)
    return out


class Playout:
    """Plays `items` (lists of samples) to `send(packet)`; see the module docstring."""

    def __init__(self, send: Callable[[bytes], None], items: list[array.array],
                 payload_type: int, *, on_done: Callable[[], None] = lambda: None,
                 repeat: bool = False, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.send = send
        self.items = [frames(item) for item in items if len(item)]
        self.rtp = RtpPacketizer(payload_type)
        self.on_done = on_done
        self.repeat = repeat
        self.loop = loop or asyncio.get_running_loop()
        self.item = self.frame = 0
        self.sent = 0
        self.finished = False
        self._handle: asyncio.TimerHandle | None = None
        self._next_at = 0.0

    def start(self) -> None:
        self._next_at = self.loop.time()
        self._tick()

    def skip(self) -> None:
        """On to the next item (the caller pressed a key)."""
        self.item, self.frame = self.item + 1, 0

    def stop(self) -> None:
        self.finished = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        self._handle = None
        if self.finished:
            return
        now = self.loop.time()
        owed = 0
        while self._next_at <= now and owed < MAX_CATCH_UP:
            if not self._send_one():
                self.finished = True
                try:
                    self.on_done()
                except Exception:  # noqa: BLE001 -- a callback bug must not kill the loop
                    logger.exception("playout: on_done failed")
                return
            self._next_at += FRAME_SECONDS
            owed += 1
        if self._next_at < now:            # far behind (a stalled loop): start afresh
            self._next_at = now + FRAME_SECONDS
        self._handle = self.loop.call_at(self._next_at, self._tick)

    def _send_one(self) -> bool:
        while self.item < len(self.items) and self.frame >= len(self.items[self.item]):
            self.item, self.frame = self.item + 1, 0
        if self.item >= len(self.items):
            if not self.repeat or not self.items:
                return False
            self.item = self.frame = 0
        packet = self.rtp.packet(self.items[self.item][self.frame])
        self.frame += 1
        self.sent += 1
        try:
            self.send(packet)
        except OSError as exc:
            logger.debug("playout: send failed: %s", exc)
        return True
