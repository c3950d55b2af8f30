"""A caller's message from RTP to WAV: G.711 decoded to 8 kHz mono 16-bit PCM.

Fed one RTP packet at a time from the relay's tap (the caller's leg only). Samples are
placed by RTP timestamp, so a lost packet leaves 20 ms of silence instead of shortening the
message, and a packet arriving late or twice is dropped. Written to `<id>.wav.part` as it
comes (the wave module patches the header on close); `close()` returns the length.
DTMF (RFC 4733 telephone-event) is reported through `on_digit` once per key press.
"""

from __future__ import annotations

import array
import logging
import struct
import wave
from pathlib import Path
from typing import Callable

from firmware.pbx import g711

logger = logging.getLogger(__name__)

RATE = 8000
MAX_GAP = RATE * 2          # a jump in timestamps beyond this is a new stream, not a loss
DTMF_KEYS = "0123456789*#ABCD"


def parse_rtp(packet: bytes) -> tuple[int, int, int, bytes] | None:
    """(payload type, sequence, timestamp, payload) or None for what is not RTP we use."""
    if len(packet) < 12 or packet[0] >> 6 != 2:
        return None
    first, second, sequence, timestamp = struct.unpack_from("!BBHI", packet)
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:                      # header extension
        if len(packet) < offset + 4:
            return None
        offset += 4 + 4 * struct.unpack_from("!H", packet, offset + 2)[0]
    end = len(packet)
    if first & 0x20:                      # padding
        end -= packet[-1]
    if offset > end:
        return None
    return second & 0x7F, sequence, timestamp, packet[offset:end]


class DigitListener:
    """RFC 4733 key presses of one stream, each reported once (its end is sent 3 times)."""

    def __init__(self, event_pt: int | None, on_digit: Callable[[str], None]) -> None:
        self.event_pt = event_pt
        self.on_digit = on_digit
        self._last: tuple[int, int] | None = None

    def packet(self, data: bytes) -> None:
        parsed = parse_rtp(data)
        if parsed is not None and parsed[0] == self.event_pt:
            self.event(parsed[2], parsed[3])

    def event(self, timestamp: int, payload: bytes) -> None:
        if len(payload) < 4 or not payload[1] & 0x80:    # wait for the end of the event
            return
        key = (timestamp, payload[0])
        if key == self._last:
            return
        self._last = key
        if payload[0] < len(DTMF_KEYS):
            self.on_digit(DTMF_KEYS[payload[0]])


class MessageRecorder:
    def __init__(self, path: Path, max_seconds: float, *, event_pt: int | None = None,
                 on_digit: Callable[[str], None] = lambda key: None,
                 on_full: Callable[[], None] = lambda: None) -> None:
        self.path = path
        self.max_samples = int(max_seconds * RATE)
        self.event_pt = event_pt
        self.digits = DigitListener(event_pt, on_digit)
        self.on_full = on_full
        self.written = 0
        self.full = False                 # max_seconds reached: on_full said once
        self._first_ts: int | None = None
        self._wav = wave.open(str(path), "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(RATE)
        self.closed = False

    @property
    def seconds(self) -> float:
        return self.written / RATE

    def packet(self, data: bytes) -> None:
        if self.closed or self.full:
            return
        parsed = parse_rtp(data)
        if parsed is None:
            return
        payload_type, _, timestamp, payload = parsed
        if payload_type == self.event_pt and self.event_pt is not None:
            self.digits.event(timestamp, payload)
            return
        if payload_type not in (g711.PCMU, g711.PCMA) or not payload:
            return
        if self._first_ts is None:
            self._first_ts = timestamp
        position = (timestamp - self._first_ts) & 0xFFFFFFFF
        if position < self.written:
            return                        # late or repeated
        gap = position - self.written
        if gap > MAX_GAP:                 # the far end restarted its clock: carry on
            self._first_ts = (timestamp - self.written) & 0xFFFFFFFF
            gap = 0
        samples = array.array("h", bytes(2 * gap))
        samples.extend(g711.decode(payload, payload_type))
        room = self.max_samples - self.written
        if len(samples) >= room:
            self._write(samples[:room])
            self.full = True
            self.on_full()
            return
        self._write(samples)

    def _write(self, samples: array.array) -> None:
        if samples:
            # raw: the header is patched once, on close (not a seek per packet)
            self._wav.writeframesraw(g711.pcm_bytes(samples))
            self.written += len(samples)

    def close(self) -> float:
        if not self.closed:
            self.closed = True
            self._wav.close()
        return self.seconds
