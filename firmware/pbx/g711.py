"""G.711 (mu-law, A-law) to and from 16-bit linear PCM: pure, table driven.

Why our own: `audioop` is deprecated (gone in Python 3.13) and a Pi needs no numpy for 160
samples every 20 ms. Decoding is a table look-up per byte; encoding uses a 64 K table built
once (on first use) from the ITU-T G.711 reference algorithm.
"""

from __future__ import annotations

import array
import sys

PCMU, PCMA = 0, 8          # static RTP payload types (RFC 3551)
NAMES = {PCMU: "pcmu/8000", PCMA: "pcma/8000"}


def _ulaw_to_linear(byte: int) -> int:
    byte = ~byte & 0xFF
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    sample = ((mantissa << 3) + 0x84) << exponent
    sample -= 0x84
    return -sample if sign else sample


def _alaw_to_linear(byte: int) -> int:
    byte ^= 0x55
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    sample = (mantissa << 4) + 8
    if exponent:
        sample = (sample + 0x100) << (exponent - 1)
    return sample if sign else -sample


def _linear_to_ulaw(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max(magnitude.bit_length() - 8, 0)
    exponent = min(exponent, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _linear_to_alaw(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(abs(sample), 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


_DECODE = {PCMU: [_ulaw_to_linear(b) for b in range(256)],
           PCMA: [_alaw_to_linear(b) for b in range(256)]}
_ENCODE: dict[int, bytes] = {}


def decode(payload: bytes, payload_type: int) -> array.array:
    """G.711 bytes -> signed 16-bit samples."""
    table = _DECODE[payload_type]
    return array.array("h", [table[b] for b in payload])


def _encoder(payload_type: int) -> bytes:
    table = _ENCODE.get(payload_type)
    if table is None:
        convert = _linear_to_ulaw if payload_type == PCMU else _linear_to_alaw
        table = _ENCODE[payload_type] = bytes(convert(s - 32768) for s in range(65536))
    return table


def encode(samples: array.array, payload_type: int) -> bytes:
    """Signed 16-bit samples -> G.711 bytes."""
    table = _encoder(payload_type)
    return bytes(table[s + 32768] for s in samples)


def pcm_bytes(samples: array.array) -> bytes:
    """Samples as little-endian 16-bit bytes (a WAV file's data)."""
    if sys.byteorder == "big":
        samples = array.array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def samples_of(data: bytes) -> array.array:
    """Little-endian 16-bit bytes -> samples."""
    samples = array.array("h")
    samples.frombytes(data[:len(data) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples
