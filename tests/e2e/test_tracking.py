"""Issue 5 end to end: calls through the running box become records, the callback queue and
its LED; a killed box loses no completed call."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
import zoneinfo

import pytest

from tests.e2e.rig import BoxProcess, box_config, finish, free_port_block, scenario, \
    sipp_background
from tests.e2e.test_calls import ACCEPT, CAMPAIGN, ok, phone, register

USER, PASSWORD = "owner", "owner-password-1"


@pytest.fixture
def tracked(tmp_path, need):
    need("sipp")
    base = free_port_block()
    extra = (f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n'
             'username = "48221234567"\npassword = "trunk-secret"\nregister = false\n'
             '[tracking]\nring_timeout_seconds = 6\n[hw]\ncallback_led = 17\n')
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


def api(box, path: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{box.web_port}{path}")
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def around_now() -> str:
    """The days around the box's now (its calls happen now, on its own clock): a call placed
    just before midnight and asked for just after is still in the answer."""
    today = dt.datetime.now(zoneinfo.ZoneInfo("Europe/Warsaw")).date()
    return f"from={today - dt.timedelta(days=1)}&to={today + dt.timedelta(days=1)}"


def trunk(box, script, caller, *args):
    return sipp_background(script, f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.2",
                           local_port=box.base + 3, cwd=box.folder, args=[
                               "-key", "dialled", CAMPAIGN, "-key", "caller", caller,
                               "-key", "rtp", "40000", *args])


def wait_summary(box, **expected) -> dict:
    deadline = time.monotonic() + 10
    while True:
        summary = api(box, f"/api/summary?{around_now()}")
        if all(summary[key] == value for key, value in expected.items()):
            return summary
        assert time.monotonic() < deadline, summary
        time.sleep(0.2)


def test_answered_missed_then_called_back(tracked):
    box = tracked
    register(box, "101", "127.0.0.11", box.base + 4)
    answering = phone(box, "phone_answer.xml", "101", "127.0.0.11", box.base + 4, "-d", "300")
    time.sleep(0.3)
    ok(trunk(box, "trunk_call.xml", "+48600111222", "-d", "1200"))
    ok(answering)
    ringing = phone(box, "phone_ring_cancel.xml", "101", "127.0.0.11", box.base + 4)
    time.sleep(0.3)
    ok(trunk(box, "trunk_cancel.xml", "+48600333444", "-d", "800"))
    ok(ringing)
    summary = wait_summary(box, answered=1, missed=1, to_call_back=1)
    assert summary["top_campaigns"][0]["name"] == "Shop window"
    box.wait_for(r"led: callback \(pin 17\) on")
    callbacks = api(box, "/api/callbacks")["callbacks"]
    assert [c["number"] for c in callbacks] == ["+48600333444"]
    calls = api(box, f"/api/calls?{around_now()}")["calls"]
    assert {c["status"] for c in calls} == {"answered", "missed"}
    answered = next(c for c in calls if c["status"] == "answered")
    assert answered["answered_by"] == "101" and answered["caller"] == "+48600111222"
    assert answered["talk_seconds"] >= 1 and answered["wait_seconds"] >= 0

    # 101 calls the missed caller back through the trunk: the queue empties, the LED goes dark
    provider = sipp_background(str(scenario("trunk_answer_auth.xml", box.folder, CODE="401",
                                            REASON="Unauthorized", HEADER="WWW-Authenticate",
                                            CHECK=ACCEPT)),
                               f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.2",
                               local_port=box.base + 3, cwd=box.folder)
    time.sleep(0.3)
    ok(phone(box, "phone_call_out.xml", "101", "127.0.0.11", box.base + 4, "-au", "101",
             "-ap", "secret-101-pw", "-key", "dialled", "+48600333444", "-d", "300"))
    ok(provider)
    wait_summary(box, answered=1, missed=1, to_call_back=0)
    box.wait_for(r"led: callback \(pin 17\) off")
    assert api(box, "/api/callbacks")["callbacks"] == []


def test_sigkill_during_calls_loses_no_completed_call(tracked):
    """Kill the box 20 times during bounded runs of SIPp calls: every call it recorded before
    the kill is there after the restart, and the store always loads."""
    box = tracked
    register(box, "101", "127.0.0.11", box.base + 4)
    for round_number in range(20):
        before = len([c for c in api(box, "/api/calls")["calls"] if c["status"] == "answered"])
        answering = sipp_background("phone_answer.xml", f"127.0.0.1:{box.sip_port}",
                                    local_ip="127.0.0.11", local_port=box.base + 4,
                                    calls=200, cwd=box.folder, timeout=30,
                                    args=["-s", "101", "-d", "0", "-key", "rtp", "40100"])
        time.sleep(0.3)
        caller = sipp_background("trunk_call.xml", f"127.0.0.1:{box.sip_port}",
                                 local_ip="127.0.0.2", local_port=box.base + 3, calls=200,
                                 cwd=box.folder, timeout=30,
                                 args=["-key", "dialled", CAMPAIGN, "-key", "caller",
                                       "+48600111222", "-key", "rtp", "40000", "-d", "0",
                                       "-r", "40", "-l", "20"])
        time.sleep(0.8 + (round_number % 4) * 0.3)
        box.proc.send_signal(signal.SIGKILL)
        box.proc.wait()
        # the tracker logs "recorded" once the call is on disk (fdatasync'd); the calls a
        # start-up recovers from the calls in progress are logged before "ready" and are
        # already counted in `before`
        recorded = len(re.findall(r"recorded: inbound .* answered",
                                  box.log().split("callbox: ready", 1)[-1]))
        killed_log = box.log()
        outputs = []
        for proc in (caller, answering):
            proc.kill()
            outputs.append(finish(proc, 5)[1])
        box.start()
        answered = [c for c in api(box, "/api/calls")["calls"] if c["status"] == "answered"]
        assert recorded > 0, killed_log[-1500:] + "\n".join(outputs)
        assert len(answered) >= before + recorded, (len(answered), before, recorded)


def test_a_caller_ringing_when_the_box_is_killed_is_called_back_after_the_restart(tracked):
    """SIGKILL while the desk phone rings: the restarted box lists the caller to call back."""
    box = tracked
    register(box, "101", "127.0.0.11", box.base + 4)
    ringing = phone(box, "phone_ring_cancel.xml", "101", "127.0.0.11", box.base + 4)
    time.sleep(0.3)
    caller = trunk(box, "trunk_cancel.xml", "+48600555666", "-d", "5000")
    in_progress = box.folder / "data" / "calls_in_progress.jsonl"
    deadline = time.monotonic() + 4          # the phone rings for 5 s before the caller gives up
    while b"CallRinging" not in (in_progress.read_bytes() if in_progress.exists() else b""):
        assert time.monotonic() < deadline, box.log()[-3000:]
        time.sleep(0.05)
    box.proc.send_signal(signal.SIGKILL)
    box.proc.wait()
    for proc in (caller, ringing):
        proc.kill()
        finish(proc, 5)
    box.start()
    assert [c["number"] for c in api(box, "/api/callbacks")["callbacks"]] == ["+48600555666"]
    [call] = api(box, f"/api/calls?{around_now()}")["calls"]
    assert (call["status"], call["missed_reason"], call["campaign"]) == \
        ("missed", "failed", "Shop window")
