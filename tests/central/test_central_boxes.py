"""Real boxes (Tracker + outbox + uplink thread) report over HTTP into a real central
(waitress + PostgreSQL): the central's figures for a site equal the box's own, an outage
loses nothing and counts nothing twice, a wrong token keeps the outbox."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import urllib.request
from datetime import date

import pytest
from waitress import create_server

from firmware.central.app import create_central_app
from firmware.config import CentralLink
from firmware.tracker.query import CallFilter
from firmware.tracker.service import Tracker
from firmware.uplink.outbox import Outbox
from firmware.uplink.sender import Uplink, attach
from tests.central.conftest import TOKENS
from tests.e2e.rig import free_port_block
from tests.tracker import tracker_events as te

PERIODS = [(date(2024, 5, 1), date(2024, 5, 31)), (date(2024, 5, 6), date(2024, 5, 6)),
           (date(2024, 4, 1), date(2024, 6, 30))]
FIGURE_KEYS = ("answered", "missed", "to_call_back", "avg_wait_seconds", "target_calls",
               "first_time_callers", "top_campaigns", "top_sources", "calls_by_hour",
               "value_over_time", "caller_line_types", "calls", "value", "callbacks_recovered")


class CentralServer:
    def __init__(self, central, port: int):
        self.app = create_central_app(central, secret_key="test-secret")
        self.server = create_server(self.app, host="127.0.0.1", port=port, threads=4)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self):
        self.server.close()
        self.thread.join(5)

    def get(self, path: str) -> dict:
        auth = base64.b64encode(b"anna:a-long-password").decode()
        request = urllib.request.Request(self.url + path, headers={
            "Authorization": f"Basic {auth}"})
        with urllib.request.urlopen(request, timeout=10) as r:
            return json.loads(r.read())


@pytest.fixture
def owner(central):
    central.users.set_password("anna", "a-long-password", "owner")
    return central


@pytest.fixture
def boxes(tmp_path, mock_pins):
    made = []

    def make(site: str, url: str, token: str | None = None, config=None):
        folder = tmp_path / site
        config = config or te.config()
        tracker = Tracker(config, folder, pin_factory=mock_pins, clock=lambda: te.at(
            2024, 5, 20))
        tracker.start()
        link = CentralLink(url, site, token or TOKENS[site])
        uplink = Uplink(link, "Europe/Warsaw", Outbox(folder / "outbox").open(),
                        max_backoff=0.3)
        attach(uplink, tracker, config)         # as start_uplink does
        uplink.start()
        made.append((tracker, uplink))
        return tracker, uplink

    def stop_uplinks():
        """Before a central server closes: no request of theirs may be in flight."""
        for _, uplink in made:
            uplink.stop()

    make.stop_uplinks = stop_uplinks
    yield make
    for tracker, uplink in made:
        tracker.stop()
        uplink.stop()


def calls_for(day: int, missed_from: str = te.MOBILE2) -> list:
    return [te.inbound(te.at(2024, 5, day, 9), te.MOBILE, talk=120),
            te.inbound(te.at(2024, 5, day, 10), te.FIXED, te.PAPER, talk=10),
            te.inbound(te.at(2024, 5, day, 11), missed_from, talk=None),
            te.outbound(te.at(2024, 5, day, 15), te.MOBILE, talk=30),
            te.inbound(te.at(2024, 5, day, 23, 30), "+48700100200", talk=45)]


def drained(uplink, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while uplink.outbox.pending():
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox not drained: {uplink.state}")
        time.sleep(0.05)


def figures(summary: dict) -> dict:
    return {key: summary[key] for key in FIGURE_KEYS}


def test_the_central_figures_of_each_site_equal_its_box(owner, boxes):
    server = CentralServer(owner, free_port_block(1))
    try:
        krakow, krakow_link = boxes("Kraków", server.url)
        gdansk, gdansk_link = boxes("Gdańsk", server.url)
        te.feed(krakow, *calls_for(6), *calls_for(7, te.FIXED), *calls_for(20))
        te.feed(gdansk, *calls_for(6, "+48123456789"), *calls_for(31))
        first_answered = krakow.calls(te_filter())[-1]["id"]
        krakow.wrapup(first_answered, {"value": 1234.5, "rating": 4})
        drained(krakow_link)
        drained(gdansk_link)
        for start, end in PERIODS:
            span = f"from={start}&to={end}"
            for name, tracker in (("Kraków", krakow), ("Gdańsk", gdansk)):
                central = server.get(f"/api/summary?site={urllib.request.quote(name)}&{span}")
                assert figures(central) == figures(tracker.summary(start, end)), (name, span)
            everyone = server.get(f"/api/summary?{span}")
            one, two = krakow.summary(start, end), gdansk.summary(start, end)
            assert everyone["answered"] == one["answered"] + two["answered"]
            assert everyone["to_call_back"] == one["to_call_back"] + two["to_call_back"]
        sites = {s["name"]: s for s in server.get("/api/sites")["sites"]}
        assert sites["Kraków"]["calls"] == 15 and sites["Gdańsk"]["calls"] == 10
        kept = server.get("/api/calls?site=Krak%C3%B3w&from=2024-05-01&to=2024-05-31")["calls"]
        assert {c["id"]: c["value"] for c in kept}[first_answered] == 1234.5
        queue = server.get("/api/callbacks?site=Krak%C3%B3w")["callbacks"]
        assert [c["number"] for c in queue] == [c["number"] for c in krakow.callbacks()]
    finally:
        boxes.stop_uplinks()
        server.close()


def te_filter():
    from firmware.tracker.query import CallFilter

    return CallFilter(direction="inbound", status="answered")


def test_an_outage_of_the_central_loses_nothing_and_counts_nothing_twice(owner, boxes):
    port = free_port_block(1)
    tracker, uplink = boxes("Kraków", f"http://127.0.0.1:{port}")
    te.feed(tracker, *calls_for(6))      # the central is not there: recorded all the same
    assert tracker.calls(CallFilter())                       # the box kept its calls
    deadline = time.monotonic() + 20                         # a bound, not a speed target
    while not uplink.state.startswith("unreachable") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uplink.outbox.pending() > 0 and uplink.state.startswith("unreachable")
    server = CentralServer(owner, port)
    try:
        drained(uplink)
        te.feed(tracker, *calls_for(7))
        drained(uplink)
        server.close()                          # a second outage (the uplink is idle now)
        te.feed(tracker, *calls_for(8))
        time.sleep(0.3)
        server = CentralServer(owner, port)
        drained(uplink)
        start, end = date(2024, 5, 1), date(2024, 5, 31)
        central = server.get(f"/api/summary?site=Krak%C3%B3w&from={start}&to={end}")
        assert figures(central) == figures(tracker.summary(start, end))
        assert server.get("/api/sites")["sites"][1]["calls"] == 15
    finally:
        boxes.stop_uplinks()
        server.close()


def test_a_wrong_token_keeps_the_outbox_and_says_so(owner, boxes, caplog):
    caplog.set_level(logging.INFO)
    server = CentralServer(owner, free_port_block(1))
    try:
        tracker, uplink = boxes("Kraków", server.url, token="not-the-right-token-at-all")
        te.feed(tracker, *calls_for(6))
        deadline = time.monotonic() + 10
        while not uplink.state.startswith("refused") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert uplink.state.startswith("refused: HTTP 401")
        assert uplink.outbox.pending() >= 5
        assert "check [central] site and token" in caplog.text
        assert "wrong or missing token" in caplog.text            # the central's log
        assert server.get("/api/sites")["sites"][1]["calls"] == 0
    finally:
        boxes.stop_uplinks()
        server.close()
