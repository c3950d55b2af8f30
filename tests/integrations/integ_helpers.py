"""Shared helpers of the integration tests: a frozen clock, a config with a webhook."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "webui"))

import webui_helpers as h  # noqa: E402
from firmware.config import parse_config  # noqa: E402

T0 = 1_700_000_000.0          # Tue 2023-11-14 23:13:20 CET
SECRET = "whsec-0123456789abcdef"


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def config_with(extra: str):
    return parse_config(h.CONFIG + extra, "<test>")


def webhook(url: str, events: str = "") -> str:
    return f'\n[[webhook]]\nurl = "{url}"\nsecret = "{SECRET}"\n{events}\n'
