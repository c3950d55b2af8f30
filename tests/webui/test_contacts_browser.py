"""Contacts in a real browser (Chromium through Playwright) against waitress on 127.0.0.1: the
import flow end to end, the wrap-up pop-up saving the caller with a stage, and a screenshot of
every contacts page in English and Polish (test-artifacts/screenshots/contacts-*.png)."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

import webui_helpers as h
from firmware.tracker.contact_rules import Rules
import test_browser
from test_browser import LAPTOP, Live, clean, new_page, shot, sign_in

# The same Chromium, and the same rule when it is missing, as the panel's other browser tests.
pytestmark = test_browser.pytestmark
browser = test_browser.browser


@pytest.fixture
def live(tmp_path):
    box = Live(tmp_path)
    box.users.set_password(h.OWNER, h.OWNER_PW, "owner")
    box.users.set_password(h.STAFF, h.STAFF_PW, "staff", "101")
    yield box
    box.close()


def page_in(browser, lang):
    page = new_page(browser, viewport=LAPTOP, locale="en-GB" if lang == "en" else "pl-PL")
    page.context.add_cookies([{"name": "lang", "value": lang, "url": "http://127.0.0.1"}])
    return page


def spreadsheet(path):
    book = Workbook()
    sheet = book.active
    for row in (("Imię i nazwisko", "Firma", "Telefon", "Telefon 2", "E-mail", "Kolor"),
                ("Anna Nowak", "Hotel Zdrój", "501 234 567", "22 111 11 11", "anna@example.com",
                 "red"),
                ("Piotr Wiśniewski", None, "601 234 567", None, None, None),
                ("Bez numeru", None, "zadzwoń później", None, None, None)):
        sheet.append(list(row))
    book.save(path)


def test_import_preview_then_import_in_chromium(live, browser, tmp_path):
    page = page_in(browser, "en")
    sign_in(page, live, h.OWNER, h.OWNER_PW)
    page.wait_for_url(live.url + "/")
    page.click("nav >> text=Contacts")
    page.click("text=Import from Excel")
    shot(page, "contacts-import-upload-en")
    file = tmp_path / "kontakty.xlsx"
    spreadsheet(file)
    page.set_input_files('input[name="file"]', str(file))
    page.select_option('select[name="campaign"]', "Newspaper")
    page.click('button:has-text("Preview")')
    page.wait_for_selector(".import-preview")
    columns = page.locator("table.columns tbody tr").all_inner_texts()
    assert [c.split("\t")[1] for c in columns] == ["Name", "Company", "Phone", "Phone",
                                                   "E-mail", "ignored"]
    assert "Rows to import: 3" in page.inner_text(".import-preview")
    assert len(live.tracker.contacts) == 0
    shot(page, "contacts-import-preview-en")
    page.click('button:has-text("Import 3 rows")')
    page.wait_for_selector(".import-result")
    assert page.get_attribute(".import-result", "data-imported") == "2"
    assert "4" in page.inner_text("table.rejected") and "zadzwoń" in page.inner_text(
        "table.rejected")
    shot(page, "contacts-import-result-en")
    page.click("text=See the contacts")
    assert page.locator("table.contacts tbody tr").count() == 2
    assert live.tracker.contact_name("+48221111111") == "Anna Nowak"
    assert clean(page) == []
    page.context.close()


def seed_contacts(live):
    h.seed(live.tracker)
    contacts = live.tracker.contacts
    rules = Rules(country="PL", tz=ZoneInfo("Europe/Warsaw"),
                  campaigns=("Shop window", "Newspaper"))
    anna = contacts.create({"name": "Anna Nowak", "company": "Hotel Zdrój",
                            "numbers": [h.MOBILE], "email": "anna@example.com",
                            "campaign": "Shop window", "notes": "Prefers mornings."},
                           h.OWNER, rules)
    contacts.change(anna["id"], {"stage": "in_progress",
                                 "next_contact_at": "2001-02-03T10:00"}, h.STAFF, rules)
    contacts.add_note(anna["id"], "Asked for a quote for 12 rooms.", h.STAFF)
    contacts.create({"name": "Piotr", "numbers": [h.FIXED], "stage": "lost",
                     "lost_reason": "Too expensive", "campaign": "Newspaper"}, h.OWNER, rules)
    contacts.create({"name": "Maria", "company": "Sklep", "stage": "won", "value": 4200,
                     "campaign": "Shop window"}, h.OWNER, rules)
    contacts.create({"name": "Later", "stage": "in_progress",
                     "next_contact_at": "2099-01-01T09:00"}, h.OWNER, rules)
    return anna


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_screenshots_of_every_contacts_page(live, browser, lang):
    anna = seed_contacts(live)
    page = page_in(browser, lang)
    sign_in(page, live, h.OWNER, h.OWNER_PW)
    page.wait_for_url(live.url + "/")
    for name, path in (("list", "/contacts"), ("card", f"/contacts/{anna['id']}"),
                       ("new", "/contacts/new"), ("edit", f"/contacts/{anna['id']}/edit"),
                       ("tasks", "/tasks"), ("funnel", "/funnel"), ("calls", "/calls"),
                       ("callbacks", "/callbacks")):
        page.goto(live.url + path)
        assert page.locator("h1").count() == 1
        shot(page, f"contacts-{name}-{lang}")
    page.goto(live.url + "/contacts?q=zdr")
    assert page.locator("table.contacts tbody tr").count() == 1
    page.goto(live.url + "/calls")
    call = page.locator("table.calls tbody tr a").first
    call.click()
    shot(page, f"contacts-call-detail-{lang}")
    assert clean(page) == []
    page.context.close()


def test_the_wrap_up_pop_up_saves_the_caller_with_a_stage(live, browser):
    h.feed(live.tracker, h.inbound(time.time() - 200, h.MOBILE2, h.SHOP, talk=60, by="101"))
    page = page_in(browser, "en")
    sign_in(page, live, h.STAFF, h.STAFF_PW)
    page.wait_for_selector("dialog#wrapup[open]")
    dialog = page.locator("dialog#wrapup")
    dialog.locator('input[name="contact_name"]').fill("Mia Kowalska")
    dialog.locator('select[name="contact_stage"]').select_option("in_progress")
    shot(page, "contacts-wrapup-popup-en", full=False)
    dialog.locator('input[name="rating"][value="4"]').check(force=True)
    dialog.locator('button:has-text("Save")').click()
    error = dialog.locator("[data-error]")
    error.wait_for(state="visible")
    assert "next_contact_at" in error.inner_text()
    assert len(live.tracker.contacts) == 0
    dialog.locator('input[name="contact_next_contact_at"]').fill("2031-05-06T10:30")
    dialog.locator('button:has-text("Save")').click()
    page.wait_for_selector("dialog#wrapup", state="hidden")
    [mia] = live.tracker.contacts.search("Mia")
    assert mia["numbers"] == [h.MOBILE2] and mia["stage"] == "in_progress"
    assert mia["campaign"] == "Shop window"
    # She calls again: the pop-up knows her and moves her stage in the same step.
    h.feed(live.tracker, h.inbound(time.time() - 100, h.MOBILE2, h.SHOP, talk=30, by="101"))
    page.wait_for_selector("dialog#wrapup[open] .wrapup-contact")
    assert "Mia Kowalska" in dialog.locator(".wrapup-contact legend").inner_text()
    assert dialog.locator('input[name="contact_name"]').count() == 0
    dialog.locator('select[name="contact_stage"]').select_option("offered")
    dialog.locator('button:has-text("Save")').click()
    page.wait_for_selector("dialog#wrapup", state="hidden")
    assert live.tracker.contacts.get(mia["id"])["stage"] == "offered"
    assert clean(page) == []
    page.context.close()
