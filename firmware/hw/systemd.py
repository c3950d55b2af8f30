"""sd_notify(3) in plain Python: tell systemd the box is ready, alive, or stopping.

The service (systemd/callbox.service) is `Type=notify` with `WatchdogSec=`: systemd hands the
box a unix datagram socket in $NOTIFY_SOCKET ("@name" for the abstract namespace) and the
watchdog period in $WATCHDOG_USEC. The box sends READY=1 once SIP listens, WATCHDOG=1 from its
asyncio loop (so a stuck loop is what stops the pings and gets the box restarted), and
STOPPING=1 on SIGTERM. Outside systemd there is no $NOTIFY_SOCKET and every call does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Mapping

logger = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify messages to `address` (None: do nothing)."""

    def __init__(self, address: str | None, *, watchdog_seconds: float | None = None):
        self.address = address or None
        self.watchdog_seconds = watchdog_seconds
        self._warned = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None,
                         pid: int | None = None) -> "Notifier":
        """The notifier systemd set up for this process ($NOTIFY_SOCKET, $WATCHDOG_USEC).

        The watchdog applies only when $WATCHDOG_PID is unset or names this process.
        """
        env = os.environ if environ is None else environ
        watchdog = None
        usec = env.get("WATCHDOG_USEC", "")
        owner = env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (
                not owner or owner == str(os.getpid() if pid is None else pid)):
            watchdog = int(usec) / 1_000_000
        return cls(env.get("NOTIFY_SOCKET"), watchdog_seconds=watchdog)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *assignments: str) -> bool:
        """Send "KEY=value" lines in one datagram; True when systemd got it."""
        if self.address is None:
            return False
        target = self.address
        if target.startswith("@"):
            target = "\0" + target[1:]
        elif not target.startswith("/"):
            self._warn(f"unsupported NOTIFY_SOCKET {self.address!r}")
            return False
        message = "\n".join(assignments).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, target)
        except OSError as exc:
            self._warn(f"cannot notify systemd on {self.address}: {exc}")
            return False
        return True

    def _warn(self, text: str) -> None:
        if not self._warned:           # once: a broken socket must not flood the log
            self._warned = True
            logger.warning("%s", text)

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    async def watchdog_forever(self) -> None:
        """Ping the watchdog at half its period, for as long as the event loop runs.

        Returns at once when systemd asked for no watchdog.
        """
        if not self.enabled or not self.watchdog_seconds:
            return
        interval = self.watchdog_seconds / 2
        while True:
            self.watchdog()
            await asyncio.sleep(interval)
