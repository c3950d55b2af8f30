"""Recordings as the box runs them: the store, the recorder, retention and free space, and
the few joins with the rest of the box (call events, the tracker's records, /healthz).

    recordings = Recordings(config, data_dir, media.sessions.get)
    bus.subscribe(recordings.recorder.on_event)
    tracker.published.listen(recordings.on_tracker)      # links recordings to call records
    tracker.call_extras.append(recordings.decorate)      # `recording` in /api/calls
    recordings.start() ... recordings.stop()
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from firmware.config import Config
from firmware.recording.check import FileState, inspect
from firmware.recording.recorder import Recorder
from firmware.recording.retention import MIN_FREE_BYTES, DiskGuard, Retention
from firmware.recording.store import Entry, RecordingStore

logger = logging.getLogger(__name__)

CALL_RECORDED = "call.recorded"      # tracker/publish.py


def recording_url(record_id: str) -> str:
    return f"/api/calls/{record_id}/recording"


def problem_of(entry: Entry | None) -> dict | None:
    """{"reason": "codec", "codec": "g722/8000", "partial": bool} when the recorder gave a
    call's recording up (its audio was in a codec the box cannot decode): `partial` when
    what came before (G.711) was kept. None for a whole recording or none at all."""
    if entry is None or not entry.problem:
        return None
    reason, _, detail = entry.problem.partition(" ")
    return {"reason": reason, "codec": detail, "partial": bool(entry.seconds)}


class Recordings:
    def __init__(self, config: Config, data_dir: Path, sessions: Callable[[str], Any], *,
                 free_bytes: Callable[[Path], int] | None = None,
                 min_free: int = MIN_FREE_BYTES) -> None:
        self.config = config
        self.store = RecordingStore(Path(data_dir) / "recordings")
        self.guard = DiskGuard(self.store.folder, min_free=min_free, free_bytes=free_bytes)
        self.recorder = Recorder(config, self.store, sessions, guard=self.guard)
        self.retention = Retention(self.store, config.recording.keep_days,
                                   config.recording.max_disk_mb,
                                   active=lambda: self.recorder.active_calls)

    def start(self) -> None:
        self.recorder.start()
        self.retention.start()          # runs at once, then hourly

    def stop(self) -> None:
        self.recorder.stop()
        self.retention.stop()
        self.store.close()

    def reload_config(self, config: Config) -> None:
        self.config = config
        self.recorder.reload_config(config)
        self.retention.configure(config.recording.keep_days, config.recording.max_disk_mb)

    # -- joins ------------------------------------------------------------------------------
    def on_tracker(self, kind: str, data: Any) -> None:
        """The tracker made a call record durable: tie it to its recording, if any."""
        if kind == CALL_RECORDED and isinstance(data, dict) and data.get("answered_at"):
            try:
                self.store.link(data["id"], data["offered_at"], data["answered_at"])
            except OSError as exc:
                logger.error("recordings: cannot link call %s: %s", data.get("id"), exc)

    def decorate(self, call: dict) -> None:
        """`recording` of an /api/calls entry: its URL, or None; `recording_problem`: why
        the call could not be recorded, or only in part (see `problem_of`), or None."""
        entry = self.store.for_record(call["id"])
        audible = entry is not None and not (entry.problem and not entry.seconds)
        call["recording"] = recording_url(call["id"]) if audible else None
        call["recording_problem"] = problem_of(entry)

    def entry(self, record_id: str) -> Entry | None:
        return self.store.for_record(record_id)

    def file_state(self, entry: Entry) -> FileState:
        return inspect(self.store.path(entry))

    def health(self) -> dict:
        return self.recorder.health()
