"""Fixtures for tracker tests: the test config and started Trackers in a temporary folder."""

import pytest

import tracker_events as te
from firmware.hw.indicators import Indicators
from firmware.tracker.service import Tracker


@pytest.fixture
def cfg():
    return te.config()


@pytest.fixture
def make_tracker(tmp_path, mock_pins, cfg):
    """make_tracker(config=None, clock=None) -> a started Tracker on tmp_path (stopped after),
    with the box's LEDs on `mock_pins` listening to it as box.py wires them."""
    made, leds = [], []

    def make(config=None, clock=None, pins=None):
        kwargs = {}
        if clock is not None:
            kwargs["clock"] = clock
        config = config or cfg
        tracker = Tracker(config, tmp_path, **kwargs)
        for earlier in leds:               # a new box on the same pins: the old one let go
            earlier.close()
        leds.append(Indicators(config.hw, pin_factory=pins or mock_pins))
        tracker.published.listen(leds[-1].listen)
        tracker.start()
        made.append(tracker)
        return tracker

    yield make
    for tracker in made:
        tracker.stop()
    for indicators in leds:
        indicators.close()



@pytest.fixture(scope="module", autouse=True)
def _at_frozen_now(frozen_clock):
    """Every test here runs at tests/conftest.py's FROZEN_NOW, never at today's date."""
    return frozen_clock
