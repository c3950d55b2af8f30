"""The LEDs on mock pins: on/off/blink by state, None pins do nothing, close is idempotent."""

import time

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.hw import leds
from firmware.hw.leds import CallbackLed, Led, StatusLed, default_pin_factory


def test_callback_led(mock_pins):
    with CallbackLed(17, pin_factory=mock_pins) as led:
        pin = mock_pins.pin(17)
        assert pin.state is False
        led.show_queue(3)
        assert pin.state is True and led.mode == "on"
        led.show_queue(0)
        assert pin.state is False
    assert led.closed
    led.close()                                  # idempotent
    led.show_queue(1)                            # a closed LED ignores updates


def test_status_led_blinks_while_a_trunk_is_down(mock_pins, monkeypatch):
    monkeypatch.setattr(leds, "BLINK_SECONDS", 0.02)
    with StatusLed(27, pin_factory=mock_pins) as led:
        pin = mock_pins.pin(27)
        led.show_trunks({"a": True, "b": True})
        assert pin.state is True
        led.show_trunks({"a": True, "b": False})
        assert led.mode == "blink"
        time.sleep(0.15)
        changes = [s.state for s in pin.states]
        assert changes.count(True) >= 3 and changes.count(False) >= 3
        led.show_trunks({"a": True, "b": True})
        assert pin.state is True
        led.show_trunks({})                      # no trunks: nothing is down
        assert led.mode == "on"


def test_repeating_a_state_keeps_the_blink_rhythm(mock_pins, monkeypatch):
    monkeypatch.setattr(leds, "BLINK_SECONDS", 0.02)
    with StatusLed(27, pin_factory=mock_pins) as led:
        led.show_trunks({"a": False})
        thread = led._led._blink_thread
        led.show_trunks({"a": False})
        assert led._led._blink_thread is thread


def test_no_pin_is_a_no_op():
    with CallbackLed(None) as led:
        led.show_queue(5)
        assert led.mode == "on" and led.pin is None
    StatusLed(None).show_trunks({"a": False})


def test_unknown_mode(mock_pins):
    with Led(4, pin_factory=mock_pins) as led, pytest.raises(ValueError):
        led.show("dim")


def test_default_pin_factory(tmp_path, monkeypatch):
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    model = tmp_path / "model"
    assert isinstance(default_pin_factory(model), MockFactory)          # no device tree
    model.write_text("Raspberry Pi 4 Model B Rev 1.4\x00")
    assert default_pin_factory(model) is None
    model.write_text("Generic x86 board")
    assert isinstance(default_pin_factory(model), MockFactory)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "lgpio")
    assert default_pin_factory(model) is None
