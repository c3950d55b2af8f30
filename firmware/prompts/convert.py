"""The owner's audio (WAV, MP3, ...) to an 8 kHz mono prompt, with ffmpeg from Debian.

ffmpeg runs as a subprocess with a time limit, reading the upload from a temporary file and
writing a temporary WAV; only a file that decoded, is not silent-empty and is not longer than
the limit replaces the old prompt (atomically). Anything else raises `NotAudio` with a
sentence for the owner, and the old prompt stays.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from firmware.atomic import atomic_write
from firmware.prompts.library import RATE, read_wav

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class NotAudio(ValueError):
    """The upload cannot become a prompt; `code` says why (the panel words it), `limit` is
    the number the reason names."""

    def __init__(self, code: str, text: str, limit: int = 0) -> None:
        super().__init__(text)
        self.code = code
        self.limit = limit


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


def convert(data: bytes, dest: Path, max_seconds: int) -> float:
    """Decode `data`, check it, and replace `dest` with it; returns its length in seconds."""
    if not data:
        raise NotAudio("empty", "the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise NotAudio("too_big", "the file is too large", MAX_UPLOAD_BYTES // (1024 * 1024))
    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        raise NotAudio("no_ffmpeg", "ffmpeg is not installed on the box")
    with tempfile.TemporaryDirectory(prefix="callbox-prompt-") as work:
        source, out = Path(work) / "upload", Path(work) / "out.wav"
        source.write_bytes(data)
        # -t: decode one second past the limit at most, so a 2-hour file costs no more
        # than a long one and is still known to be too long.
        command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                   "-i", str(source), "-vn", "-t", str(max_seconds + 1), "-ac", "1",
                   "-ar", str(RATE), "-c:a", "pcm_s16le", "-f", "wav", str(out)]
        try:
            result = subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS,
                                    check=False, env={**os.environ, "LC_ALL": "C"})
        except subprocess.TimeoutExpired:
            raise NotAudio("timeout", "converting the file took too long") from None
        if result.returncode != 0 or not out.is_file():
            why = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["-"]
            logger.info("prompts: ffmpeg refused an upload: %s", why[0][:200])
            raise NotAudio("not_audio", "not audio the box can read (WAV or MP3)")
        try:
            samples = read_wav(out)
        except ValueError:
            raise NotAudio("not_audio", "not audio the box can read (WAV or MP3)") from None
        seconds = len(samples) / RATE
        if seconds < 0.2:
            raise NotAudio("silent", "the file holds no audio")
        if seconds > max_seconds:
            raise NotAudio("too_long", f"longer than {max_seconds} seconds", max_seconds)
        atomic_write(dest, out.read_bytes(), 0o644)
    logger.info("prompts: %s replaced (%.1f s)", dest.name, seconds)
    return seconds
