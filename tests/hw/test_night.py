"""The night-mode button and LED on mock pins: a press toggles, the LED follows, the state
survives a restart, and routing follows the switch."""

import time

from gpiozero.pins.mock import MockFactory

from firmware.config import parse_config
from firmware.hw.night import NightSwitch
from firmware.pbx.routing import RingExtensions, route_inbound

BUTTON, LED = 22, 23


def press(factory: MockFactory, pin: int = BUTTON) -> None:
    """Press and release the button (wired to ground, pulled up), past the debounce time."""
    factory.pin(pin).drive_low()
    time.sleep(0.06)
    factory.pin(pin).drive_high()
    time.sleep(0.06)


def test_button_toggles_night_mode_and_led(mock_pins, tmp_path):
    changes = []
    with NightSwitch(BUTTON, LED, state_file=tmp_path / "night", on_change=changes.append,
                     pin_factory=mock_pins) as switch:
        led = mock_pins.pin(LED)
        assert switch.on is False and led.state is False
        press(mock_pins)
        assert switch.on is True and led.state is True
        press(mock_pins)
        assert switch.on is False and led.state is False
        assert changes == [True, False]
    assert switch.closed
    switch.close()                                   # idempotent


def test_holding_the_button_is_one_press(mock_pins):
    with NightSwitch(BUTTON, LED, pin_factory=mock_pins) as switch:
        mock_pins.pin(BUTTON).drive_low()
        time.sleep(0.2)
        assert switch.on is True
        mock_pins.pin(BUTTON).drive_high()
        time.sleep(0.06)
        assert switch.on is True


def test_state_survives_a_restart(tmp_path):
    state = tmp_path / "night"
    factory = MockFactory()
    try:
        with NightSwitch(BUTTON, LED, state_file=state, pin_factory=factory) as switch:
            press(factory)
            assert switch.on
        assert state.read_text() == "on\n"
        with NightSwitch(BUTTON, LED, state_file=state, pin_factory=factory) as switch:
            assert switch.on and factory.pin(LED).state is True
            switch.set(False)
        assert state.read_text() == "off\n"
    finally:
        factory.reset()


def test_unreadable_state_means_day(tmp_path):
    state = tmp_path / "night"
    state.write_bytes(b"\xff\xfe")
    with NightSwitch(None, None, state_file=state) as switch:
        assert switch.on is False
        assert switch.toggle() is True               # the software switch still works
    assert state.read_text() == "on\n"


def test_no_pins_no_hardware():
    with NightSwitch(None, None) as switch:
        switch.toggle()
        assert switch.on


def test_routing_follows_the_switch(mock_pins):
    config = parse_config("""
[[trunk]]
name = "provider"
host = "127.0.0.2"
register = false
[[extension]]
number = "101"
password = "secret-101"
[[extension]]
number = "103"
password = "secret-103"
[[campaign]]
name = "Shop window"
number = "+48221234567"
ring = ["101"]
after_hours_ring = ["103"]
""")
    registered = {"101", "103"}.__contains__
    with NightSwitch(BUTTON, LED, pin_factory=mock_pins) as switch:
        day = route_inbound("+48221234567", config, registered, 0.0, night=switch.on)
        press(mock_pins)
        night = route_inbound("+48221234567", config, registered, 0.0, night=switch.on)
    assert day == RingExtensions(("101",), "+48221234567", "Shop window")
    assert night == RingExtensions(("103",), "+48221234567", "Shop window")
