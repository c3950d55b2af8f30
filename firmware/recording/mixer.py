"""Two legs of RTP onto one stereo timeline: caller left, desk phone right.

Pure code (no clock, no thread): the recorder's worker hands it each leg's packets in
batches (all that arrived since its last turn, a quarter second) and asks for the frames
that are due. Why it is shaped like this:
- Batches, not packets: per-packet Python was most of the recorder's cost. A batch is cut
  into runs of packets that follow each other (same stream, same law, each one's timestamp
  where the last one ended: the usual case, the whole batch is one run); a run is joined and
  decoded by one C call (g711.decode) and written by one slice assignment.
- Position: a leg's first packet is placed where it arrived (seconds since the answer times
  8000); later packets of the same stream follow their RTP timestamps from there, so jitter
  does not smear the audio. A new SSRC (a transfer, a re-INVITE to another phone) or
  timestamps that have run more than JUMP_SAMPLES away from the arrival time anchor anew.
  A reordered packet starts a run of its own and lands at its place; a duplicate overwrites
  the same samples with the same audio.
- The codec: `laws` maps payload types to G.711 laws (from the SDP both parties sent, see
  laws_for) or to the name of a codec the box cannot decode: those packets are counted in
  `undecodable` (the recorder then gives the recording up and says why, instead of writing
  silence). Telephone-event, comfort noise and unknown types are skipped (`ignored`).
- Gaps (silence suppression, hold, packets lost or dropped on overflow) stay silence, so
  the file lasts the talk time: `finish(end)` pads to whole frames and says in `end_samples`
  where the talk ended (the Ogg end trim, RFC 7845 4.5, cuts the file there).
- A frame is given out only `delay` seconds after its time, so late packets still land;
  what arrives for a frame already given out is dropped.
"""

from __future__ import annotations

import struct
from typing import Iterable, Mapping

from firmware.recording import g711

RATE = 8000
FRAME = 960                      # 120 ms at 8 kHz: one Opus packet (the longest: least CPU)
FRAME_BYTES = FRAME * 2
JUMP_SAMPLES = RATE              # 1 s between timestamp and arrival: anchor anew
MAX_AHEAD = 10 * RATE            # never buffer more than this beyond what was given out
LEGS = ("a", "b")                # a: the caller (trunk) side -> left; b: desk phone -> right
STATIC_LAWS: dict[int, int | str] = {
    g711.PCMU: g711.PCMU, g711.PCMA: g711.PCMA,
    # static types of codecs the box cannot decode (RFC 3551 table 4)
    3: "gsm/8000", 4: "g723/8000", 9: "g722/8000", 18: "g729/8000"}
NOT_AUDIO = frozenset({"telephone-event", "cn"})    # skipped, never a reason to give up

_HEAD = struct.Struct("!II")


def laws_for(own: Mapping[str, str] | None,
             peer: Mapping[str, str] | None) -> dict[int, int | str]:
    """Payload type -> G.711 law, or codec name, for the packets one party sends.

    `own` and `peer` are sdp.format_names of the SDP this party and the other party sent
    (payload type as text -> "encoding/clock"). RFC 3264: a sender uses the numbers of the
    receiver's SDP, so the peer's map wins where the two differ. None: no SDP known (the
    static types only)."""
    laws = dict(STATIC_LAWS)
    for names in (own, peer):
        for pt, name in (names or {}).items():
            if not pt.isdigit() or not name:
                continue
            if name in g711.LAW_OF_NAME:
                laws[int(pt)] = g711.LAW_OF_NAME[name]
            elif name.partition("/")[0] in NOT_AUDIO:
                laws.pop(int(pt), None)
            else:
                laws[int(pt)] = name
    return laws


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
        self.end_samples: int | None = None  # set by finish(): where the talk ended
        self.legs = {name: _Leg() for name in LEGS}
        self.late = 0                        # packets that came after their frame went out
        self.ignored = 0                     # telephone-event, comfort noise, unknown, junk
        self.decoded = 0                     # G.711 packets placed
        self.undecodable: dict[str, int] = {}   # codec name -> packets the box cannot decode

    def put(self, leg: str, arrival: float, packet: bytes,
            laws: Mapping[int, int | str] | None = None) -> None:
        """One RTP packet of `leg`, arrived `arrival` seconds after the answer."""
        self.put_batch(leg, ((arrival, packet),), laws)

    def put_batch(self, leg: str, items: Iterable[tuple[float, bytes]],
                  laws: Mapping[int, int | str] | None = None, origin: float = 0.0) -> None:
        """`leg`'s packets in arrival order: (arrival, packet), arrival in seconds since
        `origin` (the answer). `laws`: see laws_for (None: the static types)."""
        laws = STATIC_LAWS if laws is None else laws
        state = self.legs[leg]
        unpack, decode = _HEAD.unpack_from, g711.decode
        run: list[bytes] = []
        run_law = run_start = run_end = 0
        placed = 0
        for arrival, packet in items:
            if packet[0] == 0x80 and len(packet) > 12:        # no CSRC, extension, padding
                law = laws.get(packet[1] & 0x7F)
                timestamp, ssrc = unpack(packet, 4)
                payload = packet[12:]
            else:
                parsed = rtp_payload(packet)
                if parsed is None:
                    self.ignored += 1
                    continue
                law = laws.get(parsed[0])
                timestamp, ssrc, payload = parsed[1], parsed[2], parsed[3]
            if law is None:
                self.ignored += 1
                continue
            if law.__class__ is str:
                self.undecodable[law] = self.undecodable.get(law, 0) + 1
                continue
            heard_at = int((arrival - origin) * RATE)
            if ssrc == state.ssrc:
                delta = (timestamp - state.anchor_ts) & 0xFFFFFFFF
                if delta >= 0x80000000:
                    delta -= 0x100000000              # a little older than the anchor
                position = state.anchor_pos + delta
                if not -JUMP_SAMPLES <= position - heard_at <= JUMP_SAMPLES:
                    state.anchor_ts, state.anchor_pos = timestamp, heard_at
                    position = heard_at
            else:
                state.ssrc, state.anchor_ts, state.anchor_pos = ssrc, timestamp, heard_at
                position = heard_at
            if run and (position != run_end or law != run_law):
                self._write(state, run_start, decode(b"".join(run), run_law))
                run = []
            if not run:
                run_start, run_law = position, law
            run.append(payload)
            run_end = position + len(payload)
            placed += 1
        if run:
            self._write(state, run_start, decode(b"".join(run), run_law))
        self.decoded += placed

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

    def heard_until(self) -> int:
        """The sample where the last audio placed so far ends (either leg)."""
        return self.emitted + max(len(leg.buffer) for leg in self.legs.values()) // 2

    def due(self, now: float) -> list[bytes]:
        """Stereo frames (interleaved 16-bit PCM) whose time is `delay` before `now`."""
        upto = int(now * RATE) - self.delay_samples
        return self._frames((upto - self.emitted) // FRAME)

    def finish(self, end: float) -> list[bytes]:
        """Every remaining frame up to `end` seconds (silence where nothing came), the last
        one padded; `end_samples` then says where the talk ended (never before what was
        given out already)."""
        total = max(int(round(end * RATE)), self.emitted)
        self.end_samples = total
        return self._frames(-(-total // FRAME) - self.emitted // FRAME)

    def _frames(self, count: int) -> list[bytes]:
        if count <= 0:
            return []
        size = count * FRAME_BYTES
        left, right = self._take(self.legs["a"], size), self._take(self.legs["b"], size)
        stereo = bytearray(2 * size)                 # one interleave for the whole batch
        stereo[0::4], stereo[1::4] = left[0::2], left[1::2]
        stereo[2::4], stereo[3::4] = right[0::2], right[1::2]
        self.emitted += count * FRAME
        step = 2 * FRAME_BYTES
        return [bytes(stereo[i:i + step]) for i in range(0, 2 * size, step)]

    @staticmethod
    def _take(state: _Leg, size: int) -> bytes:
        buffer = state.buffer
        chunk = bytes(buffer[:size])
        del buffer[:size]
        if len(chunk) < size:
            chunk += bytes(size - len(chunk))
        return chunk
