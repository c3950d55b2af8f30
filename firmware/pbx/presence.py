"""Do not disturb, per extension: set from the phone (*78 / *79) or from the panel.

Why a file of its own: DND outlives a restart (a salesperson on holiday stays out of the ring
list), and it is written from two sides -- the call path on the event loop and the panel's
web threads -- so the state sits behind a lock and the box saves it, atomically, when it
changed (like the phones' bindings).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from firmware.atomic import atomic_write

logger = logging.getLogger(__name__)


class Presence:
    """Which extensions are in do-not-disturb; `changed` tells the owner to save."""

    def __init__(self, dnd: set[str] | None = None) -> None:
        self._dnd = set(dnd or ())
        self._lock = threading.Lock()
        self.changed = False

    def dnd(self, extension: str) -> bool:
        return extension in self._dnd

    def set_dnd(self, extension: str, on: bool) -> None:
        with self._lock:
            if (extension in self._dnd) == on:
                return
            (self._dnd.add if on else self._dnd.discard)(extension)
            self.changed = True
        logger.info("presence: %s do not disturb %s", extension, "on" if on else "off")

    def in_dnd(self) -> list[str]:
        with self._lock:
            return sorted(self._dnd)


class PresenceFile:
    """presence.json in the data folder: `{"dnd": ["102"]}`, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> Presence:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            dnd = data["dnd"]
            if not isinstance(dnd, list) or not all(isinstance(e, str) for e in dnd):
                raise ValueError("dnd is not a list of extensions")
        except FileNotFoundError:
            return Presence()
        except (ValueError, TypeError, KeyError) as exc:
            aside = self.path.with_suffix(".corrupt")
            logger.error("presence: %s is unreadable (%s); moved to %s, nobody is in DND",
                         self.path, exc, aside.name)
            os.replace(self.path, aside)
            return Presence()
        return Presence(set(dnd))

    def write(self, presence: Presence) -> None:
        presence.changed = False
        atomic_write(self.path, json.dumps({"dnd": presence.in_dnd()}).encode())
