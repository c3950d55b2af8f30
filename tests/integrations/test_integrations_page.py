"""Settings > Integrations in the panel: deliveries listed, send again, send a test, secrets
shown only as set / not set; and the page in chromium (screenshot)."""

from __future__ import annotations

import re
import threading
from datetime import date

import pytest

from firmware.integrations.service import Integrations
from firmware.integrations.summary_mail import compose
from firmware.tracker.service import Tracker
from firmware.webui.app import create_app, serve
from firmware.webui.users import UserStore
from tests.integrations.browser import shot, stop_waitress
from tests.integrations.integ_helpers import SECRET, T0, Clock, h, webhook
from tests.integrations.receiver import Receiver
from tests.e2e.rig import free_port_block

GA4 = '\n[ga4]\nmeasurement_id = "G-TEST123"\napi_secret = "ga4-secret-value"\nendpoint = "{}"\n'
EMAIL = ('\n[email]\nsmtp = "127.0.0.1:{}"\nfrom = "callbox@hotel.example"\n'
         'password = "smtp-secret-value"\nweekly_to = ["owner@hotel.example"]\n')


class Live:
    """The panel under waitress with a real tracker, integrations and a receiver."""

    def __init__(self, tmp_path, receiver: Receiver):
        self.receiver = receiver
        text = h.CONFIG.replace('source = "Outdoor"', 'source = "Outdoor"\nweb_source = "google/cpc"')
        ga4_url = receiver.url.replace("/hooks/callbox", "/mp/collect")
        text += webhook(receiver.url) + GA4.format(ga4_url) + EMAIL.format(free_port_block(1))
        path = tmp_path / "callbox.toml"
        path.write_text(text)
        from firmware.config import load_config

        self.config = load_config(path)
        self.clock = Clock()
        self.service = Integrations(self.config, tmp_path, clock=self.clock)
        self.service.open()
        self.tracker = Tracker(self.config, tmp_path)
        self.tracker.subscribe(self.service.listen)
        self.tracker.start()
        self.service.start_mail(self.tracker)
        self.users = UserStore(tmp_path, hasher=h.FAST_HASHER)
        self.users.set_password(h.OWNER, h.OWNER_PW, "owner")
        self.app = create_app(self.config, self.tracker, self.users, testing=True,
                              config_path=path, integrations=self.service,
                              secret_key="test-secret")
        self.server = serve(self.app, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self):
        stop_waitress(self.server, self.thread)
        self.tracker.stop()
        self.service.stop()


@pytest.fixture
def receiver():
    with Receiver(answers=[500]) as receiver:
        yield receiver


@pytest.fixture
def live(tmp_path, receiver):
    box = Live(tmp_path, receiver)
    h.feed(box.tracker, h.inbound(T0 - 400, h.MOBILE, h.SHOP, talk=60),
           h.inbound(T0 - 200, h.MOBILE2, h.PAPER, talk=None))
    box.service.run_once(T0)
    yield box
    box.close()


def owner_client(live):
    client = h.english_client(live.app)
    assert h.sign_in(client, h.OWNER, h.OWNER_PW).status_code == 302
    return client


def test_page_lists_deliveries_and_never_shows_secrets(live):
    client = owner_client(live)
    html = client.get("/settings/integrations").get_data(as_text=True)
    items = live.service.deliveries()
    assert len(items) == 5          # 2 call.ended + 1 call.missed webhooks, 2 GA4 events
    for item in items:
        assert item.id in html
    assert "HTTP 500" in html and "waiting" in html and "delivered" in html
    for secret in (SECRET, "ga4-secret-value", "smtp-secret-value"):
        assert secret not in html
    assert "Secret" in html and ">set<" in html
    assert '&lt;script src="http://localhost/snippet.js" async&gt;&lt;/script&gt;' in html


def test_send_again_and_send_a_test_from_the_page(live, receiver):
    client = owner_client(live)
    token = h.page_token(client, "/settings/integrations")
    delivered = next(i for i in live.service.deliveries() if i.last_status == 500)
    answer = client.post(f"/settings/integrations/again/{delivered.id}",
                         data={"csrf_token": token})
    assert answer.status_code == 303
    answer = client.post("/settings/integrations/test",
                         data={"csrf_token": token, "url": receiver.url})
    assert answer.status_code == 303
    live.clock.now += 1
    live.service.run_once(live.clock.now)
    ids = [g["headers"].get("X-Callbox-Delivery") for g in receiver.got]
    assert ids.count(delivered.id) == 2
    assert re.search(r'"event":"test"', receiver.delivered()[-1]["body"].decode())
    assert client.post("/settings/integrations/again/dlv_nope",
                       data={"csrf_token": token}).status_code == 404
    assert client.post("/settings/integrations/test",
                       data={"csrf_token": token, "url": "http://127.0.0.1:1/other"}
                       ).status_code == 400


def test_send_now_reports_a_failure_on_the_page(live):
    client = owner_client(live)
    token = h.page_token(client, "/settings/integrations")
    answer = client.post("/settings/integrations/send-summary", data={"csrf_token": token},
                         follow_redirects=True)
    html = answer.get_data(as_text=True)
    assert "The summary was not sent: cannot reach 127.0.0.1" in html
    assert "Last attempt failed" in html
    assert "smtp-secret-value" not in html


def test_staff_and_strangers_cannot_reach_it(live):
    live.users.set_password(h.STAFF, h.STAFF_PW, "staff", "101")
    client = h.english_client(live.app)
    assert client.get("/settings/integrations").status_code == 302
    assert h.sign_in(client, h.STAFF, h.STAFF_PW).status_code == 302
    assert client.get("/settings/integrations").status_code == 403


def test_the_page_in_chromium(live, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="en-GB")
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live.url + "/login")
    page.fill('input[name="user"]', h.OWNER)
    page.fill('input[name="password"]', h.OWNER_PW)
    page.click('button[type="submit"]')
    page.goto(live.url + "/settings/integrations")
    assert page.locator("table.deliveries tbody tr").count() == 5
    page.locator("#webhooks button", has_text="Send a test").click()
    assert "queued" in page.locator(".flash").inner_text()
    shot(page, "settings-integrations")
    live.receiver.body = (b'{"validationMessages": [{"fieldPath": "events", "description": '
                          b'"Example message from the debug endpoint"}]}')
    page.locator("#ga4 button", has_text="Validate").click()
    answer = page.locator(".ga4-answer").inner_text()
    assert "HTTP 200" in answer and "Example message from the debug endpoint" in answer
    shot(page, "settings-integrations-ga4-validated")
    page.locator("#email button").click()
    assert "not sent" in page.locator(".flash").inner_text()
    page.locator("#email").screenshot(path=str(shot(page, "settings-integrations-email")))
    assert errors == []
    # the weekly e-mail's HTML part as a mail client shows it
    start, end = date(2023, 11, 13), date(2023, 11, 19)
    message = compose(live.config, live.tracker.summary(start, end), live.tracker.callbacks(),
                      start, end, T0)
    mail = browser.new_page(viewport={"width": 700, "height": 600})   # not under the panel's CSP
    mail.set_content(message.get_body(("html",)).get_content())
    assert "Newspaper" in mail.inner_text("body")
    shot(mail, "email-weekly-summary")
    mail.close()
    page.close()
