"""The panel's own small settings that are not part of the box's TOML: wrap-up categories.

Why state here: the owner edits the category list from the panel; it is kept in
`data_dir/panel.json` (rewritten whole and atomically) and cached in memory.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from firmware.webui.users import UserError, atomic_write
from firmware.webui.i18n import N_

logger = logging.getLogger(__name__)

DEFAULT_CATEGORIES = (N_("Sale"), N_("Question"), N_("Complaint"), N_("Booking"), N_("Other"))
MAX_CATEGORIES = 50
MAX_CATEGORY = 40


def clean_categories(lines: list[str]) -> list[str]:
    """Trimmed, de-duplicated, non-empty names; raises UserError(field="categories")."""
    result: list[str] = []
    for line in lines:
        name = " ".join(line.split())
        if not name or name in result:
            continue
        if len(name) > MAX_CATEGORY:
            raise UserError("categories", N_("a category has at most %(count)s characters"),
                            count=MAX_CATEGORY)
        result.append(name)
    if len(result) > MAX_CATEGORIES:
        raise UserError("categories", N_("at most %(count)s categories"), count=MAX_CATEGORIES)
    return result


class PanelPrefs:
    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / "panel.json"
        self._lock = threading.Lock()
        self._data: dict | None = None

    def _load(self) -> dict:
        if self._data is None:
            try:
                self._data = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(self._data, dict):
                    raise ValueError("not an object")
            except FileNotFoundError:
                self._data = {}
            except (OSError, ValueError) as exc:
                logger.error("cannot read %s (%s); using defaults", self.path, exc)
                self._data = {}
        return self._data

    def categories(self) -> list[str]:
        with self._lock:
            value = self._load().get("categories")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return list(DEFAULT_CATEGORIES)
        return list(value)

    def set_categories(self, lines: list[str]) -> list[str]:
        names = clean_categories(lines)
        with self._lock:
            data = dict(self._load(), categories=names)
            atomic_write(self.path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
            self._data = data
        return names
