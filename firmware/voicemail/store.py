"""The voicemail messages on disk: `data/voicemail/<id>.wav` and one index file.

Why it looks like this: one writer (the event loop, when a message is finished) and many
readers (web threads). The index is a small JSON list rewritten atomically (fsync, rename)
under a lock, so a power cut leaves the old index or the new one, never half of either; a
message file is finished (renamed from `.part`) before the index names it. A message whose
file went missing is dropped from answers, never served as a broken file.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path

from firmware.atomic import atomic_write

logger = logging.getLogger(__name__)

ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


class VoicemailStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._index = folder / "index.json"
        self._messages: list[dict] = self._read()

    def _read(self) -> list[dict]:
        try:
            data = json.loads(self._index.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            logger.error("voicemail: index unreadable (%s); rebuilt from the files", exc)
            return [{"id": p.stem, "caller": "", "campaign": "", "offered_at": 0.0,
                     "at": p.stat().st_mtime, "seconds": 0.0}
                    for p in sorted(self.folder.glob("*.wav"))]
        return [m for m in data if isinstance(m, dict) and ID.match(str(m.get("id", "")))]

    def _save(self) -> None:
        atomic_write(self._index, json.dumps(self._messages, indent=1).encode(), 0o600)

    def path(self, message_id: str) -> Path | None:
        if not ID.match(message_id):
            return None
        return self.folder / f"{message_id}.wav"

    def part_path(self, message_id: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / f"{message_id}.wav.part"

    def add(self, message: dict) -> None:
        """`message` ({id, caller, campaign, offered_at, at, seconds}) whose `.part` file is
        complete: the file takes its name, then the index names it."""
        part, final = self.part_path(message["id"]), self.path(message["id"])
        part.replace(final)
        with self._lock:
            self._messages = [m for m in self._messages if m["id"] != message["id"]]
            self._messages.append(dict(message))
            self._save()
        logger.info("voicemail: message %s from %s (%s, %.1f s)", message["id"],
                    message.get("caller"), message.get("campaign"), message.get("seconds", 0))

    def messages(self) -> list[dict]:
        """Every message whose file is there, newest first."""
        with self._lock:
            items = list(self._messages)
        return sorted((m for m in items if (self.folder / f"{m['id']}.wav").is_file()),
                      key=lambda m: m.get("at", 0.0), reverse=True)

    def get(self, message_id: str) -> dict | None:
        return next((m for m in self.messages() if m["id"] == message_id), None)

    def delete(self, message_id: str) -> bool:
        path = self.path(message_id)
        if path is None:
            return False
        with self._lock:
            before = len(self._messages)
            self._messages = [m for m in self._messages if m["id"] != message_id]
            found = len(self._messages) != before or path.is_file()
            if found:
                path.unlink(missing_ok=True)
                self._save()
        return found

    def prune(self, older_than: float) -> int:
        """Delete the messages left before `older_than` (epoch seconds): `[recording]
        keep_days` bounds voicemail as it bounds recordings. How many went."""
        with self._lock:
            old = [m["id"] for m in self._messages if float(m.get("at") or 0) < older_than]
        gone = sum(1 for message_id in old if self.delete(message_id))
        if gone:
            logger.info("voicemail: retention deleted %d message(s) older than keep_days", gone)
        return gone
