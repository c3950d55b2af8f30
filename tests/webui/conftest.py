"""Fixtures for the web panel: the real Tracker on a temporary folder, users, the app."""

import pytest

import webui_helpers as h
from firmware.tracker.service import Tracker
from firmware.webui.app import create_app
from firmware.webui.users import UserStore
from webui_helpers import FAST_HASHER, english_client


@pytest.fixture
def config():
    return h.config()


@pytest.fixture
def tracker(tmp_path, config):
    tracker = Tracker(config, tmp_path)
    tracker.start()
    yield tracker
    tracker.stop()


@pytest.fixture
def empty_users(tmp_path):
    return UserStore(tmp_path, hasher=FAST_HASHER)


@pytest.fixture
def users(empty_users):
    empty_users.set_password(h.OWNER, h.OWNER_PW, "owner")
    empty_users.set_password(h.STAFF, h.STAFF_PW, "staff", "101")
    empty_users.set_password(h.OTHER, h.OTHER_PW, "staff", "102")
    return empty_users


@pytest.fixture
def app(config, tracker, users):
    return create_app(config, tracker, users, secret_key="test-secret", testing=True,
                      health=lambda: {"sip": "ok", "trunks": {"provider": "registered"},
                                      "storage": "ok"})


@pytest.fixture
def client(app):
    return english_client(app)


@pytest.fixture
def owner(client):
    """A test client signed in as the owner."""
    assert h.sign_in(client, h.OWNER, h.OWNER_PW).status_code == 302
    return client


@pytest.fixture
def staff(client):
    """A test client signed in as staff on extension 101."""
    assert h.sign_in(client, h.STAFF, h.STAFF_PW).status_code == 302
    return client


@pytest.fixture
def seeded(tracker):
    h.seed(tracker)
    return tracker


@pytest.fixture(scope="module", autouse=True)
def _at_frozen_now(frozen_clock):
    """Every test here runs at tests/conftest.py's FROZEN_NOW, never at today's date."""
    return frozen_clock
