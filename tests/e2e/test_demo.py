"""`make demo` (scripts/demo.py): the box on its embedded default fills with a realistic mix of
calls through the real SIP path (SIPp as the provider and the desk phones), and the panel
shows them. Short calls and a fixed seed keep it to about 20 s."""

from __future__ import annotations

import base64
import json
import random
import urllib.request

from scripts.demo import OWNER, OWNER_PASSWORD, Demo
from tests.e2e.rig import free_port_block


def get(url: str) -> dict:
    token = base64.b64encode(f"{OWNER}:{OWNER_PASSWORD}".encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def test_the_demo_fills_the_panel(tmp_path, need):
    need("sipp")
    web = free_port_block()
    demo = Demo(tmp_path / "data", web, max_talk=4)
    try:
        demo.start()
        demo.run(every=0.4, count=10, rng=random.Random(7))
        calls = get(f"{demo.web}api/calls")["calls"]
    finally:
        demo.stop()
    assert len(calls) == 10, calls
    answered = [c for c in calls if c["status"] == "answered"]
    missed = [c for c in calls if c["status"] == "missed"]
    # both desk phones answered; callers gave up, and the Radio line found nobody
    assert {c["answered_by"] for c in answered} == {"101", "102"}
    assert {c["missed_reason"] for c in missed} == {"caller_hangup", "nobody_available"}
    assert {c["campaign"] for c in calls} == {"Shop window", "Newspaper", "Radio"}
    assert all(c["wait_seconds"] >= 3.5 for c in answered)        # the phones ring first
    assert len({c["caller"] for c in calls}) < len(calls)          # someone called again
    config = (tmp_path / "data" / "demo" / "callbox.toml").read_text()
    assert config.startswith("# Embedded default")
