"""Chromium through Playwright for the integration pages and the snippet (screenshots go to
test-artifacts/screenshots/). Under CI=true a missing chromium fails instead of skipping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def launch(playwright):
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--no-first-run"])


def need_chromium():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing (apt install chromium)")
        pytest.skip("no /usr/bin/chromium")
    return pytest.importorskip("playwright.sync_api")


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def stop_waitress(server, thread) -> None:
    """Stop a waitress server from its own loop thread: closing its sockets from another
    thread while it sits in select() makes that thread fail with EBADF."""
    from waitress import wasyncore

    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    thread.join(5)
    server.task_dispatcher.shutdown()
