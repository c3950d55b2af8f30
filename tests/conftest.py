"""Fixtures shared by the whole test suite."""

from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from gpiozero.pins.mock import MockFactory


@pytest.fixture
def mock_pins():
    """A fresh gpiozero MockFactory; pass it as pin_factory=, read pins with .pin(n).state."""
    factory = MockFactory()
    yield factory
    factory.reset()


# -- a frozen "now" ------------------------------------------------------------------------------
# Tests never depend on the day they run or the time of day (reports over "the last 7 days",
# the callback queue's waiting times, the year shown in dates). Test modules that build calls
# around "now" run with the wall clock moved to FROZEN_NOW (time-machine: time.time(),
# datetime.now() and date.today() everywhere in this process, every thread); it keeps ticking
# from there so timeouts and waits still work. The monotonic clock is left alone.
FROZEN_NOW = datetime(2026, 6, 10, 14, 0, tzinfo=ZoneInfo("Europe/Warsaw"))   # a Wednesday


@contextmanager
def frozen_now(moment: datetime = FROZEN_NOW):
    """The wall clock at `moment` (ticking) for the duration of the block."""
    with time_machine.travel(moment, tick=True):
        yield moment


@pytest.fixture(scope="module")
def frozen_clock():
    """FROZEN_NOW for a whole test module (module fixtures that seed calls included)."""
    with frozen_now() as moment:
        yield moment


# -- peers that may be missing (tests/peers.py) ---------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line("markers", "peer_missing(reason): a peer this test needs is absent "
                            "(skipped; a failure under CI=true)")
    config.addinivalue_line("markers", "peer_present: the peer named by tests.peers.needs is here")


def pytest_runtest_setup(item):
    from tests.peers import missing
    for mark in item.iter_markers("peer_missing"):
        missing(mark.args[0])
