#!/usr/bin/env python3
"""Make the default prompts (build/prompts/<lang>/<name>.wav) with espeak-ng and ffmpeg.

`make prompts` runs this. The files are build output (build/ is not committed): speech from
Debian's espeak-ng in en, pl, ru, bg, resampled by ffmpeg to 8 kHz mono 16-bit (what G.711
carries); the beep and the music on hold are generated tones. The box picks the language of
`box.country` (PL pl, RU ru, BG bg, else en) and plays a generated tone for any file missing
(firmware/prompts/library.py), so a box without them still works.

    scripts/make_prompts.py [--out build/prompts] [--language pl ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.prompts.library import generated, write_wav  # noqa: E402

TEXTS = {
    "en": {
        "greeting": "Hello. Nobody can take your call right now. Please leave a message "
                    "after the tone, and we will call you back.",
        "notice": "This call may be recorded.",
        "no_messages": "You have no new messages.",
    },
    "pl": {
        "greeting": "Dzień dobry. Nikt nie może teraz odebrać. Prosimy zostawić wiadomość "
                    "po sygnale, oddzwonimy.",
        "notice": "Ta rozmowa może być nagrywana.",
        "no_messages": "Nie masz nowych wiadomości.",
    },
    "ru": {
        "greeting": "Здравствуйте. Сейчас никто не может ответить. Пожалуйста, оставьте "
                    "сообщение после сигнала, и мы вам перезвоним.",
        "notice": "Этот разговор может записываться.",
        "no_messages": "Новых сообщений нет.",
    },
    "bg": {
        "greeting": "Здравейте. В момента никой не може да отговори. Моля, оставете "
                    "съобщение след сигнала и ние ще ви се обадим.",
        "notice": "Този разговор може да бъде записан.",
        "no_messages": "Нямате нови съобщения.",
    },
}


def speak(text: str, language: str, dest: Path) -> None:
    with tempfile.TemporaryDirectory() as work:
        raw = Path(work) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", language, "-s", "150", "-w", str(raw), text],
                       check=True, timeout=60)
        subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                        "-i", str(raw), "-ac", "1", "-ar", "8000", "-c:a", "pcm_s16le",
                        str(dest)], check=True, timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "prompts")
    parser.add_argument("--language", action="append", choices=sorted(TEXTS))
    args = parser.parse_args()
    missing = [tool for tool in ("espeak-ng", "ffmpeg") if shutil.which(tool) is None]
    if missing:
        print(f"make_prompts: {' and '.join(missing)} not installed (apt install espeak-ng "
              "ffmpeg); the box will play generated tones instead", file=sys.stderr)
        return 1
    for language in args.language or sorted(TEXTS):
        folder = args.out / language
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in TEXTS[language].items():
            speak(text, language, folder / f"{name}.wav")
        for name in ("beep", "moh"):
            write_wav(folder / f"{name}.wav", generated(name))
        print(f"make_prompts: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
