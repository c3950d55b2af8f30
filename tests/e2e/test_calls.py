"""Issue 4 end to end: the trunk (SIPp on 127.0.0.2) calls a campaign number; desk phones
(SIPp on 127.0.0.11 and up) ring; the box relays the audio between them."""

from __future__ import annotations

import hashlib
import re
import socket
import struct
import time
from pathlib import Path

import pytest

from tests.e2e.panel_api import make_owner, wait_call
from tests.e2e.rig import (
    BoxProcess, box_config, finish, free_port_block, scenario, sipp, sipp_background)

CAMPAIGN = "+48221234567"


@pytest.fixture
def rig(tmp_path, need):
    """A fresh box per test: trunk 127.0.0.2 authenticated by address."""
    need("sipp")
    base = free_port_block()
    trunk = f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n' \
            'username = "48221234567"\npassword = "trunk-secret"\nregister = false\n' \
            '[tracking]\nring_timeout_seconds = 6\n'
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, trunk))
    make_owner(tmp_path / "data")
    box = BoxProcess(config, tmp_path / "data").start()
    box.sip_port, box.base, box.folder, box.web_port = base, base, tmp_path, base + 1
    yield box
    box.stop()
    print(box.log()[-6000:])   # shown by pytest when the test failed


def register(box, extension: str, ip: str, port: int) -> None:
    result = sipp("register.xml", f"127.0.0.1:{box.sip_port}", local_ip=ip, local_port=port,
                  args=["-s", extension, "-au", extension, "-ap", f"secret-{extension}-pw"])
    assert result.returncode == 0, result.stdout[-1500:]


def rtp_packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 0x1234) + payload


def wait_file(path: Path, timeout: float = 15.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text().strip())
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def test_trunk_call_answered_by_101_with_audio_both_ways(rig):
    box = rig
    phone_port, trunk_port = box.base + 4, box.base + 3
    register(box, "101", "127.0.0.11", phone_port)
    phone_rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    trunk_rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone_rtp.bind(("127.0.0.11", 0))
    trunk_rtp.bind(("127.0.0.2", 0))
    phone_rtp.settimeout(0.05)
    trunk_rtp.settimeout(0.05)
    phone = sipp_background("phone_answer.xml", f"127.0.0.1:{box.sip_port}",
                            local_ip="127.0.0.11", local_port=phone_port, args=[
                                "-s", "101", "-d", "3000",
                                "-key", "rtp", str(phone_rtp.getsockname()[1])],
                            cwd=box.folder)
    time.sleep(0.3)
    trunk = sipp_background("trunk_call.xml", f"127.0.0.1:{box.sip_port}",
                            local_ip="127.0.0.2", local_port=trunk_port, args=[
                                "-key", "dialled", CAMPAIGN, "-key", "caller", "+48600111222",
                                "-key", "rtp", str(trunk_rtp.getsockname()[1]),
                                "-d", "3000"], cwd=box.folder)
    box_b = wait_file(box.folder / "phone.port")   # the box's port offered to the phone
    box_a = wait_file(box.folder / "trunk.port")   # ... and to the trunk, once answered
    assert box_a != box_b
    from_trunk, from_phone = [], []
    for seq in range(40):
        trunk_rtp.sendto(rtp_packet(seq, b"T" * 160), ("127.0.0.1", box_a))
        phone_rtp.sendto(rtp_packet(seq, b"P" * 160), ("127.0.0.1", box_b))
        for sock, got in ((phone_rtp, from_trunk), (trunk_rtp, from_phone)):
            try:
                data, source = sock.recvfrom(2048)
                got.append((data, source))
            except socket.timeout:
                pass
        time.sleep(0.02)
    code, out = finish(trunk)
    assert code == 0, out
    code, out = finish(phone)
    assert code == 0, out
    phone_rtp.close()
    trunk_rtp.close()
    assert len(from_trunk) >= 30 and len(from_phone) >= 30
    assert all(data[12:] == b"T" * 160 and source == ("127.0.0.1", box_b)
               for data, source in from_trunk)
    assert all(data[12:] == b"P" * 160 and source == ("127.0.0.1", box_a)
               for data, source in from_phone)
    call = wait_call(box, direction="inbound", caller="+48600111222", callee=CAMPAIGN,
                     status="answered", answered_by="101")
    assert call["talk_seconds"] > 0


def trunk_call(box, script, *args, calls=1):
    return sipp_background(script, f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.2",
                           local_port=box.base + 3, calls=calls, cwd=box.folder, args=[
                               "-key", "dialled", CAMPAIGN, "-key", "caller", "+48600111222",
                               "-key", "rtp", "40000", *args])


def phone(box, script, extension, ip, port, *args):
    return sipp_background(script, f"127.0.0.1:{box.sip_port}", local_ip=ip, local_port=port,
                           cwd=box.folder, args=["-s", extension, "-key", "rtp", "40100", *args])


def ok(proc):
    code, out = finish(proc)
    assert code == 0, out


def test_caller_hangs_up_while_two_phones_ring(rig):
    box = rig
    register(box, "101", "127.0.0.11", box.base + 4)
    register(box, "102", "127.0.0.12", box.base + 5)
    phones = [phone(box, "phone_ring_cancel.xml", "101", "127.0.0.11", box.base + 4),
              phone(box, "phone_ring_cancel.xml", "102", "127.0.0.12", box.base + 5)]
    time.sleep(0.3)
    ok(trunk_call(box, "trunk_cancel.xml", "-d", "1000"))   # it gets 487 and ACKs it
    for each in phones:
        ok(each)                                                # both got CANCEL
    call = wait_call(box, direction="inbound", status="missed", missed_reason="caller_hangup")
    assert sorted(call["rang"]) == ["101", "102"]


def test_102_answers_and_101_gets_cancel(rig):
    box = rig
    register(box, "101", "127.0.0.11", box.base + 4)
    register(box, "102", "127.0.0.12", box.base + 5)
    slow = phone(box, "phone_ring_cancel.xml", "101", "127.0.0.11", box.base + 4)
    fast = phone(box, "phone_answer.xml", "102", "127.0.0.12", box.base + 5, "-d", "1000")
    time.sleep(0.3)
    ok(trunk_call(box, "trunk_call.xml", "-d", "1000"))
    ok(fast)
    ok(slow)
    call = wait_call(box, direction="inbound", status="answered", answered_by="102")
    assert sorted(call["rang"]) == ["101", "102"]


@pytest.mark.parametrize("case", ["ring_timeout", "nobody_registered", "unknown_number"])
def test_calls_nobody_takes(rig, case):
    box = rig
    status, dialled = "480", CAMPAIGN
    procs = []
    if case == "ring_timeout":
        register(box, "101", "127.0.0.11", box.base + 4)
        procs.append(phone(box, "phone_ring_cancel.xml", "101", "127.0.0.11", box.base + 4))
    elif case == "unknown_number":
        status, dialled = "404", "+48229999999"
    time.sleep(0.3)
    script = scenario("trunk_rejected.xml", box.folder, STATUS=status)
    ok(sipp_background(str(script), f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.2",
                       local_port=box.base + 3, cwd=box.folder,
                       args=["-key", "dialled", dialled, "-key", "caller", "+48600111222"]))
    for each in procs:
        ok(each)
    if case != "unknown_number":
        wait_call(box, direction="inbound", callee=CAMPAIGN, status="missed",
                  missed_reason={"ring_timeout": "ring_timeout",
                                 "nobody_registered": "nobody_available"}[case])


VERIFY = """<recv request="INVITE">
    <action>
      <verifyauth assign_to="authvalid" username="48221234567" password="trunk-secret" />
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="good" />"""
ACCEPT = """<recv request="INVITE" next="good" />"""


def _check_proxy_authorization(folder: Path) -> None:
    """RFC 2617 by hand (hashlib, not our digest code) over what SIPp received."""
    log = "".join(p.read_text() for p in folder.glob("*trunk_answer_auth*_messages.log"))
    match = re.search(r"^Proxy-Authorization: Digest (.+)$", log, re.M)
    assert match, "the box sent no Proxy-Authorization"
    fields = {key: quoted or bare for key, quoted, bare
              in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', match.group(1))}
    md5 = lambda text: hashlib.md5(text.encode()).hexdigest()
    ha1 = md5(f"48221234567:{fields['realm']}:trunk-secret")
    ha2 = md5(f"INVITE:{fields['uri']}")
    expected = md5(f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
    assert fields["username"] == "48221234567" and fields["response"] == expected


@pytest.mark.parametrize("code", ["407", "401"])
def test_101_calls_out_and_answers_the_trunks_challenge(rig, code):
    box = rig
    register(box, "101", "127.0.0.11", box.base + 4)
    values = {"407": dict(CODE="407", REASON="Proxy Authentication Required",
                          HEADER="Proxy-Authenticate", CHECK=ACCEPT),
              "401": dict(CODE="401", REASON="Unauthorized", HEADER="WWW-Authenticate",
                          CHECK=VERIFY)}[code]
    script = scenario("trunk_answer_auth.xml", box.folder, **values)
    provider = sipp_background(str(script), f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.2",
                               local_port=box.base + 3, cwd=box.folder, args=["-trace_msg"])
    time.sleep(0.3)
    caller = phone(box, "phone_call_out.xml", "101", "127.0.0.11", box.base + 4,
                   "-au", "101", "-ap", "secret-101-pw", "-key", "dialled", "+48600000000",
                   "-d", "500")
    ok(caller)
    ok(provider)
    if code == "407":
        _check_proxy_authorization(box.folder)
    wait_call(box, direction="outbound", caller="101", callee="+48600000000",
              status="answered")


def test_bye_from_the_phone_side_ends_both_legs(rig):
    box = rig
    register(box, "101", "127.0.0.11", box.base + 4)
    answering = phone(box, "phone_answer_bye.xml", "101", "127.0.0.11", box.base + 4,
                      "-d", "500")
    time.sleep(0.3)
    ok(trunk_call(box, "trunk_call_gets_bye.xml"))   # the trunk receives the BYE
    ok(answering)                                     # the phone's BYE got its 200
    wait_call(box, direction="inbound", status="answered", answered_by="101")


def test_hold_re_invite_is_relayed_with_the_box_in_the_media_path(rig):
    box = rig
    register(box, "101", "127.0.0.11", box.base + 4)
    holding = phone(box, "phone_hold.xml", "101", "127.0.0.11", box.base + 4, "-d", "300")
    time.sleep(0.3)
    ok(trunk_call(box, "trunk_call_held.xml"))   # got a=sendonly on the box's address
    ok(holding)                                   # got a=recvonly back, then BYE -> 200
    wait_call(box, direction="inbound", status="answered", answered_by="101")


def test_101_dials_102_and_the_desk_phone_rings(rig):
    box = rig
    register(box, "101", "127.0.0.11", box.base + 4)
    register(box, "102", "127.0.0.12", box.base + 5)
    callee = phone(box, "phone_answer.xml", "102", "127.0.0.12", box.base + 5, "-d", "200")
    time.sleep(0.3)
    ok(phone(box, "phone_call_out.xml", "101", "127.0.0.11", box.base + 4, "-au", "101",
             "-ap", "secret-101-pw", "-key", "dialled", "102", "-d", "300"))
    ok(callee)
    wait_call(box, direction="internal", caller="101", callee="102", status="answered",
              answered_by="102")
