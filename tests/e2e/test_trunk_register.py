"""Issue 4: with register = true the box registers to its provider and /healthz says so."""

from __future__ import annotations

import json
import time
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
