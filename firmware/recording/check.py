"""Reading a recording back: its length, whether it is whole, and its audio (for tests).

The panel uses `inspect` to tell a missing or truncated file from a good one; tests decode
a file with libopus and look for tones with `tone_power` (Goertzel: one frequency's power
without an FFT, in the standard library).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

from firmware.recording import ogg
from firmware.recording.opus import Decoder


@dataclass(frozen=True)
class FileState:
    state: str              # "ok", "missing", "truncated", "unreadable"
    seconds: float          # audio found in the file
    size: int


def inspect(path: Path) -> FileState:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return FileState("missing", 0.0, 0)
    except OSError:
        return FileState("unreadable", 0.0, 0)
    try:
        pages = list(ogg.read_pages(data))
    except ValueError:
        return FileState("unreadable", 0.0, len(data))
    if len(pages) < 2 or not pages[0].packets or not pages[0].packets[0].startswith(b"OpusHead"):
        return FileState("unreadable", 0.0, len(data))
    pre_skip = struct.unpack_from("<H", pages[0].packets[0], 10)[0]
    granule = max((p.granule for p in pages), default=0)
    seconds = max(granule - pre_skip, 0) / 48000
    whole = pages[-1].flags & ogg.FLAG_LAST and all(p.crc_ok for p in pages) and \
        sum(len(p.packets) for p in pages) > 0
    return FileState("ok" if whole else "truncated", seconds, len(data))


def decode_file(path: Path, rate: int = 48000) -> tuple[int, list[int], list[int]]:
    """(rate, left samples, right samples) of a stereo Opus-in-Ogg file, pre-skip removed."""
    packets, _ = ogg.read_packets(Path(path).read_bytes())
    head = packets[0]
    channels = head[9]
    pre_skip = struct.unpack_from("<H", head, 10)[0] * rate // 48000
    streams = (head[19], head[20], bytes(head[21:21 + channels])) if head[18] else None
    decoder = Decoder(rate, channels, streams=streams)
    pcm = b"".join(decoder.decode(p) for p in packets[2:])
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    left, right = list(samples[0::channels]), list(samples[channels - 1::channels])
    return rate, left[pre_skip:], right[pre_skip:]


def tone_power(samples: list[int], rate: int, frequency: float) -> float:
    """Goertzel: the power of `frequency` in `samples`, normalised by their count."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coefficient * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - coefficient * s1 * s2) / max(len(samples), 1) ** 2
