"""What the panel may ask of the phone side: the live board, do not disturb, click-to-call.

Why a class of its own: the panel runs in waitress's threads and call control on the event
loop, which nothing else may touch. Each question is carried onto the loop and its answer
waited for (briefly); the B2BUA stays single-threaded and pure.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from concurrent.futures import TimeoutError as FutureTimeout

from firmware.pbx.callio import Originate

logger = logging.getLogger(__name__)
WAIT_SECONDS = 2.0


class SwitchboardBusy(RuntimeError):
    """The call path did not answer in time (or is not running)."""


class Switchboard:
    """Thread-safe front of the box's call control (`box.calls`, `box.endpoint`)."""

    def __init__(self, box) -> None:
        self.box = box

    def _on_loop(self, fn):
        loop = self.box.loop
        if loop is None or not loop.is_running():
            raise SwitchboardBusy("the call path is not running")

        async def call():
            return fn()
        try:
            return asyncio.run_coroutine_threadsafe(call(), loop).result(WAIT_SECONDS)
        except FutureTimeout:
            raise SwitchboardBusy("the call path did not answer in time") from None

    def live(self) -> dict:
        return self._on_loop(self.box.calls.live)

    def extensions(self) -> list[str]:
        return [e.number for e in self.box.config.extensions]

    def set_dnd(self, extension: str, on: bool) -> None:
        self.box.presence.set_dnd(extension, on)

    def originate(self, extension: str, number: str) -> tuple[str, str | None]:
        """(call id, None) once the desk phone is being rung, or (call id, why not)."""
        call_id = f"{int(time.time()):x}{secrets.token_hex(3)}"

        def place():
            self.box.endpoint.feed(Originate(call_id, extension, number))
            return self.box.calls.refused.pop(call_id, None)
        return call_id, self._on_loop(place)
