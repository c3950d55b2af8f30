"""The central's pages in Chromium (Playwright) against waitress: all sites and one site,
as an owner and as a manager. Screenshots go to test-artifacts/screenshots/central-*.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.central.test_central_boxes import CentralServer
from tests.central.test_central_ingest import CONTACT, post
from tests.e2e.rig import free_port_block
from tests.tracker import tracker_events as te

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
MAY = "from=2024-05-01&to=2024-05-31"

if not CHROMIUM.exists() and os.environ.get("CI") != "true":
    pytest.skip("no /usr/bin/chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def seed(client) -> None:
    cfg = te.config()
    for site, day in (("Kraków", 6), ("Gdańsk", 7)):
        records = te.pure_records(
            cfg, te.inbound(te.at(2024, 5, day, 9), te.MOBILE, talk=120),
            te.inbound(te.at(2024, 5, day, 10), te.FIXED, te.PAPER, talk=10),
            te.inbound(te.at(2024, 5, day, 11), te.MOBILE2, talk=None),
            te.inbound(te.at(2024, 5, day + 1, 16), "+48700100200", talk=45))
        entries = [{"seq": n, "kind": "call", "record": r.to_doc() if hasattr(r, "to_doc")
                    else dict(r)} for n, r in enumerate(records, 1)]
        entries.append({"seq": 99, "kind": "queue", "callbacks": [
            {"number": te.MOBILE2, "missed_calls": 1, "campaign": "Shop window",
             "first_missed_at": f"2024-05-0{day}T11:00:05+02:00",
             "last_missed_at": f"2024-05-0{day}T11:00:05+02:00", "attempts": 0}]})
        entries += [{"seq": 100 + n, "kind": "contact", "contact": {
            **CONTACT, "id": f"c{n}", "name": name, "company": company, "stage": stage,
            "numbers": [number], "next_contact_at": te.at(2024, 5, 21, 10) if stage ==
            "in_progress" else None}} for n, (name, company, stage, number) in enumerate((
                (f"Anna {site}", "", "offered", te.MOBILE),
                ("", f"Bud-Mar {site}", "in_progress", te.FIXED)), 1)]
        assert post(client, entries, site=site).status_code == 200


@pytest.fixture
def server(central, central_client):
    central.users.set_password("anna", "a-long-password", "owner")
    central.users.set_password("jan", "another-password", "manager", "Gdańsk")
    seed(central_client)
    live = CentralServer(central, free_port_block(1))
    yield live
    live.close()


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run"])
        yield browser
        browser.close()


def open_as(browser, server, user: str, password: str):
    page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="en-GB")
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.goto(server.url + "/login")
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"central-{name}.png"), full_page=True)


def test_the_owner_sees_all_sites_and_each_site(browser, server):
    page = open_as(browser, server, "anna", "a-long-password")
    page.goto(f"{server.url}/?{MAY}")
    assert page.text_content("[data-scope]") == "All sites"
    assert page.text_content("[data-figure=answered]").strip() == "6"
    assert page.text_content("[data-figure=missed]").strip() == "2"
    assert page.text_content("[data-figure=to_call_back]").strip() == "2"
    shot(page, "dashboard-all")
    page.select_option("select[name=site]", "Kraków")
    page.click("form.site-pick button")
    page.wait_for_load_state()
    page.goto(page.url + f"&{MAY}")
    assert page.text_content("[data-scope]") == "Kraków"
    assert page.text_content("[data-figure=answered]").strip() == "3"
    shot(page, "dashboard-krakow")
    page.click("nav.nav >> text=Calls")                     # the site stays picked
    assert "site=Krak" in page.url
    page.goto(f"{server.url}/calls?{MAY}")
    assert sorted(set(page.locator("[data-site]").all_text_contents())) == ["Gdańsk", "Kraków"]
    shot(page, "calls-all")
    page.goto(f"{server.url}/callbacks")
    assert page.locator("table.cb tbody tr").count() == 2
    shot(page, "callbacks-all")
    page.goto(f"{server.url}/contacts")
    assert page.locator("[data-contact]").count() == 4
    assert sorted(set(page.locator("[data-site]").all_text_contents())) == ["Gdańsk", "Kraków"]
    shot(page, "contacts-all")
    page.fill("input[name=q]", "bud")
    page.select_option("select[name=stage]", "in_progress")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("[data-contact]").count() == 2
    page.goto(f"{server.url}/contacts?site=Krak%C3%B3w")
    assert page.locator("[data-contact]").count() == 2
    assert page.locator("[data-site]").count() == 0
    shot(page, "contacts-krakow")
    page.goto(f"{server.url}/sites")
    assert page.locator("[data-site-row]").count() == 2
    shot(page, "sites")
    assert page.errors == []


def test_a_manager_sees_only_their_site(browser, server):
    page = open_as(browser, server, "jan", "another-password")
    page.goto(f"{server.url}/?{MAY}")
    assert page.text_content("[data-scope]") == "Gdańsk"
    assert page.text_content("[data-figure=answered]").strip() == "3"
    assert page.locator("select[name=site] option").all_text_contents() == ["Gdańsk"]
    shot(page, "dashboard-manager")
    page.goto(f"{server.url}/calls?site=Krak%C3%B3w")
    assert page.locator("h1").count() == 1 and "Not allowed" in page.content()
    assert [e for e in page.errors if "status of 4" not in e] == []
