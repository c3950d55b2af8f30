"""The test rig: the real box as a subprocess, SIPp and softphones as its peers, on loopback.

The box listens on 127.0.0.1; peers take other loopback addresses (trunk 127.0.0.2, desk
phones 127.0.0.11 and up). Each test gets its own ports so tests can run side by side.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

SIPP_DIR = Path(__file__).resolve().parent.parent / "sipp"
_ports = itertools.count(20000 + (os.getpid() % 200) * 100, 10)


def free_port_block(size: int = 10) -> int:
    """The first of `size` consecutive ports nobody on loopback uses now (UDP and TCP)."""
    while True:
        base = next(_ports)
        for _ in range((size - 1) // 10):       # the block's other tens are taken too
            next(_ports)
        if all(_free(base + i) for i in range(size)):
            return base


def _free(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def box_config(sip_port: int, web_port: int, rtp_base: int = 30000, extra: str = "") -> str:
    """A test config: extensions 101-103, one campaign, the given ports."""
    return f"""
[box]
name = "Test box"
timezone = "Europe/Warsaw"
country = "PL"
currency = "PLN"

[sip]
listen = "127.0.0.1:{sip_port}"
rtp_ports = "{rtp_base}-{rtp_base + 198}"

[web]
listen = "127.0.0.1:{web_port}"

[[extension]]
number = "101"
name = "Reception"
password = "secret-101-pw"

[[extension]]
number = "102"
name = "Sales"
password = "secret-102-pw"

[[extension]]
number = "103"
name = "Manager"
password = "secret-103-pw"

[[campaign]]
name = "Shop window"
number = "+48221234567"
source = "Outdoor"
lead_value = 300
ring = ["101", "102"]
{extra}
"""


class BoxProcess:
    """`callbox run` in a subprocess, its log collected line by line."""

    def __init__(self, config_path: Path, data_dir: Path) -> None:
        self.config_path = config_path
        self.data_dir = data_dir
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._cond = threading.Condition()

    def start(self, wait_ready: bool = True) -> "BoxProcess":
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.lines = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "firmware", "run", "--config", str(self.config_path),
             "--data", str(self.data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        if wait_ready:
            self.wait_for("callbox: ready", timeout=90)   # a bound for a loaded machine
        return self

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, pattern: str, timeout: float = 15.0) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen_exit = False
        with self._cond:
            while True:
                for line in self.lines:
                    if regex.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or seen_exit:
                    raise AssertionError(f"no log line matching {pattern!r}; log:\n"
                                         + "\n".join(self.lines[-40:]))
                # once the box has exited, give the reader one more moment to drain its output
                seen_exit = self.proc is not None and self.proc.poll() is not None
                self._cond.wait(min(left, 0.3))

    def log(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def sipp(scenario: str, target: str, *, local_ip: str, local_port: int, args: list[str] = (),
         calls: int = 1, timeout: float = 30.0, rate: float | None = None,
         trace_dir: Path | None = None) -> subprocess.CompletedProcess:
    """Run one bounded SIPp scenario from tests/sipp; returns the finished process."""
    command = ["sipp", target, "-sf", str(SIPP_DIR / scenario), "-i", local_ip,
               "-p", str(local_port), "-m", str(calls), "-timeout", f"{int(timeout)}s",
               "-timeout_error", "-nostdin", "-nd"]
    if rate is not None:
        command += ["-r", str(rate)]
    if trace_dir is not None:
        command += ["-trace_msg", "-trace_err"]
    command += list(args)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout + 15,
                          cwd=trace_dir or None)


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


class Baresip:
    """A real softphone (baresip) registered to the box as one extension."""

    def __init__(self, folder: Path, extension: str, password: str, box_port: int,
                 ip: str, port: int, *, auto_answer: bool = False,
                 source: str = "ausine,440", player: str = "aufile,/dev/null",
                 ctrl_port: int | None = None) -> None:
        self.folder = folder
        self.ip, self.ctrl_port = ip, ctrl_port
        ctrl = f"module_app ctrl_tcp.so\nctrl_tcp_listen {ip}:{ctrl_port}\n" if ctrl_port else ""
        folder.mkdir(parents=True, exist_ok=True)
        answer = ";answermode=auto" if auto_answer else ""
        (folder / "accounts").write_text(
            f"<sip:{extension}@127.0.0.1:{box_port};transport=udp>"
            f";auth_pass={password};regint=600{answer}\n")
        (folder / "config").write_text(f"""
poll_method epoll
sip_listen {ip}:{port}
module_path /usr/lib/baresip/modules
module g711.so
module ausine.so
module aufile.so
module_app account.so
module_app menu.so
audio_source {source}
audio_player {player}
audio_alert aufile,/dev/null
rtp_ports {port + 2}-{port + 40}
net_interface {ip}
{ctrl}""")
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Baresip":
        self.proc = subprocess.Popen(["baresip", "-f", str(self.folder)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def command(self, command: str, params: str = "") -> None:
        """A command of baresip's menu (what its keys do) over ctrl_tcp: "transfer", "hangup"."""
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        with socket.create_connection((self.ip, self.ctrl_port), timeout=5) as sock:
            sock.sendall(str(len(body)).encode() + b":" + body + b",")
            sock.recv(4096)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def sipp_background(scenario: str, target: str, *, local_ip: str, local_port: int,
                    args: list[str] = (), calls: int = 1, timeout: float = 30.0,
                    cwd: Path | None = None) -> subprocess.Popen:
    """Start SIPp (a UAS phone, usually) and return at once; `finish()` collects it."""
    command = ["sipp", target, "-sf", str(SIPP_DIR / scenario), "-i", local_ip,
               "-p", str(local_port), "-m", str(calls), "-timeout", f"{int(timeout)}s",
               "-timeout_error", "-nostdin", "-nd", "-trace_err", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=cwd)


def finish(proc: subprocess.Popen, timeout: float = 40.0) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return proc.returncode, out[-3000:]


def scenario(name: str, folder: Path, **values: str) -> Path:
    """A copy of tests/sipp/NAME with {{KEY}} filled in (SIPp reads no keys in some places)."""
    text = (SIPP_DIR / name).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    path = folder / f"filled-{name}"
    path.write_text(text)
    return path
