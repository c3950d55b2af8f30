"""A fake GSM modem on a pseudo-terminal: a thread that speaks enough of the AT protocol
(3GPP TS 27.005/27.007) for firmware/hw/modem.py, with switches for the troubles of real ones.

The modem is reached through `link`, a symlink to the pty (as udev's /dev/serial/by-id/ links
are); `drop()` unplugs it (the port dies under the client), `plug_in()` brings it back on a
new pty behind the same link.
"""

from __future__ import annotations

import os
import re
import select
import threading
import time
import tty
from pathlib import Path


class FakeModem:
    def __init__(self, link: Path, *, pin: str = ""):
        self.link = link
        self.pin = pin
        self.unlocked = not pin
        self.sim = True            # False: +CME ERROR: 10 (SIM not inserted)
        self.network = True        # False: +CREG: 0,2 (searching)
        self.silent = False        # True: swallow everything, answer nothing (a timeout)
        self.refuse_sms = False    # True: +CMS ERROR: 500 after the text
        self.echo = True
        self.sent: list[tuple[str, str]] = []
        self.commands: list[str] = []
        self.pin_tries = 0
        self._lock = threading.Lock()
        self._master = self._slave = -1
        self._thread: threading.Thread | None = None
        self._running = False
        self.plug_in()

    # -- the line ---------------------------------------------------------------------------
    def plug_in(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tmp = self.link.with_name(self.link.name + ".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(self._slave))
        os.replace(tmp, self.link)
        self.echo = True           # a modem restarts with echo on
        self.unlocked = not self.pin
        self._running = True
        self._thread = threading.Thread(target=self._serve, args=(self._master,), daemon=True)
        self._thread.start()

    def drop(self) -> None:
        """Unplug: the pty goes away under the client."""
        self._running = False
        if self._thread is not None:
            self._thread.join(2)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    close = drop

    def wait_for_sms(self, count: int, timeout: float = 5.0) -> list[tuple[str, str]]:
        deadline = time.monotonic() + timeout
        while len(self.sent) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.sent)

    # -- the modem ----------------------------------------------------------------------------
    def _serve(self, master: int) -> None:
        buffer = b""
        text_for: str | None = None        # the number of an SMS being typed
        while self._running:
            ready, _, _ = select.select([master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(master, 1024)
            except OSError:
                return
            if self.silent:
                continue
            buffer += data
            while True:
                if text_for is not None:
                    end = re.search(rb"[\x1a\x1b]", buffer)
                    if end is None:
                        break
                    text, stop, buffer = buffer[:end.start()], buffer[end.start():end.end()], \
                        buffer[end.end():]
                    self._sms(master, text_for, text.decode("ascii"), stop == b"\x1a")
                    text_for = None
                    continue
                line_end = buffer.find(b"\r")
                if line_end < 0:
                    break
                line, buffer = buffer[:line_end].strip(b"\n").decode("ascii"), \
                    buffer[line_end + 1:]
                if self.echo:
                    self._write(master, line.encode() + b"\r")
                if line:
                    text_for = self._command(master, line)

    def _write(self, master: int, data: bytes) -> None:
        try:
            os.write(master, data)
        except OSError:
            pass

    def _answer(self, master: int, *lines: str) -> None:
        self._write(master, b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines))

    def _command(self, master: int, line: str) -> str | None:
        self.commands.append(line)
        command = line.upper()
        if command in ("AT", "AT+CMEE=1", "AT+CMGF=1"):
            self._answer(master, "OK")
        elif command == "ATE0":
            self.echo = False
            self._answer(master, "OK")
        elif not self.sim and command.startswith("AT+C"):
            self._answer(master, "+CME ERROR: 10")
        elif command == "AT+CPIN?":
            self._answer(master, "+CPIN: READY" if self.unlocked else "+CPIN: SIM PIN", "OK")
        elif command.startswith("AT+CPIN="):
            self.pin_tries += 1
            if line.split("=", 1)[1].strip('"') == self.pin:
                self.unlocked = True
                self._answer(master, "OK")
            else:
                self._answer(master, "+CME ERROR: 16")
        elif not self.unlocked:
            self._answer(master, "+CME ERROR: 11")
        elif command == "AT+CREG?":
            self._answer(master, "+CREG: 0,1" if self.network else "+CREG: 0,2", "OK")
        elif command.startswith("AT+CMGS="):
            if not self.network:
                self._answer(master, "+CMS ERROR: 331")
                return None
            self._write(master, b"\r\n> ")
            return line.split("=", 1)[1].strip('"')
        else:
            self._answer(master, "ERROR")
        return None

    def _sms(self, master: int, number: str, text: str, send: bool) -> None:
        if not send:
            self._answer(master, "OK")
        elif self.refuse_sms:
            self._answer(master, "+CMS ERROR: 500")
        else:
            self.sent.append((number, text))
            self._answer(master, f"+CMGS: {len(self.sent)}", "OK")
