"""Bindings survive a restart of the box: a registered baresip phone still rings after it."""

from __future__ import annotations

import json

from tests.e2e.rig import Baresip, BoxProcess, box_config, free_port_block


def test_baresip_registers_as_102_and_is_still_bound_after_a_restart(tmp_path, need):
    need("baresip")
    base = free_port_block()
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200))
    box = BoxProcess(config, tmp_path / "data").start()
    phone = Baresip(tmp_path / "baresip", "102", "secret-102-pw", base, "127.0.0.18", base + 2)
    try:
        phone.start()
        box.wait_for(r"register: 102 bound sip:102[^@]*@127\.0\.0\.18", timeout=20)
        assert box.stop() == 0   # a clean stop on SIGTERM
        assert "callbox: stopped" in box.log()
        saved = json.loads((tmp_path / "data" / "bindings.json").read_text())
        assert saved["102"][0]["source_host"] == "127.0.0.18"
        box.start()
        box.wait_for(r"bindings: restored 1 extension\(s\)")
        # Still bound without registering again: the phone only refreshes after regint.
        assert "register: 102 bound" not in box.log()
    finally:
        phone.stop()
        box.stop()
