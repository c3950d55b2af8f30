"""Fixtures shared by the whole test suite."""

import pytest
from gpiozero.pins.mock import MockFactory


@pytest.fixture
def mock_pins():
    """A fresh gpiozero MockFactory; pass it as pin_factory=, read pins with .pin(n).state."""
    factory = MockFactory()
    yield factory
    factory.reset()
