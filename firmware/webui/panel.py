"""What the views reach: the box's services, held by the app (like flaskr's get_db())."""

from __future__ import annotations

import threading
from pathlib import Path
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from flask import current_app

from firmware.config import Config
from firmware.webui.prefs import PanelPrefs
from firmware.webui.throttle import Throttle
from firmware.webui.users import UserStore
from firmware.webui.wrapup import TagSuggestions


@dataclass
class Panel:
    config: Config
    tracker: Any
    users: UserStore
    prefs: PanelPrefs
    health: Callable[[], dict]
    config_path: Path | None = None
    on_config: Callable[[Config], None] | None = None
    throttle: Throttle = field(default_factory=Throttle)
    suggestions: TagSuggestions = field(default_factory=TagSuggestions)
    lock: threading.Lock = field(default_factory=threading.Lock)
    switchboard: Any = None      # the phone side (pbx/switchboard.py): live board, DND, dialling
    integrations: Any = None      # firmware.integrations.service.Integrations, when running

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.box.timezone)

    def today(self) -> date:
        return datetime.now(self.tz).date()

    def preset(self, days: int) -> tuple[date, date]:
        """The last `days` days up to today (1 = today)."""
        today = self.today()
        return today - timedelta(days=days - 1), today

    def apply_config(self, config: Config) -> None:
        """A new config saved from the settings pages: the box (or at least the tracker) and
        the panel use it from now on."""
        if self.on_config is not None:
            self.on_config(config)
        else:
            self.tracker.reload_config(config)
        self.config = config


def get_panel() -> Panel:
    return current_app.extensions["callbox"]
