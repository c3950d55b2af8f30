"""The panel in a real browser (Chromium through Playwright) against waitress on 127.0.0.1.

Skipped when /usr/bin/chromium or Playwright is missing. Every page visited is saved to
test-artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

import webui_helpers as h
from webui_helpers import FAST_HASHER
from firmware.tracker.query import CallFilter
from firmware.tracker.service import Tracker
from firmware.webui.app import create_app, serve
from firmware.webui.users import UserStore
from tests import peers

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

pytestmark = peers.needs(CHROMIUM.exists(), "no /usr/bin/chromium")
sync_api = peers.need_module("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        yield browser
        browser.close()


class Live:
    def __init__(self, tmp_path: Path):
        self.config = h.config()
        self.tracker = Tracker(self.config, tmp_path)
        self.tracker.start()
        self.users = UserStore(tmp_path, hasher=FAST_HASHER)
        config_path = tmp_path / "callbox.toml"
        config_path.write_text(h.CONFIG)
        self.app = create_app(self.config, self.tracker, self.users, testing=True,
                              config_path=config_path)
        self.server = serve(self.app, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self):
        self.server.close()
        self.thread.join(5)
        self.tracker.stop()


@pytest.fixture
def live(tmp_path):
    box = Live(tmp_path)
    yield box
    box.close()


def new_page(browser, **options):
    """A page in a fresh context that records console errors (CSP violations, script errors)."""
    context = browser.new_context(**options)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def clean(page) -> list[str]:
    """Console errors other than the 4xx answers the tests ask for on purpose."""
    return [e for e in page.errors if "status of 4" not in e]


@pytest.fixture
def page(browser):
    page = new_page(browser, viewport=LAPTOP, locale="en-GB")
    yield page
    assert clean(page) == []
    page.context.close()


def shot(page, name: str, *, full: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def sign_in(page, live, user, password):
    page.goto(live.url + "/login")
    page.fill('input[name="user"]', user)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"]')


def test_first_run_setup_sign_in_and_wrong_password(live, page):
    page.goto(live.url + "/")
    assert page.url.endswith("/setup")
    shot(page, "01-setup")
    page.fill('input[name="user"]', h.OWNER)
    page.fill('input[name="password"]', h.OWNER_PW)
    page.fill('input[name="confirm"]', h.OWNER_PW)
    page.click('button[type="submit"]')
    page.wait_for_url(live.url + "/")
    assert page.locator("h1").first.inner_text().startswith("Dashboard")
    shot(page, "02-dashboard-empty")
    assert live.users.get(h.OWNER).is_owner

    page.click("text=Sign out")
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(live.url + "/setup")          # closed once the owner exists
    assert page.url.endswith("/login")
    sign_in(page, live, h.OWNER, "not-the-password")
    assert page.locator(".flash.error").inner_text() == "Wrong user name or password."
    shot(page, "03-login-wrong-password")
    sign_in(page, live, h.OWNER, h.OWNER_PW)
    page.wait_for_url(live.url + "/")


def test_form_post_without_csrf_token_is_refused(live, page):
    live.users.set_password(h.OWNER, h.OWNER_PW, "owner")
    sign_in(page, live, h.OWNER, h.OWNER_PW)
    page.wait_for_url(live.url + "/")
    page.goto(live.url + "/settings/categories")
    with page.expect_navigation():
        page.evaluate("""() => {
            const form = document.querySelector('form.stack');
            form.querySelector('input[name="csrf_token"]').remove();
            form.querySelector('textarea').value = 'Hacked';
            form.submit();
        }""")
    assert page.locator("h1").inner_text() == "The form has expired"
    shot(page, "04-csrf-refused")
    assert "Hacked" not in live.app.extensions["callbox"].prefs.categories()


def _figures(page) -> dict[str, str]:
    return {el.get_attribute("data-figure"): el.inner_text()
            for el in page.locator("[data-figure]").all()}


def test_dashboard_figures_equal_api_summary(live, browser):
    live.users.set_password(h.OWNER, h.OWNER_PW, "owner")
    h.seed(live.tracker)
    page = new_page(browser, viewport=LAPTOP, locale="en-GB")
    sign_in(page, live, h.OWNER, h.OWNER_PW)
    page.wait_for_url(live.url + "/")
    for period in ("Today", "7 days", "30 days"):
        page.click(f".seg >> text={period}")
        page.wait_for_load_state()
        query = page.url.split("?", 1)[1]
        summary = page.request.get(f"{live.url}/api/summary?{query}").json()
        shown = _figures(page)
        assert shown["answered"] == str(summary["answered"])
        assert shown["missed"] == str(summary["missed"])
        assert shown["to_call_back"] == str(summary["to_call_back"])
        assert shown["target_calls"] == str(summary["target_calls"])
        assert shown["first_time_callers"] == str(summary["first_time_callers"])
        wait = summary["avg_wait_seconds"]
        assert shown["avg_wait_seconds"].replace("\u00a0", " ") == f"{round(wait)} s"
        assert summary["answered"] + summary["missed"] > 0
    shot(page, "05-dashboard")
    page.click("#m-hours .enlarge")
    page.wait_for_load_state()
    shot(page, "06-module-hours")
    page.goto(live.url + "/dashboard/value")
    shot(page, "06-module-value")
    page.goto(live.url + "/calls")
    shot(page, "07-history")
    page.click("table.calls tbody tr:first-child td a")
    page.wait_for_load_state()
    shot(page, "08-call-detail")
    page.goto(live.url + "/callbacks")
    shot(page, "09-callbacks")
    page.goto(live.url + "/settings/categories")
    shot(page, "10-settings")
    page.goto(live.url + "/settings/config")
    shot(page, "10-settings-config")
    page.goto(live.url + "/language/pl?next=/")
    shot(page, "11-dashboard-pl")
    page.set_viewport_size(PHONE)
    page.goto(live.url + "/language/en?next=/")
    shot(page, "12-dashboard-phone")
    page.goto(live.url + "/calls")
    shot(page, "13-history-phone")
    page.goto(live.url + "/callbacks")
    shot(page, "13-callbacks-phone")
    assert clean(page) == []
    page.context.close()


def test_wrapup_popup_after_answered_call(live, page):
    live.users.set_password(h.STAFF, h.STAFF_PW, "staff", "101")
    sign_in(page, live, h.STAFF, h.STAFF_PW)
    page.wait_for_url(re.compile(r".*/calls$"))
    dialog = page.locator("dialog#wrapup")
    assert not dialog.is_visible()
    now = time.time()
    h.feed(live.tracker, h.inbound(now - 70, h.MOBILE, h.SHOP, ring=5, talk=60, by="101"))
    started = time.monotonic()
    dialog.wait_for(state="visible", timeout=2000)
    assert time.monotonic() - started < 2.0
    call_id = page.locator("dialog form").get_attribute("data-api").split("/")[-2]
    assert live.tracker.call(call_id)["answered_by"] == "101"
    value = page.locator('dialog input[name="value"]')
    assert value.input_value() == "300"          # prefilled from the campaign's lead value
    page.click('dialog .rating label:has(input[value="4"])')
    page.fill('dialog input[name="tags"]', "price, parking")
    page.select_option('dialog select[name="category"]', "Booking")
    page.fill('dialog textarea[name="comment"]', "Wants a room for two nights")
    page.fill('dialog input[name="value"]', "1 250,50")       # as people type it in Poland
    shot(page, "14-wrapup-popup", full=False)
    page.click('dialog button[type="submit"]')
    dialog.wait_for(state="hidden", timeout=3000)
    saved = live.tracker.call(call_id)["wrapup"]
    assert saved["rating"] == 4 and saved["tags"] == ["price", "parking"]
    assert saved["category"] == "Booking" and saved["value"] == 1250.5
    page.wait_for_timeout(1500)                  # wrapped up: the pop-up does not come back
    assert not dialog.is_visible()


def test_wrapup_later_then_from_history_on_a_phone(live, browser):
    live.users.set_password(h.STAFF, h.STAFF_PW, "staff", "101")
    page = new_page(browser, viewport=PHONE, locale="pl-PL")
    sign_in(page, live, h.STAFF, h.STAFF_PW)
    page.wait_for_url(re.compile(r".*/calls$"))
    h.feed(live.tracker, h.inbound(time.time() - 50, h.FIXED, h.PAPER, talk=40, by="101"))
    dialog = page.locator("dialog#wrapup")
    dialog.wait_for(state="visible", timeout=2500)
    assert dialog.locator("h2").inner_text() == "Podsumuj rozmowę"
    shot(page, "15-wrapup-popup-phone-pl", full=False)
    page.click("dialog [data-later]")
    dialog.wait_for(state="hidden")
    page.wait_for_timeout(1500)                  # "later": not offered again in this tab
    assert not dialog.is_visible()
    page.reload()
    page.click("table.calls tbody tr:first-child td a")
    page.wait_for_load_state()
    page.click('#wrapup-form .rating label:has(input[value="2"])')
    page.click("#wrapup-form button[type=submit]")
    page.wait_for_load_state()
    shot(page, "16-call-detail-phone-pl")
    call = live.tracker.calls(CallFilter())[0]
    assert call["wrapup"]["rating"] == 2 and call["wrapup"]["value"] == 100
    assert clean(page) == []
    page.context.close()


def test_owner_adds_edits_and_removes_a_campaign(live, browser):
    """A new advert, set up from the panel alone: the number is tracked at once."""
    live.users.set_password(h.OWNER, h.OWNER_PW, "owner")
    page = new_page(browser, viewport=LAPTOP, locale="en-GB")
    sign_in(page, live, h.OWNER, h.OWNER_PW)
    page.wait_for_url(live.url + "/")
    page.click("nav >> text=Settings")
    page.wait_for_url(live.url + "/settings/campaigns")
    shot(page, "14-campaigns")
    page.click("text=Add a campaign")
    page.fill('input[name="name"]', "Flyer")
    page.fill('input[name="number"]', "22 123 45 69")
    page.fill('input[name="source"]', "Print")
    page.fill('input[name="lead_value"]', "150,50")
    page.check('input[name="ring"][value="102"]')
    page.check('input[name="record"]')
    page.check('input[name="voicemail"]')
    shot(page, "15-campaign-form")
    page.click("text=Save and apply")
    page.wait_for_url(live.url + "/settings/campaigns")
    assert "Flyer saved. Calls to its number are tracked" in page.locator(".flash").inner_text()
    row = page.locator("table.campaigns tr", has_text="Flyer")
    assert "+48 22 123 45 69" in row.inner_text() and "102 · Sales" in row.inner_text()
    panel = live.app.extensions["callbox"]
    assert panel.config.campaign_for("+48221234569").lead_value == 150.5
    assert panel.config.campaign_for("+48221234569").record
    assert panel.config.campaign_for("+48221234569").voicemail

    row.locator("text=Edit").click()
    page.fill('input[name="number"]', "12")                 # not a phone number
    page.click("text=Save and apply")
    assert page.locator('[data-field="number"]').inner_text() == "not a phone number"
    shot(page, "16-campaign-form-error")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Remove Flyer")
    page.wait_for_url(live.url + "/settings/campaigns")
    assert page.locator("table.campaigns tr", has_text="Flyer").count() == 0
    assert panel.config.campaign_for("+48221234569") is None
    for path, name in (("/settings/extensions", "17-settings-phones"),
                       ("/settings/extensions/0", "17-settings-phone-form"),
                       ("/settings/trunks", "18-settings-trunks"),
                       ("/settings/trunks/new", "18-settings-trunk-form"),
                       ("/settings/general", "19-settings-general"),
                       ("/settings/users", "19-settings-users")):
        page.goto(live.url + path)
        shot(page, name)
    page.set_viewport_size(PHONE)
    page.goto(live.url + "/settings/campaigns")
    shot(page, "20-campaigns-phone")
    page.goto(live.url + "/language/pl?next=/settings/general")
    shot(page, "20-settings-general-pl")
    assert clean(page) == []
    page.context.close()
