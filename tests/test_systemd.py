"""The service: sd_notify over a real unix datagram socket, the whole box under a fake systemd,
and the unit, sysusers and tmpfiles files checked by systemd's own tools."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware.hw.systemd import Notifier
from tests import peers

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "systemd"
SYSTEMD_UNITS = Path("/usr/lib/systemd/system")


class NotifySocket:
    """What systemd listens on: a unix datagram socket, bound to a path or an abstract name."""

    def __init__(self, address: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.address = address

    def receive(self, timeout: float = 10.0) -> str:
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()

    def wait_for(self, wanted: str, timeout: float = 20.0) -> list[str]:
        """Messages up to and including one holding the line `wanted`."""
        seen, deadline = [], time.monotonic() + timeout
        while True:
            seen.append(self.receive(max(0.01, deadline - time.monotonic())))
            if wanted in seen[-1].splitlines():
                return seen

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path):
    listener = NotifySocket(str(tmp_path / "notify"))
    yield listener
    listener.close()


# -- sd_notify ---------------------------------------------------------------------------------

def test_ready_watchdog_stopping(notify_socket):
    notifier = Notifier(notify_socket.address)
    assert notifier.ready("SIP on 127.0.0.1:5060")
    assert notify_socket.receive() == "READY=1\nSTATUS=SIP on 127.0.0.1:5060"
    assert notifier.watchdog() and notify_socket.receive() == "WATCHDOG=1"
    assert notifier.stopping() and notify_socket.receive() == "STOPPING=1"


def test_abstract_socket():
    listener = NotifySocket(f"@callbox-test-{os.getpid()}")
    try:
        assert Notifier(listener.address).ready()
        assert listener.receive() == "READY=1"
    finally:
        listener.close()


def test_outside_systemd_nothing_happens():
    notifier = Notifier.from_environment({})
    assert not notifier.enabled and notifier.watchdog_seconds is None
    assert notifier.ready() is False
    asyncio.run(asyncio.wait_for(notifier.watchdog_forever(), 1))   # returns at once


def test_a_dead_socket_is_logged_not_raised(tmp_path, caplog):
    notifier = Notifier(str(tmp_path / "nobody-listens"))
    assert notifier.ready() is False and notifier.watchdog() is False
    assert len([r for r in caplog.records if "cannot notify" in r.getMessage()]) == 1


def test_environment(notify_socket):
    env = {"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "30000000"}
    assert Notifier.from_environment(env).watchdog_seconds == 30.0
    assert Notifier.from_environment({**env, "WATCHDOG_PID": "1"}, pid=2).watchdog_seconds \
        is None                                           # the watchdog is another process's
    assert Notifier.from_environment({**env, "WATCHDOG_PID": "2"}, pid=2).watchdog_seconds == 30


def test_watchdog_pings_from_the_event_loop(notify_socket):
    notifier = Notifier(notify_socket.address, watchdog_seconds=0.04)

    async def run_a_while():
        task = asyncio.create_task(notifier.watchdog_forever())
        await asyncio.sleep(0.11)
        task.cancel()

    asyncio.run(run_a_while())
    pings = [notify_socket.receive(1) for _ in range(4)]
    assert pings == ["WATCHDOG=1"] * 4


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (SIP listens on both)."""
    for _ in range(50):
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def test_the_box_under_systemd(tmp_path, notify_socket):
    """`callbox run` as systemd starts it: READY=1 once SIP listens, WATCHDOG=1 while it runs,
    STOPPING=1 on SIGTERM, then a clean exit."""
    config = tmp_path / "callbox.toml"
    config.write_text(f'[sip]\nlisten = "127.0.0.1:{free_port()}"\n'
                      f'rtp_ports = "20000-20099"\n[web]\nlisten = "127.0.0.1:{free_port()}"\n')
    env = {**os.environ, "NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "200000"}
    box = subprocess.Popen([sys.executable, "-m", "firmware", "run", "--config", str(config),
                            "--data", str(tmp_path / "data")], cwd=tmp_path, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        try:
            notify_socket.wait_for("READY=1")
            pings = notify_socket.wait_for("WATCHDOG=1", timeout=2)
            pings += notify_socket.wait_for("WATCHDOG=1", timeout=2)
        except TimeoutError:
            box.kill()
            pytest.fail(box.communicate()[0].decode())
        box.send_signal(signal.SIGTERM)
        notify_socket.wait_for("STOPPING=1", timeout=10)
        assert box.wait(20) == 0
    finally:
        if box.poll() is None:
            box.kill()
        output = box.communicate()[0].decode()
    assert pings.count("WATCHDOG=1") >= 2
    assert "callbox: ready" in output and "callbox: stopped" in output


# -- the unit files ----------------------------------------------------------------------------

def unit_settings(path: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_unit_hardening_as_documented():
    unit = unit_settings(UNITS / "callbox.service")
    assert unit["Type"] == ["notify"] and unit["WatchdogSec"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["StartLimitIntervalSec"] and unit["StartLimitBurst"]
    assert unit["User"] == ["callbox"] and unit["Group"] == ["callbox"]
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["ReadWritePaths"] == ["/var/lib/callbox /etc/callbox"]
    assert unit["NoNewPrivileges"] == ["yes"]
    # No port below 1024 is used (SIP 5060, RTP 10000+, panel 8080): no capability at all.
    assert unit["CapabilityBoundingSet"] == [""] and unit["AmbientCapabilities"] == [""]
    command = unit["ExecStart"][0].split()
    assert command[:2] == ["/opt/callbox/venv/bin/callbox", "run"]
    assert command[2:] == ["--config", "/etc/callbox/callbox.toml", "--data", "/var/lib/callbox"]
    tmpfiles = (UNITS / "callbox.tmpfiles").read_text()
    assert re.search(r"^d\s+/var/lib/callbox\s+0750\s+callbox\s+callbox", tmpfiles, re.M)
    example = unit_settings(UNITS / "port-80.conf.example")
    assert example["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]


needs_systemd = peers.needs(
    bool(shutil.which("systemd-analyze") and SYSTEMD_UNITS.is_dir()),
    "systemd-analyze is not installed (Debian package systemd)")


def unit_root(tmp_path: Path) -> Path:
    """A root file system holding systemd's own units, ours, and a stub for every program
    our units run (they are installed by the image, not on this machine)."""
    root = tmp_path / "root"
    shutil.copytree(SYSTEMD_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    target = root / "etc/systemd/system"
    target.mkdir(parents=True)
    for unit in UNITS.glob("*.service"):
        shutil.copy(unit, target / unit.name)
        for command in unit_settings(unit).get("ExecStart", []):
            program = root / command.lstrip("-@+!").split()[0].lstrip("/")
            program.parent.mkdir(parents=True, exist_ok=True)
            program.write_text("#!/bin/sh\n")
            program.chmod(0o755)
    return root


@needs_systemd
def test_systemd_analyze_verify(tmp_path):
    root = unit_root(tmp_path)
    units = [f"/etc/systemd/system/{u.name}" for u in sorted(UNITS.glob("*.service"))]
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}", *units],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@needs_systemd
def test_systemd_analyze_security(tmp_path):
    root = unit_root(tmp_path)
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={root}",
                             "/etc/systemd/system/callbox.service"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    exposure = float(re.search(r"Overall exposure level for callbox.service: ([\d.]+)",
                               result.stdout).group(1))
    assert exposure <= 2.5, result.stdout


@peers.needs(bool(shutil.which("systemd-sysusers") and shutil.which("systemd-tmpfiles")),
             "systemd-sysusers/systemd-tmpfiles not installed")
def test_user_and_folders_with_owner_and_mode(tmp_path):
    root = tmp_path / "root"
    for name, folder in (("callbox.sysusers", "sysusers.d"), ("callbox.tmpfiles", "tmpfiles.d")):
        (root / "usr/lib" / folder).mkdir(parents=True)
        shutil.copy(UNITS / name, root / "usr/lib" / folder / "callbox.conf")
    (root / "etc").mkdir()
    (root / "var/lib/callbox").mkdir(parents=True)
    (root / "var/lib/callbox").chmod(0o755)                 # as an installer might leave it
    subprocess.run(["systemd-sysusers", f"--root={root}"], check=True, capture_output=True,
                   timeout=30)
    subprocess.run(["systemd-tmpfiles", f"--root={root}", "--create"], check=True,
                   capture_output=True, timeout=30)
    passwd = {line.split(":")[0]: line.split(":") for line in
              (root / "etc/passwd").read_text().splitlines()}
    user = passwd["callbox"]
    assert user[5:] == ["/var/lib/callbox", "/usr/sbin/nologin"]
    groups = {line.split(":")[0]: line.split(":")[3].split(",") for line in
              (root / "etc/group").read_text().splitlines()}
    assert "callbox" in groups["gpio"] and "callbox" in groups["dialout"]
    uid = int(user[2])
    for path, mode in (("var/lib/callbox", 0o750), ("etc/callbox", 0o750)):
        info = (root / path).stat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid) == (mode, uid), path
