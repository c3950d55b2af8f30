"""The box's LEDs as listeners of the tracker: the callback LED and the trunk status LED.

Why a module of its own: the tracker drives no hardware (GUIDE.md). It publishes what waits
("waiting.changed") and how the trunks are ("trunks.changed", tracker/publish.py); this
listener turns that into pin states, and box.py wires it to `tracker.published` before the
tracker starts, so the LEDs light from start-up. It remembers what it was told, so a config
that moves an LED to another pin shows the same state there at once.

Listeners are called on the tracker's writer thread and on the event loop (trunk states),
and `reconfigure` comes from a web thread: one lock keeps the pins consistent.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from gpiozero import GPIOZeroError

from firmware.config import Hw
from firmware.hw.leds import CallbackLed, Led, StatusLed, default_pin_factory
from firmware.tracker.publish import TRUNKS_CHANGED, WAITING_CHANGED

logger = logging.getLogger(__name__)


class Indicators:
    """The callback LED (lit while anything waits) and the status LED (steady while every
    trunk is up, blinking while one is down), on the pins `[hw]` names."""

    def __init__(self, hw: Hw, *, pin_factory=None) -> None:
        self._lock = threading.Lock()
        self._pin_factory = pin_factory
        self._pins: tuple[int | None, int | None] = (None, None)
        self._waiting = 0
        self._trunks: dict[str, bool] | None = None    # None: not told yet, LED dark
        self.callback: CallbackLed = CallbackLed(None)
        self.status: StatusLed = StatusLed(None)
        self.reconfigure(hw)

    def listen(self, kind: str, data: Any) -> None:
        """A tracker listener (tracker.published.listen)."""
        with self._lock:
            if kind == WAITING_CHANGED:
                self._waiting = int(data["waiting"])
                self.callback.show_queue(self._waiting)
            elif kind == TRUNKS_CHANGED:
                self._trunks = dict(data)
                self.status.show_trunks(self._trunks)

    def reconfigure(self, hw: Hw) -> None:
        """Use the pins of `hw` (a config saved from the panel); unchanged pins stay as they
        are, moved ones are opened anew and show what was last told."""
        pins = (hw.callback_led, hw.status_led)
        with self._lock:
            if pins == self._pins:
                return
            self._close()
            if self._pin_factory is None and any(pin is not None for pin in pins):
                self._pin_factory = default_pin_factory()
            self.callback = _led(CallbackLed, pins[0], self._pin_factory)
            self.status = _led(StatusLed, pins[1], self._pin_factory)
            self._pins = pins
            self.callback.show_queue(self._waiting)
            if self._trunks is not None:
                self.status.show_trunks(self._trunks)

    def close(self) -> None:
        """Let the pins go (idempotent)."""
        with self._lock:
            self._close()
            self._pins = (None, None)

    def _close(self) -> None:
        self.callback.close()
        self.status.close()


def _led(kind: type[Led], pin: int | None, pin_factory) -> Any:
    """The LED, or a no-op one when the pin cannot be used: a lamp must not stop the box."""
    try:
        return kind(pin, pin_factory=pin_factory)
    except GPIOZeroError as exc:
        logger.error("%s on GPIO %s unusable, left dark: %s", kind.__name__, pin, exc)
        return kind(None)
