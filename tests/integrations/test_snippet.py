"""GET /snippet.js in chromium: a local test page (served from loopback) embeds it; visitors
from different utm parameters and referrers see the matching campaign number, for the whole
visit; the page is left alone when nothing matches."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from firmware.integrations.snippet import rules, script
from firmware.tracker.service import Tracker
from firmware.webui.app import create_app, serve
from firmware.webui.users import UserStore
from tests.integrations.browser import shot, stop_waitress
from firmware.config import parse_config
from tests.integrations.integ_helpers import h

SHOP_SHOWN, PAPER_SHOWN, PAGE_NUMBER = "22 123 45 67", "22 123 45 68", "22 111 11 11"


def snippet_config():
    text = h.CONFIG.replace('source = "Outdoor"', 'source = "Outdoor"\nweb_source = "google/cpc"')
    text = text.replace('source = "Print"', 'source = "Print"\nweb_source = "facebook.com"')
    return parse_config(text, "<test>")


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The box's panel (serving /snippet.js) and a shop's website on another loopback port."""
    folder = tmp_path_factory.mktemp("snippet")
    config = snippet_config()
    tracker = Tracker(config, folder)
    tracker.start()
    app = create_app(config, tracker, UserStore(folder, hasher=h.FAST_HASHER), testing=True,
                     secret_key="test-secret")
    panel = serve(app, "127.0.0.1", 0)
    panel_thread = threading.Thread(target=panel.run, daemon=True)
    panel_thread.start()
    box_url = f"http://127.0.0.1:{panel.effective_port}"
    site_dir = folder / "site"
    site_dir.mkdir()
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Hotel Zdroj</title>
<script src="{box_url}/snippet.js" async></script></head>
<body style="font: 18px sans-serif; padding: 30px"><h1>Hotel Zdroj</h1>
<p>Book a room: <a id="link" href="tel:+48221111111" data-callbox-number>{PAGE_NUMBER}</a></p>
<p>Reception: <span id="plain" data-callbox-number>{PAGE_NUMBER}</span></p>
<p><a id="next" href="/rooms.html">Our rooms</a></p></body></html>"""
    (site_dir / "index.html").write_text(page)
    (site_dir / "rooms.html").write_text(page.replace("Book a room", "Rooms"))
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    website = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=website.serve_forever, daemon=True).start()
    yield box_url, f"http://127.0.0.1:{website.server_address[1]}"
    website.shutdown()
    website.server_close()
    stop_waitress(panel, panel_thread)
    tracker.stop()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def visit(browser, url: str, referer: str | None = None):
    context = browser.new_context(viewport={"width": 800, "height": 400})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url, referer=referer) if referer else page.goto(url)
    page.wait_for_load_state("load")
    return page


def shown(page) -> tuple[str, str, str]:
    return (page.inner_text("#link"), page.get_attribute("#link", "href"),
            page.inner_text("#plain"))


def test_utm_source_and_medium_pick_the_campaign_and_it_stays_for_the_visit(browser, sites):
    _, site = sites
    page = visit(browser, f"{site}/index.html?utm_source=google&utm_medium=cpc")
    page.wait_for_function("document.getElementById('plain').textContent !== '22 111 11 11'")
    assert shown(page) == (SHOP_SHOWN, "tel:+48221234567", SHOP_SHOWN)
    shot(page, "snippet-google-cpc")
    page.click("#next")                               # the next page has no utm: remembered
    page.wait_for_url("**/rooms.html")
    page.wait_for_function("document.getElementById('plain').textContent !== '22 111 11 11'")
    assert shown(page) == (SHOP_SHOWN, "tel:+48221234567", SHOP_SHOWN)
    assert page.errors == []
    page.context.close()


def test_a_referrer_host_picks_its_campaign(browser, sites):
    _, site = sites
    page = visit(browser, f"{site}/index.html", referer="https://m.facebook.com/")
    page.wait_for_function("document.getElementById('plain').textContent !== '22 111 11 11'")
    assert shown(page) == (PAPER_SHOWN, "tel:+48221234568", PAPER_SHOWN)
    page.context.close()


@pytest.mark.parametrize("query,referer", [
    ("", None),                                        # a direct visit
    ("?utm_source=google&utm_medium=organic", None),   # google, but not the cpc rule
    ("?utm_source=newsletter", "https://www.bing.com/"),
])
def test_nothing_matches_and_the_page_is_left_alone(browser, sites, query, referer):
    box, site = sites
    page = visit(browser, f"{site}/index.html{query}", referer=referer)
    page.wait_for_function(f"performance.getEntriesByName('{box}/snippet.js').length > 0")
    page.wait_for_timeout(100)
    assert shown(page) == (PAGE_NUMBER, "tel:+48221111111", PAGE_NUMBER)
    assert page.errors == []
    page.context.close()


def test_the_script_is_served_without_sign_in(sites):
    import urllib.request

    box, _ = sites
    with urllib.request.urlopen(f"{box}/snippet.js", timeout=5) as answer:
        text = answer.read().decode()
        assert answer.headers["Content-Type"].startswith("text/javascript")
    assert '"n":"+48221234567"' in text and "data-callbox-number" in text
    assert len(text.encode()) < 3000                  # small: one request, no dependencies


def test_rules_come_from_web_source():
    assert rules(snippet_config()) == [
        {"s": "google", "m": "cpc", "n": "+48221234567", "t": SHOP_SHOWN},
        {"s": "facebook.com", "m": "", "n": "+48221234568", "t": PAPER_SHOWN}]
    assert "<" not in script(snippet_config()).split("var rules = ", 1)[1].split(";", 1)[0]
