"""Integrations through the real box: a missed call reaches a webhook receiver that fails,
the box is killed with the delivery pending, and after the restart the delivery arrives with
the same id and a valid signature; the same call reaches a GA4 endpoint as `phone_call`."""

from __future__ import annotations

import json
import signal
import time

from firmware.integrations import webhooks
from tests.e2e.rig import BoxProcess, box_config, finish, free_port_block, scenario, \
    sipp_background
from tests.e2e.test_calls import CAMPAIGN
from tests.integrations.receiver import Receiver

SECRET = "e2e-secret-0123456789"


def test_killed_with_a_delivery_pending_it_arrives_after_the_restart(tmp_path, need):
    need("sipp")
    base = free_port_block()
    with Receiver(answers=[500] * 50) as crm, Receiver() as analytics:
        extra = (f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n'
                 'register = false\n'
                 f'\n[[webhook]]\nurl = "{crm.url}"\nsecret = "{SECRET}"\n'
                 'events = ["call.ended", "call.missed"]\n'
                 f'\n[ga4]\nmeasurement_id = "G-E2ETEST"\napi_secret = "e2e-api-secret"\n'
                 f'endpoint = "http://127.0.0.1:{analytics.port}/mp/collect"\n')
        config = tmp_path / "callbox.toml"
        config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, extra))
        box = BoxProcess(config, tmp_path / "data").start()
        try:
            # Nobody is registered: the call is refused (480) and recorded as missed.
            script = scenario("trunk_rejected.xml", tmp_path, STATUS="480")
            call = sipp_background(str(script), f"127.0.0.1:{base}", local_ip="127.0.0.2",
                                   local_port=base + 3, cwd=tmp_path,
                                   args=["-key", "dialled", CAMPAIGN, "-key", "caller",
                                         "+48600111222"])
            code, out = finish(call)
            assert code == 0, out
            box.wait_for(r"call.ended dlv_\w+ failed \(HTTP 500\)")
            box.proc.send_signal(signal.SIGKILL)      # the delivery is pending
            box.proc.wait()
            failed = {g["headers"]["X-Callbox-Delivery"] for g in crm.got}
            crm.answers.clear()                       # the CRM is back
            box.start()
            got = crm.wait_for(2)
        finally:
            box.stop()
        bodies = [json.loads(g["body"]) for g in got]
        assert [b["event"] for b in bodies] == ["call.ended", "call.missed"]
        assert bodies[0]["delivery"] in failed         # the same delivery, tried again
        assert bodies[0]["data"]["status"] == "missed"
        assert bodies[0]["data"]["caller"] == "+48600111222"
        for g in got:
            assert webhooks.verify(SECRET, g["headers"]["X-Callbox-Signature"], g["body"],
                                   time.time())
        ga4 = analytics.wait_for(1)[0]
        assert ga4["path"] == "/mp/collect?measurement_id=G-E2ETEST&api_secret=e2e-api-secret"
        event = json.loads(ga4["body"])["events"][0]
        assert event["name"] == "phone_call"
        assert event["params"] == {"campaign": "Shop window", "source": "Outdoor",
                                   "status": "missed", "duration": 0, "value": 0.0,
                                   "currency": "PLN"}
        assert "e2e-api-secret" not in box.log() and SECRET not in box.log()
