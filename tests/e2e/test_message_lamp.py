"""Issue 16.6 end to end: a SIPp desk phone subscribed to message-summary (RFC 3842) sees its
lamp follow the callback queue -- dark, lit by a missed call, dark once the callback is
dismissed through the API -- as the box's callback LED does."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.e2e.rig import BoxProcess, box_config, finish, free_port_block, scenario, \
    sipp_background
from tests.e2e.test_calls import CAMPAIGN, register

USER, PASSWORD = "owner", "owner-password-1"
CALLER = "+48600111222"


@pytest.fixture
def lamp_box(tmp_path, need):
    need("sipp")
    base = free_port_block()
    extra = (f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n'
             'register = false\n[hw]\ncallback_led = 17\n')
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, extra))
    subprocess.run([sys.executable, "-m", "firmware", "passwd", USER, "--data",
                    str(tmp_path / "data")], input=f"{PASSWORD}\n", text=True, check=True,
                   capture_output=True)
    box = BoxProcess(config, tmp_path / "data").start()
    box.sip_port, box.base, box.folder, box.web_port = base, base, tmp_path, base + 1
    yield box
    box.stop()
    print(box.log()[-5000:])


def api(box, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{box.web_port}{path}", data=data)
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_a_desk_phones_message_lamp_follows_the_callback_queue(lamp_box):
    box = lamp_box
    target = f"127.0.0.1:{box.sip_port}"
    # 103 (not rung for the campaign) is the watching desk phone
    register(box, "103", "127.0.0.13", box.base + 6)
    watcher = sipp_background("phone_mwi_subscribe.xml", target, local_ip="127.0.0.13",
                              local_port=box.base + 6, cwd=box.folder, timeout=60,
                              args=["-s", "103", "-au", "103", "-ap", "secret-103-pw",
                                    "-auth_uri", f"103@{target}", "-trace_msg"])
    box.wait_for(r"mwi: 103 subscribed to message-summary")

    # a caller nobody can answer (no phone of the campaign is registered): missed
    call = sipp_background(str(scenario("trunk_rejected.xml", box.folder, STATUS="480")),
                           target, local_ip="127.0.0.2", local_port=box.base + 3,
                           cwd=box.folder, args=["-key", "dialled", CAMPAIGN,
                                                 "-key", "caller", CALLER])
    code, out = finish(call)
    assert code == 0, out
    box.wait_for(r"led: callback \(pin 17\) on")
    deadline = time.monotonic() + 10
    while [c["number"] for c in api(box, "/api/callbacks")["callbacks"]] != [CALLER]:
        assert time.monotonic() < deadline, "the missed caller never reached the queue"
        time.sleep(0.2)

    # marked done through the API: the queue empties, the LED and the lamps go dark
    left = api(box, f"/api/callbacks/%2B{CALLER[1:]}/dismiss", {"reason": "called back"})
    assert left == {"callbacks": []}
    box.wait_for(r"led: callback \(pin 17\) off")
    code, out = finish(watcher, timeout=60)
    assert code == 0, out

    # what the phone received, in order, on the wire
    log = "".join(p.read_text() for p in box.folder.glob("*phone_mwi_subscribe*_messages.log"))
    notifies = re.findall(r"^NOTIFY .*?(?=^-{10,}|\Z)", log, re.M | re.S)
    assert [re.search(r"Messages-Waiting: (\w+)", n).group(1) for n in notifies] == \
        ["no", "yes", "no", "no"]
    assert all("Content-Type: application/simple-message-summary" in n for n in notifies)
    assert re.search(r"Message-Account: sip:103@127\.0\.0\.1", notifies[0])
    assert "Voice-Message: 1/0" in notifies[1]
    assert re.search(r"Subscription-State: terminated", notifies[-1])
