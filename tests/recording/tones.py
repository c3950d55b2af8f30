"""G.711 test tones as RTP packets (shared by the recording unit and e2e tests)."""

from __future__ import annotations

import math
import struct

from firmware.recording.g711 import encode_ulaw


def ulaw_tone(frequency: float, seconds: float, rate: int = 8000,
              amplitude: int = 8000) -> bytes:
    count = int(seconds * rate)
    return bytes(encode_ulaw(int(amplitude * math.sin(2 * math.pi * frequency * n / rate)))
                 for n in range(count))


def rtp_packets(payload: bytes, *, ssrc: int = 0x1234, seq: int = 1, timestamp: int = 160,
                payload_type: int = 0, samples: int = 160) -> list[bytes]:
    packets = []
    for index in range(len(payload) // samples):
        header = struct.pack("!BBHII", 0x80, payload_type, (seq + index) & 0xFFFF,
                             (timestamp + index * samples) & 0xFFFFFFFF, ssrc)
        packets.append(header + payload[index * samples:(index + 1) * samples])
    return packets
