"""A carrier-style SIP proxy in front of the box: Kamailio from Debian with tests/e2e/kamailio.cfg.

It is run as providers run their edge: a digest registrar for the box's trunk account,
record_route on initial INVITEs, 407 on INVITEs from the customer, a PSTN gateway behind it
(SIPp on 127.0.0.2 in the tests). The proxy listens on 127.0.0.3; it is started as a
subprocess in the foreground (-DD -E), is ready when it answers OPTIONS, and is stopped by
its PID. Its log (stderr) is kept for the test's messages.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from tests import peers

CONFIG_TEMPLATE = Path(__file__).resolve().parent / "kamailio.cfg"
PROXY_IP = "127.0.0.3"
PSTN_IP = "127.0.0.2"


class Provider:
    """Kamailio as the box's SIP trunk provider, on PROXY_IP:port."""

    def __init__(self, folder: Path, port: int, *, user: str, password: str, did: str,
                 pstn_port: int, ip: str = PROXY_IP, pstn_ip: str = PSTN_IP) -> None:
        self.folder, self.ip, self.port = folder, ip, port
        self.user, self.password, self.did = user, password, did
        self.pstn_ip, self.pstn_port = pstn_ip, pstn_port
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def config_text(self) -> str:
        values = {"IP": self.ip, "PORT": str(self.port), "USER": self.user,
                  "PASSWORD": self.password, "DID": self.did, "PSTN_IP": self.pstn_ip,
                  "PSTN_PORT": str(self.pstn_port), "LOG_PREFIX": "kamailio: "}
        text = CONFIG_TEMPLATE.read_text()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        return text

    def start(self, timeout: float = 10.0) -> "Provider":
        binary = peers.which("kamailio")
        if binary is None:
            peers.missing("kamailio is not installed (Debian package kamailio)")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "kamailio.cfg"
        config.write_text(self.config_text())
        runtime = self.folder / "run"
        runtime.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, "-f", str(config), "-DD", "-E", "-m", "32", "-M", "4",
             "-P", str(self.folder / "kamailio.pid"), "-Y", str(runtime),
             "-w", str(self.folder)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self.answers_options():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("kamailio did not start:\n" + self.log()[-3000:])
            time.sleep(0.1)
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def provider_lines(self) -> list[str]:
        """The proxy's own story of each message (the xlog lines of kamailio.cfg)."""
        with self._lock:
            return [line[line.index("provider: "):] for line in self.lines
                    if "provider: " in line]

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.provider_lines():
                if text in line:
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"the proxy never logged {text!r}:\n"
                                     + "\n".join(self.provider_lines()[-40:]))
            time.sleep(0.1)

    def answers_options(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(0.3)
            port = sock.getsockname()[1]
            probe = (f"OPTIONS sip:{self.ip}:{self.port} SIP/2.0\r\n"
                     f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKready{port}\r\n"
                     f"From: <sip:probe@127.0.0.1>;tag=ready\r\nTo: <sip:{self.ip}>\r\n"
                     f"Call-ID: ready{port}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\n"
                     "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
            try:
                sock.sendto(probe.encode(), (self.ip, self.port))
                return sock.recv(65535).startswith(b"SIP/2.0 200")
            except OSError:
                return False

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM to the PID we started (Kamailio's main process ends its children)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
