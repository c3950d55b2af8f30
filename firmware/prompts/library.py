"""Where each prompt comes from, and audio that never fails to load.

A prompt is 8 kHz mono 16-bit PCM (what G.711 carries). Lookup order for a name:
  1. the owner's own file in `data/prompts/` (an uploaded or dialled greeting, music on hold);
  2. the default made at build time by `make prompts` (espeak-ng; build/prompts/<lang>/);
  3. a tone generated here (a beep, a short chime), so a missing or damaged file never
     leaves a caller in silence and never raises into the call path.
"""

from __future__ import annotations

import array
import logging
import math
import re
import wave
from pathlib import Path

from firmware.pbx import g711

logger = logging.getLogger(__name__)

RATE = 8000
NAMES = ("greeting", "notice", "beep", "no_messages", "moh")
LANGUAGES = {"PL": "pl", "RU": "ru", "BG": "bg"}   # box.country -> prompt language; else en
PACKAGE_BUILD = Path(__file__).resolve().parents[2] / "build" / "prompts"
SYSTEM_BUILD = Path("/usr/share/callbox/prompts")
MAX_PROMPT_SECONDS = 600          # anything longer on disk is cut (a bad file, not a prompt)


def language_for(country: str) -> str:
    return LANGUAGES.get((country or "").upper(), "en")


def tone(frequency: float, seconds: float, volume: float = 0.3,
         rate: int = RATE) -> array.array:
    """A sine tone with 10 ms fades (no clicks)."""
    count = int(seconds * rate)
    fade = max(1, int(0.01 * rate))
    out = array.array("h", bytes(2 * count))
    for i in range(count):
        gain = min(1.0, i / fade, (count - i) / fade)
        out[i] = int(32767 * volume * gain * math.sin(2 * math.pi * frequency * i / rate))
    return out


def silence(seconds: float, rate: int = RATE) -> array.array:
    return array.array("h", bytes(2 * int(seconds * rate)))


def generated(name: str) -> array.array:
    """The built-in stand-in for a prompt: a beep for "beep", a gentle three-note chime
    (repeated) for music on hold, two soft tones for anything else."""
    if name == "beep":
        return tone(1000, 0.35)
    if name == "moh":
        notes = array.array("h")
        for frequency in (523.25, 659.25, 783.99, 659.25):
            notes.extend(tone(frequency, 0.45, 0.15))
            notes.extend(silence(0.05))
        return notes
    out = tone(660, 0.25, 0.2)
    out.extend(silence(0.1))
    out.extend(tone(520, 0.25, 0.2))
    out.extend(silence(0.3))
    return out


def read_wav(path: Path) -> array.array:
    """An 8 kHz mono 16-bit WAV's samples; ValueError for anything else."""
    try:
        with wave.open(str(path), "rb") as wav:
            if (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) != (1, 2, RATE):
                raise ValueError(f"{path.name}: not 8 kHz mono 16-bit")
            data = wav.readframes(min(wav.getnframes(), MAX_PROMPT_SECONDS * RATE))
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path.name}: {exc}") from None
    return g711.samples_of(data)


def write_wav(path: Path, samples: array.array) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(g711.pcm_bytes(samples))


def slug(campaign: str) -> str:
    """A campaign name as a file name part ("Shop window" -> "shop-window-1a2b")."""
    import hashlib

    text = re.sub(r"[^a-z0-9]+", "-", campaign.lower()).strip("-")[:40] or "campaign"
    return f"{text}-{hashlib.sha1(campaign.encode()).hexdigest()[:6]}"


class PromptLibrary:
    """Finds prompt audio for the playout; `own_dir` is data/prompts (the owner's files)."""

    def __init__(self, own_dir: Path, language: str = "en",
                 build_dirs: tuple[Path, ...] = (PACKAGE_BUILD, SYSTEM_BUILD)) -> None:
        self.own_dir = own_dir
        self.language = language
        self.build_dirs = build_dirs

    def own_path(self, name: str, campaign: str = "") -> Path:
        """The owner's file for `name` (a campaign's greeting, or music on hold)."""
        if name == "greeting" and campaign:
            return self.own_dir / f"greeting-{slug(campaign)}.wav"
        return self.own_dir / f"{name}.wav"

    def has_own(self, name: str, campaign: str = "") -> bool:
        return self.own_path(name, campaign).is_file()

    def default_path(self, name: str) -> Path | None:
        for base in self.build_dirs:
            for language in (self.language, "en"):
                path = base / language / f"{name}.wav"
                if path.is_file():
                    return path
        return None

    def load(self, name: str, campaign: str = "") -> array.array:
        """The prompt's samples; never raises (see the module's lookup order)."""
        for path in (self.own_path(name, campaign), self.default_path(name)):
            if path is None or not path.is_file():
                continue
            try:
                samples = read_wav(path)
            except (OSError, ValueError) as exc:
                logger.warning("prompts: %s unusable (%s); trying the next", path, exc)
                continue
            if samples:
                return samples
        return generated(name)
