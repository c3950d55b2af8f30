"""Issue 4: with register = true the box registers to its provider and /healthz says so."""

from __future__ import annotations

import http.cookiejar
import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from tests.e2e.rig import BoxProcess, box_config, finish, free_port_block, scenario, \
    sipp_background


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        return json.loads(response.read())


def test_box_registers_to_the_provider_with_digest(tmp_path, need):
    need("sipp")
    base = free_port_block()
    registrar = sipp_background(
        str(scenario("provider_registrar.xml", tmp_path, USER="48221234567",
                     PASS="trunk-secret")),
        "127.0.0.1:9", local_ip="127.0.0.2", local_port=base + 3, cwd=tmp_path)
    time.sleep(0.3)
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200,
                                 f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\n'
                                 f'port = {base + 3}\nusername = "48221234567"\n'
                                 'password = "trunk-secret"\nregister = true\n'))
    box = BoxProcess(config, tmp_path / "data").start()
    try:
        code, out = finish(registrar, 20)
        assert code == 0, out
        box.wait_for(r"trunk provider: registered for 120 s")
        deadline = time.monotonic() + 5
        while health(base + 1)["trunks"]["provider"] != "registered":
            assert time.monotonic() < deadline, health(base + 1)
            time.sleep(0.2)
        assert health(base + 1)["sip"] == "ok"
    finally:
        box.stop()


def test_a_trunk_added_in_the_panel_registers_without_a_restart(tmp_path, need):
    """First boot: the owner enters the provider's line in Settings, Trunks; the box
    registers to it at once (nobody is there to restart the box)."""
    need("sipp")
    base = free_port_block()
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200))
    data = tmp_path / "data"
    box = BoxProcess(config, data).start()
    try:
        passwd = subprocess.run([sys.executable, "-m", "firmware", "passwd", "owner",
                                 "--data", str(data)], input="owner-password-1\n", text=True,
                                capture_output=True, timeout=30)
        assert passwd.returncode == 0, passwd.stderr
        assert health(base + 1)["trunks"] == {}
        registrar = sipp_background(
            str(scenario("provider_registrar.xml", tmp_path, USER="48221234567",
                         PASS="trunk-secret")),
            "127.0.0.1:9", local_ip="127.0.0.2", local_port=base + 3, cwd=tmp_path)
        panel = Panel(f"http://127.0.0.1:{base + 1}")
        panel.post("/login", {"user": "owner", "password": "owner-password-1"})
        page = panel.post("/settings/trunks/new", {
            "name": "provider", "host": "127.0.0.2", "port": str(base + 3),
            "username": "48221234567", "password": "trunk-secret", "register": "on"})
        assert "provider saved" in page
        code, out = finish(registrar, 20)
        assert code == 0, out
        box.wait_for(r"trunk provider: registered for 120 s")
        deadline = time.monotonic() + 5
        while health(base + 1)["trunks"].get("provider") != "registered":
            assert time.monotonic() < deadline, health(base + 1)
            time.sleep(0.2)
        assert "provider" in config.read_text()
    finally:
        box.stop()


class Panel:
    """The web panel through HTTP with a session cookie, as a browser posts its forms."""

    def __init__(self, url: str):
        self.url = url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.opener.addheaders = [("Accept-Language", "en")]

    def get(self, path: str) -> str:
        with self.opener.open(self.url + path, timeout=10) as response:
            return response.read().decode()

    def post(self, path: str, form: dict) -> str:
        """Post `form` with the CSRF token of the page at `path`; the page it leads to."""
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                          self.get(path)).group(1)
        body = urllib.parse.urlencode({**form, "csrf_token": token}).encode()
        with self.opener.open(self.url + path, data=body, timeout=10) as response:
            return response.read().decode()
