"""Saved builder reports: named queries of the report builder.

Why state here: they live in `data_dir/reports.json`, rewritten whole and atomically on each
change (like panel.json), one `SavedReports` per app, a lock around each read-modify-write.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from flask import current_app

from firmware.tracker.errors import BadInput
from firmware.webui.users import atomic_write

logger = logging.getLogger(__name__)

MAX_SAVED = 100
MAX_NAME = 60


class SavedReports:
    """Named builder reports in `data_dir/reports.json`: {"version": 1, "reports": [...]}."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / "reports.json"
        self._lock = threading.Lock()

    def all(self) -> list[dict]:
        with self._lock:
            return self._read()

    def save(self, name: str, params: dict) -> None:
        with self._lock:
            reports = [r for r in self._read() if r["name"] != name]
            if len(reports) >= MAX_SAVED:
                raise BadInput("name", f"at most {MAX_SAVED} saved reports")
            reports.append({"name": name, "params": params})
            self._write(reports)

    def delete(self, name: str) -> bool:
        with self._lock:
            reports = self._read()
            kept = [r for r in reports if r["name"] != name]
            if len(kept) != len(reports):
                self._write(kept)
            return len(kept) != len(reports)

    def _read(self) -> list[dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            reports = data["reports"]
            return sorted((r for r in reports if isinstance(r, dict) and "name" in r),
                          key=lambda r: r["name"].casefold())
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.error("cannot read %s (%s); no saved reports shown", self.path, exc)
            return []

    def _write(self, reports: list[dict]) -> None:
        body = json.dumps({"version": 1, "reports": reports}, indent=2, ensure_ascii=False)
        atomic_write(self.path, (body + "\n").encode("utf-8"))


def attach(app) -> None:
    """One SavedReports per app, in the data folder of its users."""
    panel = app.extensions["callbox"]
    app.extensions["callbox.reports"] = SavedReports(panel.users.data_dir)


def saved() -> SavedReports:
    return current_app.extensions["callbox.reports"]
