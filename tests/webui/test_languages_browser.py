"""Every page of the panel in each translated language, in Chromium (Playwright) against
waitress on 127.0.0.1: no English word from the English catalog is left on it, and screenshots
of the dashboard, a report and a settings form (test-artifacts/screenshots/i18n-*.png).

The reader is signed in with their account's language and a browser asking for English, so
the account's choice is what the pages follow. Languages whose catalog is not on this branch yet
(ru, bg before their merge) are reported xfail and run as soon as the catalog is there.
"""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

import webui_helpers as h
import test_browser
from firmware.tracker.query import CallFilter
from firmware.webui import i18n
from firmware.webui.reports import BUILT_IN
from firmware.webui.modules import MODULES
from test_browser import LAPTOP, Live, clean, new_page, shot, sign_in

pytestmark = test_browser.pytestmark
browser = test_browser.browser

TRANSLATED = [lang for lang in i18n.LANGUAGES if lang != "en"]

# Words that are the same in English and in the translations (names, units, formats), and the
# test box's own data (campaign, phone and box names are the owner's words, not the panel's).
SAME_IN_EVERY_LANGUAGE = {
    "callbox", "sip", "csv", "excel", "xlsx", "voip", "http", "https", "html", "url", "ga",
    "google", "analytics", "ads", "pdf", "toml", "udp", "tcp", "min", "english", "polski",
    "json", "api", "webhook", "webhooks", "mb", "id", "pin", "gsm", "sms", "ok", "e-mail",
    "email", "smtp", "utc", "europe", "warsaw", "pln", "eur", "zl", "ip", "dns", "lan", "dnd",
    "from", "run",              # config keys and commands quoted in the integrations' help
    "ctrl", "crm", "tag", "import", "status", "port", "host", "example",
    # Polish words spelled like English ones
    "do", "to", "we", "by", "na", "od", "no", "nie", "pod", "tak",
}
BOX_DATA = set(re.findall(r"[a-z]+", h.CONFIG.lower())) | {"parking", "vip", "olga", "sam",
                                                           "tom"}


SHOWN = """() => document.body.innerText + " " + Array.from(
    document.querySelectorAll("[placeholder], [title], [aria-label]"),
    e => ["placeholder", "title", "aria-label"].map(a => e.getAttribute(a) || "").join(" ")
).join(" ")"""


def english_words() -> set[str]:
    """Every word of the English message ids, lower case."""
    with (i18n.TRANSLATIONS / "messages.pot").open("rb") as handle:
        catalog = read_po(handle)
    words: set[str] = set()
    for message in catalog:
        for text in (message.id if isinstance(message.id, tuple) else (message.id,)):
            text = re.sub(r"%\(\w+\)s", " ", text or "")
            words |= {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]", text)}
    return words


def pages(live) -> dict[str, str]:
    """Every page a signed-in owner can open, by a short name."""
    call = live.tracker.calls(CallFilter())[0]["id"]
    found = {"dashboard": "/", "calls": "/calls", "call": f"/calls/{call}",
             "callbacks": "/callbacks", "live": "/live", "contacts": "/contacts",
             "contact-new": "/contacts/new", "contacts-import": "/contacts/import",
             "tasks": "/tasks", "funnel": "/funnel", "reports": "/reports",
             "report-builder": "/reports/builder", "weekly": "/reports/weekly",
             "monthly": "/reports/monthly", "settings-general": "/settings/general",
             "settings-categories": "/settings/categories", "settings-config": "/settings/config",
             "settings-integrations": "/settings/integrations", "settings-users": "/settings/users",
             "not-found": "/no-such-page"}
    for name in BUILT_IN:
        found[f"report-{name}"] = f"/reports/{name}"
    found["module"] = f"/dashboard/{next(iter(MODULES))}"   # the others are on the dashboard
    for slug in ("campaigns", "extensions", "trunks"):
        found[f"settings-{slug}"] = f"/settings/{slug}"
        found[f"settings-{slug}-new"] = f"/settings/{slug}/new"
    found["settings-campaigns-edit"] = "/settings/campaigns/0"
    return found


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    box = Live(tmp_path_factory.mktemp("languages"))
    box.users.set_password(h.OWNER, h.OWNER_PW, "owner")
    h.seed(box.tracker)
    yield box
    box.close()


def _words_left(text: str, english: set[str]) -> list[str]:
    """The words of `text` that are English message words; config keys, paths and host names
    (web_source, docs/api.md, sip.provider.example) are code, not words."""
    left = []
    for token in re.findall(r"[\w./\[\]@:-]+", text):
        if re.search(r"[_/.\[@:]", token.strip(".:")) or not re.fullmatch(r"[^\W\d_]+(-[^\W\d_]+)*[.:]?", token):
            continue
        word = token.rstrip(".:")
        key = word.lower()
        if key in english and key not in SAME_IN_EVERY_LANGUAGE and key not in BOX_DATA:
            left.append(word)
    return left


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_page_has_no_english_left(live, browser, lang):
    if not (i18n.TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").exists():
        pytest.xfail(f"no {lang} catalog on this branch yet")
    live.users.set_language(h.OWNER, lang)
    page = new_page(browser, viewport=LAPTOP, locale="en-GB")   # the browser asks for English
    sign_in(page, live, h.OWNER, h.OWNER_PW)
    page.wait_for_url(live.url + "/")
    english = english_words()
    found = {}
    for name, path in pages(live).items():
        page.goto(live.url + path, wait_until="domcontentloaded")
        assert page.locator("html").get_attribute("lang") == lang, path
        # what a person reads: the text, and the placeholders and tooltips of the controls
        text = page.evaluate(SHOWN)
        left = _words_left(text, english)
        if left:
            found[path] = sorted(set(left))
        if name in ("dashboard", "report-campaigns", "settings-campaigns-new",
                    "settings-general"):
            shot(page, f"i18n-{lang}-{name}")
    assert found == {}, "\n".join(f"{path}: {' '.join(words)}" for path, words in found.items())
    assert clean(page) == []
    page.context.close()


def test_the_check_finds_english():
    english = {"calls", "missed", "shop"}
    assert _words_left("Połączenia: 3 missed", english) == ["missed"]
    assert _words_left("Shop window · Połączenia", english) == []     # the box's own data
