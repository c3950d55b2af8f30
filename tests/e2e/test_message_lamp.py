"""Issue 16.6 and 16.8 end to end, on one running box: a SIPp desk phone subscribed to
message-summary (RFC 3842) sees its lamp follow the callback queue -- dark, lit by a missed
call, dark once the callback is dismissed through the API -- as the callback LED does; the
missed call is a caller's BYE before any answer, and the SMS alert goes out for it through a
fake GSM modem on a pseudo-terminal. The LEDs, the lamps and the SMS all listen to the tracker."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.e2e.rig import BoxProcess, box_config, finish, free_port_block, sipp_background
from tests.e2e.test_calls import CAMPAIGN, register

USER, PASSWORD = "owner", "owner-password-1"
CALLER = "+48600111222"


@pytest.fixture
def house_box(tmp_path, need):
    """A box with the callback LED (mock GPIO off a Pi) and SMS alerts through a fake modem
    on a pseudo-terminal, as installed."""
    need("sipp")
    from tests.hw.fake_modem import FakeModem

    modem = FakeModem(tmp_path / "ttyGSM")
    base = free_port_block()
    extra = (f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n'
             'register = false\n[tracking]\nring_timeout_seconds = 20\n'
             f'[hw]\ncallback_led = 17\n[modem]\ndevice = "{modem.link}"\n'
             'alert_numbers = ["+48600000001"]\n')
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, extra))
    subprocess.run([sys.executable, "-m", "firmware", "passwd", USER, "--data",
                    str(tmp_path / "data")], input=f"{PASSWORD}\n", text=True, check=True,
                   capture_output=True)
    box = BoxProcess(config, tmp_path / "data").start()
    box.sip_port, box.base, box.folder, box.web_port = base, base, tmp_path, base + 1
    box.modem = modem
    yield box
    box.stop()
    modem.drop()
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


def ok(proc) -> None:
    code, out = finish(proc, timeout=60)
    assert code == 0, out


def test_the_message_lamp_the_led_and_the_sms_follow_a_missed_call(house_box):
    box = house_box
    target = f"127.0.0.1:{box.sip_port}"
    # 103 (not rung for the campaign) watches its message lamp; 101 is rung
    register(box, "103", "127.0.0.13", box.base + 6)
    register(box, "101", "127.0.0.11", box.base + 4)
    watcher = sipp_background("phone_mwi_subscribe.xml", target, local_ip="127.0.0.13",
                              local_port=box.base + 6, cwd=box.folder, timeout=60,
                              args=["-s", "103", "-au", "103", "-ap", "secret-103-pw",
                                    "-auth_uri", f"103@{target}", "-trace_msg"])
    box.wait_for(r"mwi: 103 subscribed to message-summary")

    # the caller hangs up with BYE while 101 rings (RFC 3261 15): 200, 487, 101 CANCELled
    ringing = sipp_background("phone_ring_cancel.xml", target, local_ip="127.0.0.11",
                              local_port=box.base + 4, cwd=box.folder, args=["-s", "101"])
    time.sleep(0.3)
    ok(sipp_background("trunk_bye_early.xml", target, local_ip="127.0.0.2",
                       local_port=box.base + 3, cwd=box.folder,
                       args=["-key", "dialled", CAMPAIGN, "-key", "caller", CALLER,
                             "-d", "800"]))
    ok(ringing)
    deadline = time.monotonic() + 10
    while not (calls := api(box, "/api/calls")["calls"]):
        assert time.monotonic() < deadline, "the call was never recorded"
        time.sleep(0.2)
    [call] = calls
    assert (call["status"], call["missed_reason"], call["caller"]) == \
        ("missed", "caller_hangup", CALLER)
    assert [c["number"] for c in api(box, "/api/callbacks")["callbacks"]] == [CALLER]
    box.wait_for(r"led: callback \(pin 17\) on")        # mock GPIO: only the log shows it
    [(to, text)] = box.modem.wait_for_sms(1, timeout=20)
    # a Polish box (box.country) sends its SMS in Polish, without diacritics (GSM 7-bit)
    assert to == "+48600000001" and text.startswith(
        f"Nieodebrane polaczenie od {CALLER} na Shop window")

    # marked done through the API: the queue empties, the LED and the lamps go dark
    left = api(box, f"/api/callbacks/%2B{CALLER[1:]}/dismiss", {"reason": "called back"})
    assert left == {"callbacks": []}
    box.wait_for(r"led: callback \(pin 17\) off")
    ok(watcher)              # its NOTIFYs said no, yes, no, then terminated (checked in it)

    # and on the wire, in order
    log = "".join(p.read_text() for p in box.folder.glob("*phone_mwi_subscribe*_messages.log"))
    notifies = re.findall(r"^NOTIFY .*?(?=^-{10,}|\Z)", log, re.M | re.S)
    assert [re.search(r"Messages-Waiting: (\w+)", n).group(1) for n in notifies] == \
        ["no", "yes", "no", "no"]
    assert all("Content-Type: application/simple-message-summary" in n for n in notifies)
    assert re.search(r"Message-Account: sip:103@127\.0\.0\.1", notifies[0])
    assert "Voice-Message: 1/0" in notifies[1]
    assert re.search(r"Subscription-State: terminated", notifies[-1])
