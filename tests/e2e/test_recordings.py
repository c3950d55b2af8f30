"""Issue 16 end to end: a recorded campaign call through the real box.

The trunk (SIPp on 127.0.0.2) calls the campaign (record = true); desk phone 101 (SIPp on
127.0.0.11) answers. Each plays a pcap of G.711 RTP made here (play_pcap_audio): 440 Hz from
the caller, 1000 Hz from the desk phone. The recording is fetched over the API, decoded with
libopus, and each tone is found on its own channel; its length is the call's talk time
within 1 s. Range requests, staff's 403, the owner's DELETE and retention over quota are
checked on the same box; chromium shows the player (screenshot for a person to look at).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from firmware.recording.check import decode_file, tone_power
from tests import peers
from tests.e2e.rig import BoxProcess, box_config, finish, free_port_block, scenario, sipp, \
    sipp_background
from tests.recording.tones import rtp_packets, ulaw_tone, write_pcap

CAMPAIGN = "+48221234567"
OWNER, OWNER_PW = "owner", "owner-pass-123"
STAFF, STAFF_PW = "anna", "anna-pass-123"
TALK_MS = 4000
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
MB = 1024 * 1024

pytestmark = [peers.needs(peers.which("sipp") is not None, "sipp is not installed")]


def seed_old_recordings(data: Path) -> None:
    """Three recordings from last year (4 MB each by the index) in a store the box opens:
    with max_disk_mb = 10 retention at start must delete the oldest one only."""
    folder = data / "recordings"
    (folder / "2025-01").mkdir(parents=True)
    lines = []
    now = time.time()
    for index, name in enumerate(("old1", "old2", "old3")):
        path = folder / "2025-01" / f"{name}.ogg"
        path.write_bytes(b"OggS")
        began = now - (30 - index) * 86400
        lines.append({"op": "begin", "call": name, "file": f"2025-01/{name}.ogg", "at": began,
                      "offered_at": began - 5, "answered_at": began})
        lines.append({"op": "end", "call": name, "seconds": 60.0, "size": 4 * MB})
    (folder / "index.jsonl").write_text("".join(json.dumps(op) + "\n" for op in lines))


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recbox")
    base = free_port_block(20)
    extra = ('record = true\n'
             f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n'
             'register = false\n[tracking]\nring_timeout_seconds = 6\n'
             '[recording]\nkeep_days = 90\nmax_disk_mb = 10\n')
    config = folder / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, extra))
    seed_old_recordings(folder / "data")
    for user, password, args in ((OWNER, OWNER_PW, ["--role", "owner"]),
                                 (STAFF, STAFF_PW, ["--role", "staff", "--extension", "102"])):
        result = subprocess.run([sys.executable, "-m", "firmware", "passwd", user, *args,
                                 "--data", str(folder / "data")], input=f"{password}\n",
                                text=True, capture_output=True, timeout=30)
        assert result.returncode == 0, result.stderr
    process = BoxProcess(config, folder / "data")
    process.sip_port, process.base, process.folder = base, base, folder
    process.url = f"http://127.0.0.1:{base + 1}"
    process.start()
    yield process
    process.stop()
    print(process.log()[-6000:])


def request(box, path: str, *, method: str = "GET", user: str = OWNER, password: str = OWNER_PW,
            headers: dict | None = None):
    """(status, headers, body) of an API request with HTTP Basic."""
    req = urllib.request.Request(box.url + path, method=method)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def api(box, path: str) -> dict:
    status, _, body = request(box, path)
    assert status == 200, body
    return json.loads(body)


def recorded_call(box) -> dict:
    """One SIPp call with a tone each way; the call as /api/calls shows it."""
    folder = box.folder
    write_pcap(folder / "caller.pcap", rtp_packets(ulaw_tone(440, TALK_MS / 1000), ssrc=0x11),
               source="127.0.0.2", dest="127.0.0.1")
    write_pcap(folder / "desk.pcap", rtp_packets(ulaw_tone(1000, TALK_MS / 1000), ssrc=0x22,
                                                 timestamp=5000), source="127.0.0.11",
               dest="127.0.0.1")
    register = sipp("register.xml", f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.11",
                    local_port=box.base + 4,
                    args=["-s", "101", "-au", "101", "-ap", "secret-101-pw"])
    assert register.returncode == 0, register.stdout[-1500:]
    phone = sipp_background(
        str(scenario("phone_answer_audio.xml", folder, PCAP=str(folder / "desk.pcap"))),
        f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.11", local_port=box.base + 4,
        cwd=folder, args=["-s", "101", "-d", "200", "-mi", "127.0.0.11",
                          "-mp", str(box.base + 10)])
    time.sleep(0.3)
    trunk = sipp_background(
        str(scenario("trunk_call_audio.xml", folder, PCAP=str(folder / "caller.pcap"))),
        f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.2", local_port=box.base + 3,
        cwd=folder, args=["-key", "dialled", CAMPAIGN, "-key", "caller", "+48600111222",
                          "-d", str(TALK_MS + 500), "-mi", "127.0.0.2",
                          "-mp", str(box.base + 14)])
    code, out = finish(trunk)
    assert code == 0, out
    code, out = finish(phone)
    assert code == 0, out
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        calls = [c for c in api(box, "/api/calls")["calls"] if c["caller"] == "+48600111222"]
        if calls and calls[0]["recording"]:
            return calls[0]
        time.sleep(0.2)
    raise AssertionError(f"no recorded call in /api/calls: {calls}")


def missed_call(box) -> None:
    """+48600111222 calls again and hangs up while 101 rings."""
    ringing = sipp_background("phone_ring_cancel.xml", f"127.0.0.1:{box.sip_port}",
                              local_ip="127.0.0.11", local_port=box.base + 4, cwd=box.folder,
                              args=["-s", "101", "-key", "rtp", "40100"])
    time.sleep(0.3)
    trunk = sipp_background("trunk_cancel.xml", f"127.0.0.1:{box.sip_port}",
                            local_ip="127.0.0.2", local_port=box.base + 3, cwd=box.folder,
                            args=["-key", "dialled", CAMPAIGN, "-key", "caller", "+48600111222",
                                  "-key", "rtp", "40000", "-d", "800"])
    for proc in (trunk, ringing):
        code, out = finish(proc)
        assert code == 0, out


@pytest.fixture(scope="module")
def call(box):
    return recorded_call(box)


def test_the_call_is_recorded_in_stereo_with_each_tone_on_its_side(box, call, tmp_path):
    assert call["status"] == "answered" and call["recording"] == \
        f"/api/calls/{call['id']}/recording"
    status, headers, body = request(box, call["recording"])
    assert status == 200 and headers["Content-Type"] == "audio/ogg"
    assert headers["Accept-Ranges"] == "bytes"
    path = tmp_path / "call.ogg"
    path.write_bytes(body)
    rate, left, right = decode_file(path)
    seconds = len(left) / rate
    assert abs(seconds - call["talk_seconds"]) <= 1.0, (seconds, call["talk_seconds"])
    middle = slice(int(1.0 * rate), int(3.0 * rate))
    assert tone_power(left[middle], rate, 440) > 20 * tone_power(left[middle], rate, 1000)
    assert tone_power(right[middle], rate, 1000) > 20 * tone_power(right[middle], rate, 440)
    assert len(body) <= 240 * 1024 * max(seconds, 1) / 60 + 4096   # the storage budget


def test_range_requests_answer_206(box, call):
    status, headers, body = request(box, call["recording"], headers={"Range": "bytes=0-99"})
    assert status == 206 and len(body) == 100 and body[:4] == b"OggS"
    assert headers["Content-Range"].startswith("bytes 0-99/")


def test_retention_at_start_deleted_the_oldest_over_quota(box):
    folder = box.data_dir / "recordings" / "2025-01"
    assert not (folder / "old1.ogg").exists()
    assert (folder / "old2.ogg").exists() and (folder / "old3.ogg").exists()
    health = json.loads(urllib.request.urlopen(box.url + "/healthz", timeout=10).read())
    assert health["recording"]["state"] == "ok"


def test_player_on_the_call_page_in_chromium(box, call, browser):
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(box.url + "/login")
    page.fill('input[name="user"]', OWNER)
    page.fill('input[name="password"]', OWNER_PW)
    page.click('button[type="submit"]')
    page.goto(box.url + f"/calls/{call['id']}")
    audio = page.locator("#recording audio")
    audio.wait_for()
    page.wait_for_function("document.querySelector('#recording audio').readyState >= 1",
                           timeout=20000)         # how fast: make bench (recording rows)
    duration = page.evaluate("document.querySelector('#recording audio').duration")
    assert abs(duration - call["talk_seconds"]) <= 1.0
    page.click("#recording button[data-speed='1.5']")
    assert page.evaluate("document.querySelector('#recording audio').playbackRate") == 1.5
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "e2e-recording-call-detail.png"), full_page=True)
    page.click("#recording button:has-text('Mark as a good call')")
    page.wait_for_selector("#recording .tag:has-text('Good call')")
    page.goto(box.url + "/calls/good")
    assert page.locator("audio").count() == 1
    page.screenshot(path=str(SHOTS / "e2e-recording-good-calls.png"), full_page=True)
    page.goto(box.url + "/calls")
    page.screenshot(path=str(SHOTS / "e2e-recording-history.png"), full_page=True)
    page.goto(box.url + "/reports/durations?short=100&long=3600")   # the call is "too short"
    assert page.locator(".rec-player audio").count() == 1
    page.screenshot(path=str(SHOTS / "e2e-recording-report-durations.png"), full_page=True)
    missed_call(box)                            # the same caller again: on the callback list
    page.goto(box.url + "/callbacks")
    assert page.locator(".rec-player audio").count() == 1
    page.screenshot(path=str(SHOTS / "e2e-recording-callbacks.png"), full_page=True)
    context.close()
    assert errors == []


def test_staff_may_not_hear_or_delete_anothers_call_and_the_owner_deletes(box, call):
    status, _, _ = request(box, call["recording"], user=STAFF, password=STAFF_PW)
    assert status == 403
    status, _, _ = request(box, call["recording"], method="DELETE", user=STAFF,
                           password=STAFF_PW)
    assert status == 403
    files = list((box.data_dir / "recordings").glob("*/*.ogg"))
    ours = [f for f in files if "old" not in f.name]
    assert len(ours) == 1
    status, _, _ = request(box, call["recording"], method="DELETE")
    assert status == 204
    assert not ours[0].exists()
    assert request(box, call["recording"])[0] == 404
    again = api(box, f"/api/calls/{call['id']}")
    assert again["recording"] is None and again["talk_seconds"] == call["talk_seconds"]


def test_a_transferred_call_is_one_recording_with_the_new_phone_on_the_right(box):
    """101 answers and transfers (blind) to 103, who talks 2.5 s with a 1000 Hz tone and
    hangs up: one recording for the call, the caller left all along, 103 right."""
    folder = box.folder
    caller = "+48600444555"
    write_pcap(folder / "caller2.pcap", rtp_packets(ulaw_tone(440, 8), ssrc=0x33),
               source="127.0.0.2", dest="127.0.0.1")
    write_pcap(folder / "manager.pcap", rtp_packets(ulaw_tone(1000, 3), ssrc=0x44),
               source="127.0.0.13", dest="127.0.0.1")
    for extension, ip, port in (("101", "127.0.0.11", box.base + 4),
                                ("103", "127.0.0.13", box.base + 6)):
        result = sipp("register.xml", f"127.0.0.1:{box.sip_port}", local_ip=ip,
                      local_port=port, args=["-s", extension, "-au", extension,
                                             "-ap", f"secret-{extension}-pw"])
        assert result.returncode == 0, result.stdout[-1500:]
    transferor = sipp_background("phone_answer_refer.xml", f"127.0.0.1:{box.sip_port}",
                                 local_ip="127.0.0.11", local_port=box.base + 4, cwd=folder,
                                 args=["-s", "101", "-key", "rtp", "40100",
                                       "-key", "target", "103"])
    target = sipp_background(
        str(scenario("phone_answer_bye_audio.xml", folder, PCAP=str(folder / "manager.pcap"))),
        f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.13", local_port=box.base + 6,
        cwd=folder, args=["-s", "103", "-d", "2500", "-mi", "127.0.0.13",
                          "-mp", str(box.base + 16)])
    time.sleep(0.3)
    trunk = sipp_background(
        str(scenario("trunk_call_gets_bye_audio.xml", folder,
                     PCAP=str(folder / "caller2.pcap"))),
        f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.2", local_port=box.base + 3,
        cwd=folder, args=["-key", "dialled", CAMPAIGN, "-key", "caller", caller,
                          "-mi", "127.0.0.2", "-mp", str(box.base + 18)])
    for proc in (transferor, target, trunk):
        code, out = finish(proc)
        assert code == 0, out
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        calls = api(box, "/api/calls?number=%2B48600444555")["calls"]
        if calls and calls[0]["recording"]:
            break
        time.sleep(0.2)
    assert len(calls) == 1 and calls[0]["handled_by"] == ["101", "103"]
    call = calls[0]
    status, _, body = request(box, call["recording"])
    assert status == 200
    path = folder / "transferred.ogg"
    path.write_bytes(body)
    rate, left, right = decode_file(path)
    assert abs(len(left) / rate - call["talk_seconds"]) <= 1.0
    handed_over = call["talk_by"]["101"]
    before = slice(int(0.2 * rate), int((handed_over - 0.2) * rate))
    after = slice(int((handed_over + 0.5) * rate), int((call["talk_seconds"] - 0.3) * rate))
    assert tone_power(left[after], rate, 440) > 20 * tone_power(left[after], rate, 1000)
    assert tone_power(right[after], rate, 1000) > 20 * tone_power(right[after], rate, 440)
    assert tone_power(right[before], rate, 1000) < tone_power(right[after], rate, 1000) / 100
