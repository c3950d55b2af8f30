"""dnsmasq (Debian's dnsmasq-base) as the DNS server a trunk's name is looked up in.

It serves only what a test gives it (SRV and A records under a `--local` domain, so other
names there get NXDOMAIN), on 127.0.0.1 and a port of the test's block, in the foreground
(`-k`), and is stopped by its PID.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from firmware.pbx import dnswire
from tests.peers import missing, which

# Debian puts it in /usr/sbin, which is not on a normal user's PATH.
DNSMASQ = which("dnsmasq") or next(
    (str(p) for p in (Path("/usr/sbin/dnsmasq"), Path("/sbin/dnsmasq")) if p.exists()), None)


def require_dnsmasq() -> str:
    """The dnsmasq binary; a missing one skips the test, or fails it under CI=true."""
    if DNSMASQ is None:
        missing("dnsmasq is not installed (Debian package dnsmasq-base)")
    return DNSMASQ


class Dnsmasq:
    def __init__(self, port: int, *, domain: str = "trunk.test",
                 srv: tuple[str, ...] = (), hosts: tuple[str, ...] = ()) -> None:
        """`srv`: "_sip._udp.trunk.test,sip1.trunk.test,5071,10,50" (name,target,port,
        priority,weight); `hosts`: "sip1.trunk.test,127.0.0.3"."""
        self.port = port
        self.command = [require_dnsmasq(), "-k", "--conf-file=/dev/null", "--no-resolv",
                        "--no-hosts",
                        f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
                        "--pid-file=", "--log-facility=-", "--log-queries",
                        f"--local=/{domain}/", "--local-ttl=60"]
        self.command += [f"--srv-host={item}" for item in srv]
        self.command += [f"--host-record={item}" for item in hosts]
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Dnsmasq":
        self.proc = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 5
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.settimeout(0.2)
            while True:
                assert self.proc.poll() is None, self.log()
                probe.sendto(dnswire.build_query(1, "ready.invalid", dnswire.TYPE_A),
                             ("127.0.0.1", self.port))
                try:
                    probe.recv(512)
                    return self
                except OSError:
                    assert time.monotonic() < deadline, "dnsmasq did not answer"

    def log(self) -> str:
        if self.proc is None or self.proc.poll() is None:
            return ""
        return self.proc.stdout.read() if self.proc.stdout else ""

    def stop(self) -> str:
        """Stop it (SIGTERM to its PID); returns its log (queries included)."""
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        out = self.proc.stdout.read() if self.proc.stdout else ""
        self.proc = None
        return out
