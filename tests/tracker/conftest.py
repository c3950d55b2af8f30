"""Fixtures for tracker tests: the test config and started Trackers in a temporary folder."""

import pytest

import tracker_events as te
from firmware.tracker.service import Tracker


@pytest.fixture
def cfg():
    return te.config()


@pytest.fixture
def make_tracker(tmp_path, mock_pins, cfg):
    """make_tracker(config=None, clock=None) -> a started Tracker on tmp_path (stopped after)."""
    made = []

    def make(config=None, clock=None, pins=None):
        kwargs = {"pin_factory": pins or mock_pins}
        if clock is not None:
            kwargs["clock"] = clock
        tracker = Tracker(config or cfg, tmp_path, **kwargs)
        tracker.start()
        made.append(tracker)
        return tracker

    yield make
    for tracker in made:
        tracker.stop()



@pytest.fixture(scope="module", autouse=True)
def _at_frozen_now(frozen_clock):
    """Every test here runs at tests/conftest.py's FROZEN_NOW, never at today's date."""
    return frozen_clock
