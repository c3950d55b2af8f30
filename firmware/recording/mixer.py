"""Two legs of RTP onto one stereo timeline: caller left, desk phone right.

Pure code (no clock, no thread): the recorder's worker feeds it packets with their arrival
time and asks for the frames that are due. Why it is shaped like this:
- Position: a leg's first packet is placed where it arrived (seconds since the answer times
  8000); later packets of the same stream follow their RTP timestamps from there, so jitter
  does not smear the audio. A new SSRC (a transfer, a re-INVITE to another phone) or
  timestamps that have run more than JUMP_SAMPLES away from the arrival time anchor anew.
- Gaps (silence suppression, hold, packets lost or dropped on overflow) stay silence, so the
  file lasts the talk time: `finish(end)` pads or cuts to exactly `end` samples.
- A frame is given out only `delay` seconds after its time, so late packets still land;
  what arrives for a frame already given out is dropped.
"""

from __future__ import annotations

import struct

from firmware.recording import g711

RATE = 8000
FRAME = 480                      # 60 ms at 8 kHz: one Opus packet (long frames: least CPU)
FRAME_BYTES = FRAME * 2
JUMP_SAMPLES = RATE              # 1 s between timestamp and arrival: anchor anew
MAX_AHEAD = 10 * RATE            # never buffer more than this beyond what was given out
LEGS = ("a", "b")                # a: the caller (trunk) side -> left; b: desk phone -> right


class _Leg:
    __slots__ = ("ssrc", "anchor_ts", "anchor_pos", "buffer")

    def __init__(self) -> None:
        self.ssrc: int | None = None
        self.anchor_ts = 0
        self.anchor_pos = 0
        self.buffer = bytearray()        # PCM from the timeline's `emitted` sample on


def rtp_payload(packet: bytes) -> tuple[int, int, int, bytes] | None:
    """(payload type, timestamp, ssrc, payload) of an RTP packet; None when malformed."""
    if len(packet) < 12 or packet[0] >> 6 != 2:
        return None
    first, second, _, timestamp, ssrc = struct.unpack_from("!BBHII", packet)
    start = 12 + 4 * (first & 0x0F)
    if first & 0x10:                                   # header extension
        if len(packet) < start + 4:
            return None
        start += 4 + 4 * struct.unpack_from("!H", packet, start + 2)[0]
    end = len(packet)
    if first & 0x20 and end > start:                  # padding: the last byte says how much
        end -= packet[-1]
    if end <= start:
        return None
    return second & 0x7F, timestamp, ssrc, packet[start:end]


class StereoTimeline:
    def __init__(self, delay: float = 0.3) -> None:
        self.delay_samples = int(delay * RATE)
        self.emitted = 0                     # samples given out so far (per channel)
        self.legs = {name: _Leg() for name in LEGS}
        self.late = 0                        # packets that came after their frame went out
        self.ignored = 0                     # not G.711 (telephone-event, comfort noise, junk)

    def put(self, leg: str, arrival: float, packet: bytes, _head=struct.Struct("!II")) -> None:
        """One RTP packet of `leg`, arrived `arrival` seconds after the answer."""
        if packet[0] == 0x80 and len(packet) > 12:        # the usual: no CSRC, ext, padding
            payload_type = packet[1] & 0x7F
            timestamp, ssrc = _head.unpack_from(packet, 4)
            pcm = g711.decode(packet[12:], payload_type)
        else:
            parsed = rtp_payload(packet)
            pcm = g711.decode(parsed[3], parsed[0]) if parsed is not None else None
            if pcm is not None:
                timestamp, ssrc = parsed[1], parsed[2]
        if pcm is None:
            self.ignored += 1
            return
        state = self.legs[leg]
        heard_at = int(arrival * RATE)
        if state.ssrc is not None and ssrc == state.ssrc:
            delta = (timestamp - state.anchor_ts) & 0xFFFFFFFF
            if delta >= 1 << 31:
                delta -= 1 << 32                      # a little older than the anchor
            position = state.anchor_pos + delta
            if abs(position - heard_at) > JUMP_SAMPLES:
                position = self._anchor(state, ssrc, timestamp, heard_at)
        else:
            position = self._anchor(state, ssrc, timestamp, heard_at)
        self._write(state, position, pcm)

    @staticmethod
    def _anchor(state: _Leg, ssrc: int, timestamp: int, position: int) -> int:
        state.ssrc, state.anchor_ts, state.anchor_pos = ssrc, timestamp, position
        return position

    def _write(self, state: _Leg, position: int, pcm: bytes) -> None:
        offset = position - self.emitted
        if offset < 0:                                # partly or wholly too late
            pcm = pcm[-2 * offset:]
            offset = 0
            if not pcm:
                self.late += 1
                return
        if offset > MAX_AHEAD:
            return
        start = 2 * offset
        buffer = state.buffer
        if len(buffer) == start:                     # the usual: right after the last one
            buffer += pcm
            return
        end = start + len(pcm)
        if len(buffer) < end:
            buffer.extend(bytes(end - len(buffer)))
        buffer[start:end] = pcm

    def due(self, now: float) -> list[bytes]:
        """Stereo frames (interleaved 16-bit PCM) whose time is `delay` before `now`."""
        upto = int(now * RATE) - self.delay_samples
        return self._frames((upto - self.emitted) // FRAME)

    def finish(self, end: float) -> list[bytes]:
        """Every remaining frame up to `end` seconds (silence where nothing came)."""
        total = int(round(end * RATE / FRAME))
        return self._frames(total - self.emitted // FRAME)

    def _frames(self, count: int) -> list[bytes]:
        frames = []
        for _ in range(max(count, 0)):
            left = self._take(self.legs["a"])
            right = self._take(self.legs["b"])
            stereo = bytearray(2 * FRAME_BYTES)
            stereo[0::4], stereo[1::4] = left[0::2], left[1::2]
            stereo[2::4], stereo[3::4] = right[0::2], right[1::2]
            frames.append(bytes(stereo))
            self.emitted += FRAME
        return frames

    @staticmethod
    def _take(state: _Leg) -> bytes:
        buffer = state.buffer
        chunk = bytes(buffer[:FRAME_BYTES])
        del buffer[:FRAME_BYTES]
        if len(chunk) < FRAME_BYTES:
            chunk += bytes(FRAME_BYTES - len(chunk))
        return chunk
