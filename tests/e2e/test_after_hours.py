"""Issue 9: after hours, a campaign call is forwarded out through the trunk to a mobile and is
still tracked as that campaign's call."""

from __future__ import annotations

import time

from tests.e2e.panel_api import make_owner, wait_call
from tests.e2e.rig import BoxProcess, box_config, free_port_block, scenario, sipp_background
from tests.e2e.test_calls import ACCEPT, CAMPAIGN, ok


def test_after_hours_call_is_forwarded_through_the_trunk(tmp_path, need):
    need("sipp")
    base = free_port_block()
    extra = (f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n'
             'username = "48221234567"\npassword = "trunk-secret"\nregister = false\n'
             '[hours]\nmon = ""\nafter_hours_forward = ["+48600999888"]\n')
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, extra))
    make_owner(tmp_path / "data")
    box = BoxProcess(config, tmp_path / "data").start()
    box.web_port = base + 1
    try:
        mobile = sipp_background(   # the provider, taking the forwarded leg (with a 401)
            str(scenario("trunk_answer_auth.xml", tmp_path, CODE="401", REASON="Unauthorized",
                         HEADER="WWW-Authenticate", CHECK=ACCEPT)),
            f"127.0.0.1:{base}", local_ip="127.0.0.2", local_port=base + 3, cwd=tmp_path)
        time.sleep(0.3)
        caller = sipp_background(   # the provider again, delivering a call to the campaign
            "trunk_call.xml", f"127.0.0.1:{base}", local_ip="127.0.0.2", local_port=base + 6,
            cwd=tmp_path, args=["-key", "dialled", CAMPAIGN, "-key", "caller", "+48500100200",
                                "-key", "rtp", "40000", "-d", "500"])
        ok(caller)
        ok(mobile)
        call = wait_call(box, direction="inbound", caller="+48500100200", callee=CAMPAIGN,
                         campaign="Shop window", status="answered", answered_by="+48600999888")
        assert call["talk_seconds"] > 0
    finally:
        box.stop()
