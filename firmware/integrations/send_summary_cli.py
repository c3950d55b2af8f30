"""`callbox send-summary [--from YYYY-MM-DD --to YYYY-MM-DD]`: the summary e-mail, now.

It works while the box runs: the box's tracker owns the call store (one writer, flock), so
the command reads a copy of the month files in a temporary folder with a tracker of its
own, which never writes to the box's folder and never touches the GPIO pins.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from firmware.config import ConfigError, load_config

logger = logging.getLogger(__name__)


def _day(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--{name}: not a date like 2024-05-06") from None


def send_summary_command(config_path: Path | None, data_dir: Path, start_text: str | None,
                         end_text: str | None) -> int:
    from gpiozero.pins.mock import MockFactory

    from firmware.integrations.mailer import MailError, last_full_week, send_summary
    from firmware.tracker.service import Tracker

    try:
        config = load_config(config_path)
        start, end = _day(start_text, "from"), _day(end_text, "to")
    except ConfigError as exc:
        for line in exc.problems:
            print(line)
        return 1
    except ValueError as exc:
        print(exc)
        return 1
    if (start is None) != (end is None):
        print("give both --from and --to, or neither (the last full week)")
        return 1
    if start is None:
        today = datetime.now(ZoneInfo(config.box.timezone)).date()
        start, end = last_full_week(today)
    if start > end:
        print("--from must not be after --to")
        return 1
    if config.email is None or not config.email.weekly_to:
        print("no [email] with weekly_to in the config")
        return 1
    with tempfile.TemporaryDirectory(prefix="callbox-summary-") as folder:
        calls = Path(folder) / "calls"
        calls.mkdir()
        for path in sorted((Path(data_dir) / "calls").glob("calls-*.jsonl")):
            shutil.copyfile(path, calls / path.name)
        tracker = Tracker(config, Path(folder), pin_factory=MockFactory())
        tracker.start()
        try:
            send_summary(config, tracker, start, end, time.time())
        except MailError as exc:
            print(f"not sent: {exc}")
            return 1
        finally:
            tracker.stop()
    print(f"summary {start} .. {end} sent to {', '.join(config.email.weekly_to)}")
    return 0
