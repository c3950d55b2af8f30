"""libopus through ctypes: an encoder for recordings, a decoder for checks and tests.

Why ctypes: libopus0 is a Debian package on every Pi (Raspberry Pi OS ships it for its
browsers); a Python binding would be one more wheel to build for armv7. Only five calls are
needed. A missing library raises OpusUnavailable: the box then records nothing and says so.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

APPLICATION_VOIP = 2048
APPLICATION_RESTRICTED_LOWDELAY = 2051     # CELT only: half the CPU of SILK (docs/recordings.md)
SET_BITRATE = 4002
SET_VBR = 4006
SET_COMPLEXITY = 4010
SET_SIGNAL = 4024
GET_LOOKAHEAD = 4027
SIGNAL_VOICE = 3001
MAX_PACKET = 1500

_lib: ctypes.CDLL | None = None


class OpusError(Exception):
    """libopus refused (a bad argument, a corrupt packet)."""


class OpusUnavailable(OpusError, OSError):
    """libopus is not installed (Debian: libopus0)."""


def library() -> ctypes.CDLL:
    """The loaded libopus (once); OpusUnavailable when it is not installed."""
    global _lib
    if _lib is None:
        name = ctypes.util.find_library("opus") or "libopus.so.0"
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            raise OpusUnavailable(f"libopus not found ({exc}); apt install libopus0") from None
        lib.opus_encoder_create.restype = ctypes.c_void_p
        lib.opus_encoder_create.argtypes = [ctypes.c_int32, ctypes.c_int,
                                            ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.opus_encode.restype = ctypes.c_int32
        lib.opus_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                    ctypes.c_char_p, ctypes.c_int32]
        lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
        lib.opus_encoder_ctl.restype = ctypes.c_int
        lib.opus_decoder_create.restype = ctypes.c_void_p
        lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int,
                                            ctypes.POINTER(ctypes.c_int)]
        lib.opus_decode.restype = ctypes.c_int
        lib.opus_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32,
                                    ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
        lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        ms_create = lib.opus_multistream_encoder_create
        ms_create.restype = ctypes.c_void_p
        ms_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                              ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.opus_multistream_encode.restype = ctypes.c_int
        lib.opus_multistream_encode.argtypes = lib.opus_encode.argtypes
        lib.opus_multistream_encoder_destroy.argtypes = [ctypes.c_void_p]
        lib.opus_multistream_encoder_ctl.restype = ctypes.c_int
        ms_decoder = lib.opus_multistream_decoder_create
        ms_decoder.restype = ctypes.c_void_p
        ms_decoder.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                               ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
        lib.opus_multistream_decode.restype = ctypes.c_int
        lib.opus_multistream_decode.argtypes = lib.opus_decode.argtypes
        lib.opus_multistream_decoder_destroy.argtypes = [ctypes.c_void_p]
        lib.opus_strerror.restype = ctypes.c_char_p
        lib.opus_strerror.argtypes = [ctypes.c_int]
        lib.opus_get_version_string.restype = ctypes.c_char_p
        _lib = lib
    return _lib


def version() -> str:
    return library().opus_get_version_string().decode()


def _check(lib: ctypes.CDLL, code: int, what: str) -> int:
    if code < 0:
        raise OpusError(f"{what}: {lib.opus_strerror(code).decode()}")
    return code


class Encoder:
    """Interleaved 16-bit PCM frames in, Opus packets out.

    `separate=True` (stereo only) codes each channel as its own mono stream (RFC 7845
    channel mapping family 1, no coupled stream): joint stereo at a speech bitrate lets the
    caller leak into the desk phone's channel; two mono streams keep the parties apart.
    """

    def __init__(self, rate: int = 8000, channels: int = 2, *, bitrate: int = 20000,
                 complexity: int = 2, separate: bool = False,
                 application: int = APPLICATION_VOIP) -> None:
        lib = self._lib = library()
        error = ctypes.c_int()
        self.separate = separate and channels == 2
        if self.separate:
            self._state = lib.opus_multistream_encoder_create(
                rate, 2, 2, 0, bytes([0, 1]), application, ctypes.byref(error))
            ctl, self._encode = lib.opus_multistream_encoder_ctl, lib.opus_multistream_encode
            self._destroy = lib.opus_multistream_encoder_destroy
        else:
            self._state = lib.opus_encoder_create(rate, channels, application,
                                                  ctypes.byref(error))
            ctl, self._encode = lib.opus_encoder_ctl, lib.opus_encode
            self._destroy = lib.opus_encoder_destroy
        _check(lib, error.value, "opus_encoder_create")
        self.rate, self.channels = rate, channels
        for request, value in ((SET_BITRATE, bitrate), (SET_COMPLEXITY, complexity),
                               (SET_SIGNAL, SIGNAL_VOICE), (SET_VBR, 1)):
            _check(lib, ctl(ctypes.c_void_p(self._state), ctypes.c_int(request),
                            ctypes.c_int32(value)), f"ctl {request}")
        lookahead = ctypes.c_int32()
        _check(lib, ctl(ctypes.c_void_p(self._state), ctypes.c_int(GET_LOOKAHEAD),
                        ctypes.byref(lookahead)), "lookahead")
        self.lookahead = lookahead.value          # in samples at `rate`
        self._out = ctypes.create_string_buffer(MAX_PACKET)

    def encode(self, pcm: bytes) -> bytes:
        """One frame (2.5-60 ms: len(pcm) // (2 * channels) samples per channel)."""
        samples = len(pcm) // (2 * self.channels)
        size = _check(self._lib, self._encode(self._state, pcm, samples, self._out, MAX_PACKET),
                      "opus_encode")
        return ctypes.string_at(self._out, size)     # the packet only, not the whole buffer

    def close(self) -> None:
        if getattr(self, "_state", None):
            self._destroy(self._state)
            self._state = None

    __del__ = close


class Decoder:
    """Opus packets in, interleaved 16-bit PCM out (for checks and tests)."""

    def __init__(self, rate: int = 48000, channels: int = 2, *,
                 streams: tuple[int, int, bytes] | None = None) -> None:
        """`streams`: (streams, coupled, mapping) of a channel mapping family 1 file."""
        lib = self._lib = library()
        error = ctypes.c_int()
        if streams is not None:
            self._state = lib.opus_multistream_decoder_create(
                rate, channels, streams[0], streams[1], streams[2], ctypes.byref(error))
            self._decode, self._destroy = (lib.opus_multistream_decode,
                                           lib.opus_multistream_decoder_destroy)
        else:
            self._state = lib.opus_decoder_create(rate, channels, ctypes.byref(error))
            self._decode, self._destroy = lib.opus_decode, lib.opus_decoder_destroy
        _check(lib, error.value, "opus_decoder_create")
        self.rate, self.channels = rate, channels
        self._max = rate * 120 // 1000          # the longest Opus packet: 120 ms
        self._pcm = ctypes.create_string_buffer(self._max * channels * 2)

    def decode(self, packet: bytes) -> bytes:
        samples = _check(self._lib, self._decode(self._state, packet, len(packet), self._pcm,
                                                 self._max, 0), "opus_decode")
        return self._pcm.raw[:samples * self.channels * 2]

    def close(self) -> None:
        if getattr(self, "_state", None):
            self._destroy(self._state)
            self._state = None

    __del__ = close
