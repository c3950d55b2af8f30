"""G.711 (ITU-T G.711: PCMU, PCMA) to 16-bit PCM, a whole batch of packets per call.

Why audioop with a table fallback: the recorder decodes a batch of packets (a quarter second
of one leg) in one call, so the per-call cost is what counts. The stdlib's C `audioop`
(present in Python 3.11, the box's Python) decodes 12 packets in ~1.7 us; the fallback, two
`bytes.translate` passes and two slice assignments, in ~8 us. audioop is deprecated (PEP 594)
and gone in Python 3.13: there the fallback runs, giving the same samples (a test compares
them byte for byte), at a cost still far below the Opus encoder's.

The PCM is in the machine's byte order (audioop's; little-endian on every Pi and PC), which
is what libopus's `opus_int16` input expects.
"""

from __future__ import annotations

import sys
import warnings

try:
    with warnings.catch_warnings():          # the DeprecationWarning of PEP 594, on import
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop as _audioop
except ImportError:                          # Python 3.13 and later
    _audioop = None

PCMU, PCMA = 0, 8      # static RTP payload types (RFC 3551 table 4)
LAW_OF_NAME = {"pcmu/8000": PCMU, "pcma/8000": PCMA}     # sdp.format_names' spelling


def _ulaw(byte: int) -> int:
    byte = ~byte & 0xFF
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    value = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -value if sign else value


def _alaw(byte: int) -> int:
    byte ^= 0x55
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    value = (mantissa << 4) + 8
    if exponent:
        value = (value + 0x100) << (exponent - 1)
    return value if sign else -value


def _tables(decode) -> tuple[bytes, bytes]:
    """(first byte, second byte) of each code's sample, in the machine's byte order."""
    values = [decode(b) & 0xFFFF for b in range(256)]
    low, high = bytes(v & 0xFF for v in values), bytes(v >> 8 for v in values)
    return (low, high) if sys.byteorder == "little" else (high, low)


_TABLES = {PCMU: _tables(_ulaw), PCMA: _tables(_alaw)}


def decode_tables(payload: bytes, law: int) -> bytearray | None:
    """The pure fallback of `decode` (also used when audioop is gone)."""
    tables = _TABLES.get(law)
    if tables is None:
        return None
    out = bytearray(2 * len(payload))
    out[0::2] = payload.translate(tables[0])
    out[1::2] = payload.translate(tables[1])
    return out


if _audioop is not None:
    _C_DECODERS = {PCMU: _audioop.ulaw2lin, PCMA: _audioop.alaw2lin}

    def decode(payload: bytes, law: int) -> bytes | bytearray | None:
        """16-bit PCM of PCMU or PCMA bytes (any number of packets' payloads joined);
        None for another payload type."""
        decoder = _C_DECODERS.get(law)
        return decoder(payload, 2) if decoder is not None else None
else:
    decode = decode_tables

FAST = _audioop is not None      # for docs and the bench's note


def encode_ulaw(sample: int) -> int:
    """One 16-bit sample as PCMU (for test tones)."""
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), 32635) + 0x84
    exponent = max(sample.bit_length() - 8, 0)
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF
