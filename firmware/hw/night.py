"""Night mode by hand: a push button toggles it, a LED shows it.

Night mode sends every campaign's calls to its after-hours targets whatever the clock says
(`routing.route_inbound(..., night=switch.on)`). State held here: whether night mode is on. It
is kept in a small file in the data folder, so a power cut at night does not wake the day
phones; a missing or unreadable file means day mode.

Like every gpiozero device: keyword-only `pin_factory`, a context manager, an idempotent
`close()`. A pin of None (not fitted) leaves only the software switch.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable

from gpiozero import LED, Button

from firmware.atomic import atomic_write

logger = logging.getLogger(__name__)

BOUNCE_SECONDS = 0.05


class NightSwitch:
    """Night mode: `on`, toggled by the button on `button_pin`, shown on `led_pin`."""

    def __init__(self, button_pin: int | None, led_pin: int | None, *,
                 state_file: Path | None = None,
                 on_change: Callable[[bool], None] | None = None, pin_factory=None):
        self._lock = threading.Lock()
        self._state_file = state_file
        self._on_change = on_change
        self._on = _read_state(state_file)
        self._led = LED(led_pin, pin_factory=pin_factory) if led_pin is not None else None
        try:
            self._button = (Button(button_pin, pull_up=True, bounce_time=BOUNCE_SECONDS,
                                   pin_factory=pin_factory)
                            if button_pin is not None else None)
        except BaseException:
            if self._led is not None:
                self._led.close()
            raise
        if self._button is not None:
            self._button.when_pressed = self._pressed
        self._show()

    @property
    def on(self) -> bool:
        """Whether night mode is on (read by routing for every new inbound call)."""
        return self._on

    def toggle(self) -> bool:
        """Switch night mode over; returns the new state."""
        with self._lock:
            return self._set(not self._on)

    def set(self, on: bool) -> None:
        with self._lock:
            self._set(bool(on))

    def _set(self, on: bool) -> bool:
        if on == self._on:
            return on
        self._on = on
        logger.info("night mode %s", "on: after-hours routing" if on else "off")
        self._show()
        self._save()
        if self._on_change is not None:
            self._on_change(on)
        return on

    def _pressed(self) -> None:
        self.toggle()

    def _show(self) -> None:
        if self._led is not None:
            if self._on:
                self._led.on()
            else:
                self._led.off()

    def _save(self) -> None:
        if self._state_file is None:
            return
        try:
            atomic_write(self._state_file, b"on\n" if self._on else b"off\n")
        except OSError as exc:   # the switch still works; only a restart would forget it
            logger.error("night mode: cannot save %s: %s", self._state_file, exc)

    def close(self) -> None:
        """Release the pins; idempotent. The LED goes dark, the state file stays."""
        for device in (self._button, self._led):
            if device is not None:
                device.close()
        self._button = self._led = None

    @property
    def closed(self) -> bool:
        return self._button is None and self._led is None

    def __enter__(self) -> "NightSwitch":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _read_state(path: Path | None) -> bool:
    if path is None:
        return False
    try:
        return path.read_text(encoding="ascii").strip() == "on"
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("night mode: cannot read %s (%s): day mode", path, exc)
        return False
