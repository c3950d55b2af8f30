"""The box's LEDs: gpiozero LEDs behind a keyword-only pin_factory, like every gpiozero device.

- CallbackLed: lit while callers wait to be called back, dark when the queue is empty.
- StatusLed: steady while every trunk is up, blinking while one is down.
A pin of None (the LED is not fitted, `[hw]` leaves it out) gives an object that does nothing,
so callers never test for it. Each LED remembers what it shows and only touches the pin when
that changes, so a blink keeps its rhythm however often the state is re-sent.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping

from gpiozero import LED
from gpiozero.pins.mock import MockFactory

logger = logging.getLogger(__name__)

OFF, ON, BLINK = "off", "on", "blink"
BLINK_SECONDS = 0.5
DEVICE_TREE_MODEL = Path("/proc/device-tree/model")


def default_pin_factory(model_file: Path = DEVICE_TREE_MODEL):
    """None (gpiozero's own choice) on a Raspberry Pi or when GPIOZERO_PIN_FACTORY is set;
    a MockFactory elsewhere, so the box runs on any computer instead of failing on GPIO."""
    if os.environ.get("GPIOZERO_PIN_FACTORY"):
        return None
    try:
        model = model_file.read_text(errors="replace")
    except OSError:
        model = ""
    if "Raspberry Pi" in model:
        return None
    logger.info("not a Raspberry Pi: mock GPIO pins")
    return MockFactory()


class Led:
    """One LED on a BCM pin, or nothing when `pin` is None."""

    name = "led"

    def __init__(self, pin: int | None, *, pin_factory=None):
        self.pin = pin
        self._led = LED(pin, pin_factory=pin_factory) if pin is not None else None
        self._mode = OFF

    @property
    def mode(self) -> str:
        """What the LED shows: "off", "on" or "blink"."""
        return self._mode

    def show(self, mode: str) -> None:
        if mode not in (OFF, ON, BLINK):
            raise ValueError(f"unknown LED mode {mode!r}")
        if mode == self._mode or self._led is None:
            self._mode = mode
            return
        logger.info("led: %s (pin %d) %s", self.name, self.pin, mode)
        if mode == ON:
            self._led.on()
        elif mode == OFF:
            self._led.off()
        else:
            self._led.blink(on_time=BLINK_SECONDS, off_time=BLINK_SECONDS, background=True)
        self._mode = mode

    def close(self) -> None:
        if self._led is not None:
            self._led.close()
            self._led = None

    @property
    def closed(self) -> bool:
        return self._led is None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class CallbackLed(Led):
    """Lit while the callback queue is not empty."""

    name = "callback"

    def show_queue(self, waiting: int) -> None:
        self.show(ON if waiting > 0 else OFF)


class StatusLed(Led):
    """Steady while every trunk is up; blinking while one is down."""

    name = "status"

    def show_trunks(self, trunks_up: Mapping[str, bool]) -> None:
        self.show(ON if all(trunks_up.values()) else BLINK)
