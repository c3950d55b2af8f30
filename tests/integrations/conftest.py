"""Fixtures for the integrations: the real Tracker and the service on a frozen clock."""

import pytest

from firmware.integrations.service import Integrations
from firmware.tracker.service import Tracker
from tests.integrations.browser import launch, need_chromium
from tests.integrations.integ_helpers import Clock


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make_integrations(tmp_path, clock):
    made = []

    def make(config, **kwargs):
        service = Integrations(config, tmp_path / "data", clock=clock, **kwargs)
        service.open()
        made.append(service)
        return service

    yield make
    for service in made:
        service.stop()


@pytest.fixture
def make_tracker(tmp_path):
    made = []

    def make(config, service):
        tracker = Tracker(config, tmp_path / "data")
        tracker.subscribe(service.listen)
        tracker.start()
        made.append(tracker)
        return tracker

    yield make
    for tracker in made:
        tracker.stop()


@pytest.fixture(scope="module")
def browser():
    sync_api = need_chromium()
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()
