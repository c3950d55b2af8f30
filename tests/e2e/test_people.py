"""Issue 15 end to end: click-to-call, do not disturb and the live board on the running box.

SIPp is desk phone 101 (127.0.0.11) and the provider (127.0.0.2); the panel is driven over
HTTP Basic and in chromium (screenshots of the live board while a call rings and talks go to
test-artifacts/screenshots/e2e-live-*.png).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request

import pytest

from tests.e2e.rig import BoxProcess, box_config, free_port_block, scenario, sipp_background
from tests.e2e.test_panel import new_page, ok, passwd, register, shot, sign_in

CAMPAIGN = "+48221234567"
USERS = {"boss": ("owner-password-1", ["--role", "owner"]),
         "anna": ("anna-password-1", ["--role", "staff", "--extension", "101"])}


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    folder = tmp_path_factory.mktemp("people")
    base = free_port_block()
    trunk = (f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n'
             'username = "48221234567"\npassword = "trunk-secret"\nregister = false\n'
             '[tracking]\nring_timeout_seconds = 15\n')
    config = folder / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, trunk))
    process = BoxProcess(config, folder / "data")
    process.sip_port, process.base, process.folder = base, base, folder
    process.url = f"http://127.0.0.1:{base + 1}"
    process.start()
    for user, (password, args) in USERS.items():
        passwd(process, user, password, *args)
    yield process
    process.stop()
    print(process.log()[-6000:])


def call_api(box, user: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(box.url + path, data=data)
    token = base64.b64encode(f"{user}:{USERS[user][0]}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_live(box, state: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        board = call_api(box, "boss", "/api/live")[1]
        found = [c for c in board["calls"] if c["state"] == state]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {state} call on the live board: {board}")


def test_click_to_call_rings_my_phone_then_dials_out_and_shows_on_the_live_board(box, browser):
    page = new_page(browser)
    sign_in(page, box, "boss", USERS["boss"][0])
    register(box, "101", "127.0.0.11", box.base + 4)
    phone = sipp_background("phone_answer_bye.xml", f"127.0.0.1:{box.sip_port}",
                            local_ip="127.0.0.11", local_port=box.base + 4, cwd=box.folder,
                            args=["-s", "101", "-key", "rtp", "40100", "-d", "8000"])
    script = scenario("trunk_answer_auth.xml", box.folder, CODE="407",
                      REASON="Proxy Authentication Required", HEADER="Proxy-Authenticate",
                      CHECK='<recv request="INVITE" next="good" />')
    provider = sipp_background(str(script), f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.2",
                               local_port=box.base + 3, cwd=box.folder)
    time.sleep(0.3)
    status, answer = call_api(box, "anna", "/api/originate", {"number": "+48 600 000 000"})
    assert status == 202 and answer["call_id"]
    talking = wait_live(box, "talking")
    assert talking["extensions"] == ["101"] and talking["callee"] == "+48600000000"
    page.goto(box.url + "/live")
    assert "talking" in page.locator("#live-calls").inner_text()
    shot(page, "live-talking")
    ok(phone)
    ok(provider)
    calls = call_api(box, "boss", "/api/calls")[1]["calls"]
    out = [c for c in calls if c["direction"] == "outbound"]
    assert [(c["caller"], c["callee"], c["status"]) for c in out] == \
        [("101", "+48600000000", "answered")]
    assert 7 <= out[0]["talk_seconds"] <= 10
    page.context.close()


def test_staff_may_not_dial_from_someone_elses_phone_nor_a_premium_number(box):
    assert call_api(box, "anna", "/api/originate",
                    {"extension": "102", "number": "+48600000000"})[0] == 400
    assert call_api(box, "anna", "/api/originate", {"number": "not a number"})[0] == 400
    status, answer = call_api(box, "boss", "/api/originate",
                              {"extension": "101", "number": "+48700123456"})
    assert status in (409, 400) and answer["error"]


def test_do_not_disturb_from_the_panel_and_the_live_board_while_a_call_rings(box, browser):
    page = new_page(browser)
    sign_in(page, box, "anna", USERS["anna"][0])
    register(box, "101", "127.0.0.11", box.base + 4)
    assert call_api(box, "anna", "/api/phones/101/dnd", {"dnd": True}) == \
        (200, {"extension": "101", "dnd": True})
    assert call_api(box, "anna", "/api/phones/102/dnd", {"dnd": True})[0] == 400
    board = call_api(box, "boss", "/api/live")[1]
    assert {p["extension"]: p["dnd"] for p in board["phones"]}["101"] is True
    refused = scenario("trunk_rejected.xml", box.folder, STATUS="480")
    ok(sipp_background(str(refused), f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.2",
                       local_port=box.base + 3, cwd=box.folder,
                       args=["-key", "dialled", CAMPAIGN, "-key", "caller", "+48600111222"]))
    assert call_api(box, "boss", "/api/phones/101/dnd", {"dnd": False})[0] == 200
    ringing_phone = sipp_background("phone_ring_cancel.xml", f"127.0.0.1:{box.sip_port}",
                                    local_ip="127.0.0.11", local_port=box.base + 4,
                                    cwd=box.folder, args=["-s", "101"])
    time.sleep(0.3)
    caller = sipp_background("trunk_cancel.xml", f"127.0.0.1:{box.sip_port}",
                             local_ip="127.0.0.2", local_port=box.base + 3, cwd=box.folder,
                             args=["-key", "dialled", CAMPAIGN, "-key", "caller",
                                   "+48600222333", "-key", "rtp", "40000", "-d", "12000"])
    ringing = wait_live(box, "ringing")
    assert ringing["campaign"] == "Shop window" and ringing["caller"] == "+48600222333"
    page.goto(box.url + "/live")
    assert "ringing" in page.locator("#live-calls").inner_text()
    button = page.locator('button.dnd[data-ext="101"]')
    assert button.get_attribute("aria-pressed") == "false"
    shot(page, "live-ringing")
    ok(caller)
    ok(ringing_phone)
    # anna answered the click-to-call call earlier: its wrap-up pop-up may be up; she closes it
    page.wait_for_timeout(500)
    if page.locator("dialog#wrapup[open]").count():
        page.keyboard.press("Escape")
        page.wait_for_selector("dialog#wrapup[open]", state="detached")
    with page.expect_response(lambda r: "/dnd" in r.url) as answered:
        button.click()
    assert answered.value.status == 200, answered.value.text()
    page.wait_for_function(
        "document.querySelector('button.dnd[data-ext=\"101\"]').getAttribute('aria-pressed') === 'true'")
    assert call_api(box, "boss", "/api/live")[1]["phones"][0]["dnd"] is True
    assert page.errors == []
    page.context.close()
    assert call_api(box, "boss", "/api/phones/101/dnd", {"dnd": False})[0] == 200


def test_blind_transfer_from_101_to_103_the_caller_stays_and_the_record_lists_both(box):
    """The campaign rings 101 and 102; 101 answers and transfers to 103 (the manager)."""
    register(box, "101", "127.0.0.11", box.base + 4)
    register(box, "103", "127.0.0.13", box.base + 6)
    transferor = sipp_background("phone_answer_refer.xml", f"127.0.0.1:{box.sip_port}",
                                 local_ip="127.0.0.11", local_port=box.base + 4,
                                 cwd=box.folder, args=["-s", "101", "-key", "rtp", "40100",
                                                       "-key", "target", "103"])
    target = sipp_background("phone_answer_bye.xml", f"127.0.0.1:{box.sip_port}",
                             local_ip="127.0.0.13", local_port=box.base + 6, cwd=box.folder,
                             args=["-s", "103", "-key", "rtp", "40200", "-d", "2000"])
    time.sleep(0.3)
    caller = sipp_background("trunk_call_gets_bye.xml", f"127.0.0.1:{box.sip_port}",
                             local_ip="127.0.0.2", local_port=box.base + 3, cwd=box.folder,
                             args=["-key", "dialled", CAMPAIGN, "-key", "caller",
                                   "+48600444555", "-key", "rtp", "40000"])
    ok(transferor)
    ok(target)
    ok(caller)        # it got its BYE only when 102 hung up, never earlier
    calls = call_api(box, "boss", "/api/calls?number=%2B48600444555")[1]["calls"]
    assert [(c["status"], c["campaign"], c["answered_by"], c["handled_by"]) for c in calls] \
        == [("answered", "Shop window", "101", ["101", "103"])]
    assert calls[0]["talk_seconds"] >= 2.5


def test_directed_pickup_103_answers_the_call_ringing_101(box):
    register(box, "101", "127.0.0.11", box.base + 4)
    register(box, "103", "127.0.0.13", box.base + 6)
    ringing = sipp_background("phone_ring_cancel.xml", f"127.0.0.1:{box.sip_port}",
                              local_ip="127.0.0.11", local_port=box.base + 4, cwd=box.folder,
                              args=["-s", "101"])
    time.sleep(0.3)
    caller = sipp_background("trunk_call_gets_bye.xml", f"127.0.0.1:{box.sip_port}",
                             local_ip="127.0.0.2", local_port=box.base + 3, cwd=box.folder,
                             args=["-key", "dialled", CAMPAIGN, "-key", "caller",
                                   "+48600777888", "-key", "rtp", "40000"])
    wait_live(box, "ringing")
    picker = sipp_background("phone_call_out.xml", f"127.0.0.1:{box.sip_port}",
                             local_ip="127.0.0.13", local_port=box.base + 6, cwd=box.folder,
                             args=["-s", "103", "-au", "103", "-ap", "secret-103-pw",
                                   "-key", "dialled", "**101", "-key", "rtp", "40300",
                                   "-d", "1500"])
    ok(picker)       # 200 to its INVITE, then its own BYE
    ok(ringing)      # 101 got CANCEL
    ok(caller)       # answered at once, BYE when 103 hung up
    calls = call_api(box, "boss", "/api/calls?number=%2B48600777888")[1]["calls"]
    assert [(c["status"], c["answered_by"]) for c in calls] == [("answered", "103")]


def test_baresip_presses_its_own_transfer_command(box, tmp_path):
    """A real softphone as 101: it answers by itself, then transfers the caller to 103."""
    from tests.e2e.rig import Baresip
    register(box, "103", "127.0.0.13", box.base + 6)
    import wave
    port = free_port_block()
    tone = tmp_path / "tone.wav"
    with wave.open(str(tone), "wb") as wav:      # 3 s of a quiet hum, 8 kHz as G.711 wants
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(bytes(range(0, 256, 8)) * 1500)
    phone = Baresip(tmp_path / "baresip", "101", "secret-101-pw", box.sip_port, "127.0.0.11",
                    port, auto_answer=True, ctrl_port=port + 50,
                    source=f"aufile,{tone}").start()
    try:
        deadline = time.monotonic() + 15
        while not any(p["extension"] == "101" and p["registered"]
                      for p in call_api(box, "boss", "/api/live")[1]["phones"]):
            assert time.monotonic() < deadline, "\n".join(phone.lines[-20:])
            time.sleep(0.2)
        target = sipp_background("phone_answer_bye.xml", f"127.0.0.1:{box.sip_port}",
                                 local_ip="127.0.0.13", local_port=box.base + 6,
                                 cwd=box.folder, args=["-s", "103", "-key", "rtp", "40300",
                                                       "-d", "1500"])
        caller = sipp_background("trunk_call_gets_bye.xml", f"127.0.0.1:{box.sip_port}",
                                 local_ip="127.0.0.2", local_port=box.base + 3, cwd=box.folder,
                                 args=["-key", "dialled", CAMPAIGN, "-key", "caller",
                                       "+48600999000", "-key", "rtp", "40000"])
        try:
            wait_live(box, "talking")
        except AssertionError:
            raise AssertionError("\n".join(line for line in phone.lines if line.strip())) \
                from None
        time.sleep(0.5)
        phone.command("transfer", f"sip:103@127.0.0.1:{box.sip_port}")
        ok(target)
        ok(caller)
    finally:
        phone.stop()
    calls = call_api(box, "boss", "/api/calls?number=%2B48600999000")[1]["calls"]
    assert [(c["answered_by"], c["handled_by"]) for c in calls] == [("101", ["101", "103"])]
