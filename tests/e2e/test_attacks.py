"""Issue 8 end to end: real attacker tools against the running box, on loopback.

The attacker is 127.0.0.66 (SIPVicious svmap, svwar, svcrack) or 127.0.0.77 (a SIPp flood);
meanwhile a legitimate phone registers from 127.0.0.11 and the trunk (127.0.0.2) places
calls that it answers. Each test runs its own box (bans are per box and survive restarts)
and is bounded in time (the whole file takes about a minute).

SIPVicious 0.3.8's svwar and svcrack accept -b (bind address) but never pass it on, so they
would send from 127.0.0.1; `sipvicious()` runs the tool's own main() with the address passed
through (svmap passes -b itself).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests import peers
from tests.e2e.rig import finish, sipp, sipp_background

ATTACKER = "127.0.0.66"
FLOODER = "127.0.0.77"
PHONE = "127.0.0.11"
NO_SCANNER_FILTER = "\n[security]\nscanner_user_agents = []\n"

_LAUNCH = """
import sys
from sipvicious import svcrack, svwar
tool, ip = sys.argv[1], sys.argv[2]
module, name = {"svwar": (svwar, "TakeASip"), "svcrack": (svcrack, "ASipOfRedWine")}[tool]
cls = getattr(module, name)
original = cls.__init__
def bound(self, *args, **kwargs):
    kwargs["bindingip"] = ip
    original(self, *args, **kwargs)
cls.__init__ = bound
sys.argv = ["sipvicious_" + tool, *sys.argv[3:]]
module.main()
"""


@pytest.fixture(autouse=True)
def _tools():
    peers.need("sipp", "sipvicious_svmap")


def sipvicious(tool: str, ip: str, *args: str, cwd: Path, timeout: float = 40):
    if tool == "svmap":
        command = [peers.which("sipvicious_svmap"), "-b", ip, *args]
    else:
        command = [sys.executable, "-c", _LAUNCH, tool, ip, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def register(box, ip: str, port: int, cwd: Path, extension: str = "101",
             password: str = "secret-101-pw"):
    return sipp("register.xml", f"127.0.0.1:{box.sip_port}", local_ip=ip, local_port=port,
                args=["-s", extension, "-au", extension, "-ap", password], timeout=10,
                trace_dir=cwd)


def answered(box, ip: str, wait: float = 1.0) -> bool:
    """Does the box answer an ordinary OPTIONS from `ip`?"""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((ip, 0))
        sock.settimeout(wait)
        port = sock.getsockname()[1]
        sock.sendto((f"OPTIONS sip:127.0.0.1:{box.sip_port} SIP/2.0\r\n"
                     f"Via: SIP/2.0/UDP {ip}:{port};branch=z9hG4bKprobe{port}\r\n"
                     "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                     f"Call-ID: probe{port}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                     "User-Agent: Yealink SIP-T46S\r\nContent-Length: 0\r\n\r\n").encode(),
                    ("127.0.0.1", box.sip_port))
        try:
            return sock.recv(65535).startswith(b"SIP/2.0 200")
        except TimeoutError:
            return False


def healthz(box) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{box.web_port}/healthz", timeout=5) as r:
        return json.loads(r.read())


def sipp_counts(output: str) -> tuple[int, int]:
    """(successful, failed) calls from SIPp's final statistics screen."""
    def cumulative(name: str) -> int:
        found = re.findall(rf"{name}\s*\|\s*\d+\s*\|\s*(\d+)", output)
        return int(found[-1]) if found else 0
    return cumulative("Successful call"), cumulative("Failed call")


def svwar_rows(output: str) -> dict[str, str]:
    """Extension -> what svwar says of it, from its result table."""
    return dict(re.findall(r"^\|\s*(\d+)\s*\|\s*([^|]*?)\s*\|\s*$", output, re.MULTILINE))


# -- scanning --------------------------------------------------------------------------------
def test_svmap_finds_nothing(make_box, tmp_path):
    """Its one OPTIONS is dropped unanswered; one packet bans nobody (issue 14.7)."""
    box = make_box()
    result = sipvicious("svmap", ATTACKER, "127.0.0.1", "-p", str(box.sip_port), cwd=tmp_path)
    assert f"127.0.0.1:{box.sip_port}" not in result.stdout, result.stdout
    assert register(box, PHONE, box.sip_port + 5, tmp_path).returncode == 0
    assert answered(box, PHONE)


@pytest.mark.parametrize("extra,method", [("", "REGISTER"), (NO_SCANNER_FILTER, "REGISTER"),
                                          (NO_SCANNER_FILTER, "INVITE"),
                                          (NO_SCANNER_FILTER, "OPTIONS")])
def test_svwar_cannot_tell_existing_extensions_from_unknown_ones(make_box, tmp_path, extra,
                                                                method):
    """101-103 exist, 100 and 104-110 do not: svwar finds none, or all alike."""
    box = make_box(extra)
    result = sipvicious("svwar", ATTACKER, "-e100-110", "-m", method, "--force",
                        "--maximumtime", "3", f"udp://127.0.0.1:{box.sip_port}", cwd=tmp_path)
    output = result.stdout + result.stderr
    rows = svwar_rows(output)
    assert rows == {} or (len(set(rows.values())) == 1 and len(rows) == 11), output
    if not extra:   # its scanner User-Agent: every request dropped unanswered (issue 14.7)
        assert rows == {}, output
    assert register(box, PHONE, box.sip_port + 5, tmp_path).returncode == 0


# -- password cracking ---------------------------------------------------------------------
def test_svcrack_is_banned_within_the_threshold(make_box, tmp_path):
    """With the scanner filter off, svcrack's failed answers alone get it banned: at 10."""
    box = make_box(NO_SCANNER_FILTER)
    phone = sipp_background("register.xml", f"127.0.0.1:{box.sip_port}", local_ip=PHONE,
                            local_port=box.sip_port + 5, calls=6, timeout=20, cwd=tmp_path,
                            args=["-s", "101", "-au", "101", "-ap", "secret-101-pw",
                                  "-r", "1", "-rp", "1000"])
    result = sipvicious("svcrack", ATTACKER, "-u", "101", "-r", "1000-1300", "--maximumtime",
                        "2", f"udp://127.0.0.1:{box.sip_port}", cwd=tmp_path)
    assert "found nothing" in result.stderr + result.stdout
    line = box.wait_for(r"defence: banned 127\.0\.0\.66 for 3600 s \(auth")
    refused = re.findall(r"register: refused 101 from udp:127\.0\.0\.66", box.log())
    assert len(refused) == 10, line
    assert not answered(box, ATTACKER)
    code, out = finish(phone)
    assert code == 0 and sipp_counts(out) == (6, 0), out
    assert register(box, PHONE, box.sip_port + 6, tmp_path).returncode == 0

    health = healthz(box)                         # strangers see counts only (issue 14.16)
    assert (health["ban_count"], health["bans_by_reason"]) == (1, {"auth": 1})
    assert "bans" not in health and ATTACKER not in json.dumps(health)

    box.stop()                                    # the ban survives a restart
    saved = json.loads((box.data_dir / "bans.json").read_text())
    assert [b["address"] for b in saved["bans"]] == [ATTACKER]
    box.start()
    assert healthz(box)["ban_count"] == 1
    assert not answered(box, ATTACKER)
    assert answered(box, PHONE)


def test_svcrack_as_itself_gets_no_answer_and_tries_no_password(make_box, tmp_path):
    """Its scanner User-Agent: each request is dropped unread (a ban needs three of them,
    issue 14.7, so one spoofed packet never bans a phone); no password is ever checked."""
    box = make_box()
    result = sipvicious("svcrack", ATTACKER, "-u", "101", "-r", "1000-1100", "--maximumtime",
                        "2", f"udp://127.0.0.1:{box.sip_port}", cwd=tmp_path)
    assert "found nothing" in result.stderr + result.stdout or \
        "could not" in (result.stderr + result.stdout).lower(), result.stdout + result.stderr
    assert "register: refused" not in box.log()
    assert register(box, PHONE, box.sip_port + 5, tmp_path).returncode == 0


def test_trunk_calls_all_succeed_while_svcrack_and_svwar_attack(make_box, tmp_path):
    """The provider (127.0.0.2) calls the campaign 10 times; 101 answers each one."""
    box = make_box(NO_SCANNER_FILTER)
    assert register(box, PHONE, box.sip_port + 5, tmp_path).returncode == 0
    answering = sipp_background("phone_answer.xml", f"127.0.0.1:{box.sip_port}",
                                local_ip=PHONE, local_port=box.sip_port + 5, calls=10,
                                timeout=30, cwd=tmp_path,
                                args=["-s", "101", "-d", "200", "-key", "rtp", "40100"])
    attacks = [subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, tool, ATTACKER, *args, "--maximumtime", "2",
         f"udp://127.0.0.1:{box.sip_port}"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, cwd=tmp_path)
        for tool, args in (("svcrack", ["-u", "101", "-r", "1000-1300"]),
                           ("svwar", ["-e100-300", "-m", "INVITE", "--force"]))]
    time.sleep(0.3)
    calls = sipp("trunk_call.xml", f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.2",
                 local_port=box.sip_port + 3, calls=10, rate=2, timeout=30, trace_dir=tmp_path,
                 args=["-key", "dialled", "+48221234567", "-key", "caller", "+48600111222",
                       "-key", "rtp", "40000", "-d", "200"])
    for attack in attacks:
        attack.wait(30)
    assert sipp_counts(calls.stdout) == (10, 0), calls.stdout[-3000:]
    code, out = finish(answering)
    assert code == 0, out
    box.wait_for(r"defence: banned 127\.0\.0\.66 for 3600 s \(auth")


# -- flooding ----------------------------------------------------------------------------------
def test_a_flood_is_dropped_and_phones_still_register(make_box, tmp_path):
    """OPTIONS at 2,000/s for 5 s from one address; a phone registers 5 times a second."""
    box = make_box()
    flood = sipp_background("options_flood.xml", f"127.0.0.1:{box.sip_port}",
                            local_ip=FLOODER, local_port=box.sip_port + 7, calls=10000,
                            timeout=20, cwd=tmp_path, args=["-s", "101", "-r", "2000"])
    time.sleep(0.5)
    legit = register_many(box, tmp_path, calls=30, rate=5)
    code, out = finish(flood)
    assert sipp_counts(out)[0] >= 9000, out                # the flood really was sent
    ok, failed = sipp_counts(legit.stdout)
    assert ok >= 0.99 * 30 and failed == 0, legit.stdout[-3000:]
    box.wait_for(r"defence: banned 127\.0\.0\.77 for 60 s \(flood")
    assert "banned 127.0.0.11" not in box.log()
    assert not answered(box, FLOODER)


def register_many(box, cwd: Path, calls: int, rate: float, ip: str = PHONE):
    return sipp("register.xml", f"127.0.0.1:{box.sip_port}", local_ip=ip,
                local_port=box.sip_port + 5, calls=calls, rate=rate, timeout=calls / rate + 10,
                trace_dir=cwd, args=["-s", "101", "-au", "101", "-ap", "secret-101-pw"])


# -- toll fraud --------------------------------------------------------------------------------
@pytest.mark.parametrize("number", ["+48701234567", "+48801234567", "+49301234567"])
def test_a_phone_cannot_dial_premium_or_foreign_numbers(make_box, tmp_path, number):
    box = make_box()
    assert register(box, PHONE, box.sip_port + 5, tmp_path).returncode == 0
    result = sipp("dial_refused.xml", f"127.0.0.1:{box.sip_port}", local_ip=PHONE,
                  local_port=box.sip_port + 5, timeout=10, trace_dir=tmp_path,
                  args=["-s", number, "-key", "ext", "101", "-au", "101", "-ap", "secret-101-pw",
                        "-auth_uri", f"{number}@127.0.0.1:{box.sip_port}"])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    box.wait_for(rf"toll-fraud guard: 101 may not call \{number}")
    box.wait_for(r"call: \w+ refused 403 Forbidden")
