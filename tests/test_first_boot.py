"""First boot: nothing on the network lets anyone in with a default. The embedded default's demo
passwords stay on loopback, the panel has no default user (its setup page creates the owner,
once), and the image's config ships with no password at all."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware.config import load_config
from firmware.webui.app import create_app
from firmware.webui.users import UserStore

ROOT = Path(__file__).resolve().parent.parent
IMAGE_CONFIG = ROOT / "image/stage-callbox/00-callbox/files/callbox.toml"


def test_embedded_default_is_loopback_only():
    config = load_config(None)
    assert config.sip.listen_host == "127.0.0.1" and config.web.listen_host == "127.0.0.1"
    assert all(e.password for e in config.extensions)       # demo passwords: loopback only


def listening_addresses(pid: int) -> list[tuple[str, str, int]]:
    """(protocol, address, port) of every socket process `pid` has bound, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        lines = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            if fields[9] not in inodes:
                continue
            if proto.startswith("tcp") and fields[3] != "0A":          # LISTEN only
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            if len(raw) == 4:
                host = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                host = socket.inet_ntop(socket.AF_INET6, b"".join(
                    raw[i:i + 4][::-1] for i in range(0, 16, 4)))
            found.append((proto, host, int(port, 16)))
    return found


def own_network() -> list[str]:
    """A command prefix running the box in a network namespace of its own (so the embedded
    default's fixed ports cannot clash with anything else on this machine), or []."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return []
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        return []
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]


def test_callbox_run_on_the_embedded_default_listens_on_loopback_only(tmp_path):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(20)
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify")}
    box = subprocess.Popen([*own_network(), sys.executable, "-m", "firmware", "run",
                            "--data", str(tmp_path / "data")],
                           cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)       # no callbox.toml in tmp_path
    try:
        try:
            while notify.recv(4096).split(b"\n")[0] != b"READY=1":
                pass
        except TimeoutError:
            box.kill()
            output = box.communicate()[0].decode()
            if "cannot listen" in output or "Address already in use" in output:
                pytest.skip("the embedded default's ports are taken on this machine")
            pytest.fail(output)
        time.sleep(0.2)
        bound = listening_addresses(box.pid)
        box.send_signal(signal.SIGTERM)
        assert box.wait(20) == 0
    finally:
        notify.close()
        if box.poll() is None:
            box.kill()
        output = box.communicate()[0].decode()
    assert "running on the embedded default config" in output
    assert ("tcp", "127.0.0.1", 8080) in bound                     # the panel
    assert ("udp", "127.0.0.1", 5060) in bound                     # SIP
    assert {host for _, host, _ in bound} == {"127.0.0.1"}, bound


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_panel_has_no_default_user(tmp_path):
    users = UserStore(tmp_path)
    app = create_app(load_config(IMAGE_CONFIG), None, users, secret_key="test", testing=True)
    client = app.test_client()
    response = client.get("/")
    assert response.status_code == 302 and response.location.endswith("/setup")
    for user, password in (("admin", "admin"), ("owner", "owner"), ("callbox", "callbox"),
                           ("pi", "raspberry"), ("root", "root")):
        assert client.get("/api/summary", headers=basic(user, password)).status_code == 401
    assert not (tmp_path / "users.json").exists()


def test_image_config_has_no_password(tmp_path):
    config = load_config(IMAGE_CONFIG)
    assert config.web.listen_host == "0.0.0.0" and config.sip.listen_host == "0.0.0.0"
    assert config.extensions == () and config.trunks == ()   # no SIP account to guess
    text = IMAGE_CONFIG.read_text()
    assert "\npassword" not in text                           # only commented-out examples
    files = ROOT / "image/stage-callbox/00-callbox/files"
    assert not list(files.rglob("users.json")) and not list(files.rglob("*secret*"))
