"""The report pages in a real browser (Chromium through Playwright) against waitress.

Skipped when /usr/bin/chromium or Playwright is missing. Every report is saved to
test-artifacts/screenshots/ (reports-*.png) for a person to look at; the weekly summary also
as it prints.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import webui_helpers as h
from firmware.config import parse_config
from firmware.tracker.service import Tracker
from firmware.webui.app import create_app, serve
from firmware.webui.report_builtin import BUILT_IN
from firmware.webui.users import UserStore
from report_calls import seed_history
from tests import peers

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
A4 = {"width": 718, "height": 1016}       # 210 x 297 mm less 12 mm margins, at 96 dpi

pytestmark = peers.needs(CHROMIUM.exists(), "no /usr/bin/chromium")
sync_api = peers.need_module("playwright.sync_api")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """One box with two weeks of calls, served by waitress for the whole module."""
    folder = tmp_path_factory.mktemp("reports")
    config = parse_config(h.CONFIG.replace("lead_value = 300", "lead_value = 300\n"
                                           "cost_per_month = 1500"))
    tracker = Tracker(config, folder)
    tracker.start()
    seed_history(tracker)
    users = UserStore(folder, hasher=h.FAST_HASHER)
    users.set_password(h.OWNER, h.OWNER_PW, "owner")
    app = create_app(config, tracker, users, testing=True)
    server = serve(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(5)
    tracker.stop()


@pytest.fixture(scope="module")
def page(live):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        context = browser.new_context(viewport=LAPTOP, locale="en-GB")
        page = context.new_page()
        page.errors = []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(live + "/login")
        page.fill('input[name="user"]', h.OWNER)
        page.fill('input[name="password"]', h.OWNER_PW)
        page.click('button[type="submit"]')
        page.wait_for_url(live + "/")
        yield page
        browser.close()


def shot(page, name: str, *, full: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"reports-{name}.png"), full_page=full)


def test_every_built_in_report(live, page):
    page.goto(live + "/reports")
    shot(page, "00-index")
    for number, name in enumerate(BUILT_IN, 1):
        page.goto(f"{live}/reports/{name}")
        assert page.locator("h1").inner_text().startswith("Reports /")
        assert page.locator("table.report").count() >= 1, name
        shot(page, f"{number:02d}-{name}")
    page.goto(live + "/reports/load")
    hours = page.locator("svg.heat text.axis").count()
    assert 10 <= hours <= 24 and page.locator("svg.heat rect").count() == 7 * hours
    assert page.errors == []


def test_builder_filters_columns_and_save(live, page):
    page.goto(live + "/reports/builder")
    page.select_option('select[name="days"]', "30")
    page.select_option('select[name="status"]', "answered")
    page.click("details.columns-box summary")
    page.check('input[name="columns"][value="tags"]')
    page.click("form.builder button.primary")
    page.wait_for_load_state()
    assert "status=answered" in page.url and "columns=tags" in page.url
    headers = page.locator("table.report thead th").all_text_contents()
    assert "Tags" in headers and "When" in headers
    page.fill("#report-name", "Answered last month")
    page.click("form.save-box button")
    page.wait_for_load_state()
    assert "Answered last month" in page.locator(".flash").inner_text()
    shot(page, "09-builder", full=False)
    page.goto(live + "/reports")
    assert page.locator(".saved a", has_text="Answered last month").count() == 1
    assert page.errors == []


def test_weekly_summary_on_screen_in_print_and_polish(live, page):
    page.goto(live + "/reports/weekly")
    assert page.locator("[data-figure=answered]").inner_text().isdigit()
    shot(page, "10-weekly")
    page.set_viewport_size(A4)
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    shot(page, "11-weekly-print")
    page.emulate_media(media="screen")
    page.set_viewport_size(LAPTOP)
    page.goto(live + "/language/pl?next=/reports/people")
    assert "Według osób" in page.locator("h1").inner_text()
    shot(page, "12-people-pl")
    page.set_viewport_size(PHONE)
    page.goto(live + "/language/en?next=/reports/recovery")
    shot(page, "13-recovery-phone")
    page.set_viewport_size(LAPTOP)
    assert page.errors == []
