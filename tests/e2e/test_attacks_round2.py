"""Issue 14 end to end: the second security review, from the attacker's side.

Each test starts its own box (tests/e2e/conftest.py `make_box`: extensions 101-103, the
trunk on 127.0.0.2) and sends raw datagrams from other loopback addresses, as a stranger on
the internet could (UDP source addresses are free to forge).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from firmware.pbx.sip.digest import answer_challenge, parse_auth_header
from tests.e2e.rig import finish, have, sipp_background
from tests.e2e.test_attacks import PHONE, answered, register

SPOOFER = "127.0.0.88"


@pytest.fixture(autouse=True)
def _sipp():
    if not have("sipp"):
        if os.environ.get("CI") == "true":
            pytest.fail("sipp is not installed")       # under CI a missing peer is a failure
        pytest.skip("sipp is not installed")


def send_raw(box, source_ip: str, text: str) -> bytes | None:
    """Send `text` from `source_ip` to the box's SIP port; its answer, or None within 1 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source_ip, 0))
        sock.settimeout(1.0)
        port = sock.getsockname()[1]
        sock.sendto(text.replace("{port}", str(port)).replace("{ip}", source_ip).encode(),
                    ("127.0.0.1", box.sip_port))
        try:
            return sock.recv(65535)
        except TimeoutError:
            return None


SCANNER_OPTIONS = ("OPTIONS sip:100@127.0.0.1 SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP {ip}:{port};branch=z9hG4bKscan{port}\r\n"
                   "From: <sip:100@127.0.0.1>;tag=s1\r\nTo: <sip:100@127.0.0.1>\r\n"
                   "Call-ID: scan{port}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                   "User-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n")


# -- 7: one spoofed scanner packet never bans a desk phone ------------------------------------
def test_one_spoofed_scanner_packet_does_not_ban_a_registered_phone(make_box, tmp_path):
    box = make_box()
    assert register(box, PHONE, box.sip_port + 5, tmp_path).returncode == 0
    assert send_raw(box, PHONE, SCANNER_OPTIONS) is None          # dropped, unanswered
    time.sleep(0.2)
    assert answered(box, PHONE)
    assert "banned 127.0.0.11" not in box.log()
    assert register(box, PHONE, box.sip_port + 5, tmp_path).returncode == 0


# -- 2: RTP bleed ------------------------------------------------------------------------------
def rtp(seq: int, fill: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 0x4242) + bytes([fill]) * 160


def udp(ip: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ip, 0))
    sock.settimeout(0.3)
    return sock


def drain(sock: socket.socket) -> list[bytes]:
    got = []
    while True:
        try:
            got.append(sock.recv(2048))
        except TimeoutError:
            return got


def port_file(path: Path, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip().isdigit():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path.name} never written")


def test_rtp_bleed_a_stranger_who_sends_first_neither_hears_nor_is_heard(make_box, tmp_path):
    """Issue 14.2: a stranger sprays the call's relay ports before the parties speak."""
    box = make_box()
    assert register(box, PHONE, box.sip_port + 5, tmp_path).returncode == 0
    trunk_media, phone_media, stranger = udp("127.0.0.2"), udp(PHONE), udp(SPOOFER)
    try:
        answering = sipp_background(
            "phone_answer.xml", f"127.0.0.1:{box.sip_port}", local_ip=PHONE,
            local_port=box.sip_port + 5, timeout=20, cwd=tmp_path,
            args=["-s", "101", "-d", "100", "-key", "rtp", str(phone_media.getsockname()[1])])
        calling = sipp_background(
            "trunk_call.xml", f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.2",
            local_port=box.sip_port + 3, timeout=20, cwd=tmp_path,
            args=["-key", "dialled", "+48221234567", "-key", "caller", "+48600111222",
                  "-key", "rtp", str(trunk_media.getsockname()[1]), "-d", "2500"])
        a_port, b_port = port_file(tmp_path / "trunk.port"), port_file(tmp_path / "phone.port")
        for seq in range(5):                               # the stranger is first, on both legs
            stranger.sendto(rtp(seq, 0x66), ("127.0.0.1", a_port))
            stranger.sendto(rtp(seq, 0x66), ("127.0.0.1", b_port))
        time.sleep(0.2)
        for seq in range(5):
            trunk_media.sendto(rtp(seq, 0x11), ("127.0.0.1", a_port))
            phone_media.sendto(rtp(seq, 0x22), ("127.0.0.1", b_port))
        heard_by_phone, heard_by_trunk = drain(phone_media), drain(trunk_media)
        assert drain(stranger) == []                       # the stranger hears nobody
        assert heard_by_phone and all(p[12] == 0x11 for p in heard_by_phone)
        assert heard_by_trunk and all(p[12] == 0x22 for p in heard_by_trunk)
        assert finish(calling)[0] == 0 and finish(answering)[0] == 0
    finally:
        for sock in (trunk_media, phone_media, stranger):
            sock.close()


# -- 6: digest replay --------------------------------------------------------------------------
def register_text(ip: str, port: int, box, *, uri: str | None = None, contact_ip: str | None = None,
                  authorization: str = "", cseq: int = 1) -> str:
    uri = uri or f"sip:127.0.0.1:{box.sip_port}"
    auth = f"Authorization: {authorization}\r\n" if authorization else ""
    return (f"REGISTER {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {ip}:{port};branch=z9hG4bKreg{port}x{cseq}\r\n"
            "From: <sip:101@127.0.0.1>;tag=r1\r\nTo: <sip:101@127.0.0.1>\r\n"
            f"Call-ID: reg{port}@{ip}\r\nCSeq: {cseq} REGISTER\r\nMax-Forwards: 70\r\n"
            f"Contact: <sip:101@{contact_ip or ip}:{port}>\r\nExpires: 120\r\n{auth}"
            "User-Agent: Old phone 1.0\r\nContent-Length: 0\r\n\r\n")


class Peer:
    """One UDP socket on a loopback address: send a request, read the box's answer."""

    def __init__(self, ip: str) -> None:
        self.ip = ip
        self.sock = udp(ip)
        self.sock.settimeout(1.0)
        self.port = self.sock.getsockname()[1]

    def ask(self, box, text: str) -> str:
        self.sock.sendto(text.encode(), ("127.0.0.1", box.sip_port))
        while True:
            answer = self.sock.recv(65535).decode()
            if not answer.startswith("SIP/2.0 100"):
                return answer

    def close(self) -> None:
        self.sock.close()


def rfc2069_answer(box, phone: Peer, uri: str) -> str:
    """The phone's Authorization without qop (an old phone), for a fresh nonce of the box."""
    challenge = phone.ask(box, register_text(phone.ip, phone.port, box))
    assert challenge.startswith("SIP/2.0 401"), challenge
    line = next(h for h in challenge.split("\r\n") if h.lower().startswith("www-authenticate"))
    _, params = parse_auth_header(line.split(":", 1)[1].strip())
    return answer_challenge(f'Digest realm="{params["realm"]}", nonce="{params["nonce"]}"',
                            method="REGISTER", uri=uri, username="101",
                            password="secret-101-pw", cnonce="x")


def test_a_captured_register_answer_is_no_key_from_another_host(make_box):
    """Issue 14.6: without qop the box took one Authorization from anyone for 300 s."""
    box = make_box()
    phone, attacker = Peer(PHONE), Peer("127.0.0.66")
    try:
        uri = f"sip:127.0.0.1:{box.sip_port}"
        captured = rfc2069_answer(box, phone, uri)
        ok = phone.ask(box, register_text(phone.ip, phone.port, box, authorization=captured,
                                          cseq=2))
        assert ok.startswith("SIP/2.0 200"), ok
        replay = attacker.ask(box, register_text(attacker.ip, attacker.port, box,
                                                 authorization=captured, cseq=3))
        assert replay.startswith("SIP/2.0 401") and "stale=true" in replay, replay
        again = phone.ask(box, register_text(phone.ip, phone.port, box, authorization=captured,
                                             cseq=4))
        assert again.startswith("SIP/2.0 200"), again     # the phone's own refresh still works
        assert "101 bound sip:101@127.0.0.66" not in box.log()
    finally:
        phone.close()
        attacker.close()


def test_credentials_for_one_request_uri_do_not_open_another(make_box):
    box = make_box()
    phone = Peer(PHONE)
    try:
        captured = rfc2069_answer(box, phone, f"sip:127.0.0.1:{box.sip_port}")
        other = phone.ask(box, register_text(phone.ip, phone.port, box, cseq=2,
                                             uri=f"sip:elsewhere@127.0.0.1:{box.sip_port}",
                                             authorization=captured))
        assert other.startswith("SIP/2.0 403"), other
    finally:
        phone.close()


# -- 16: /healthz tells strangers no addresses --------------------------------------------------
def test_healthz_lists_no_banned_address_to_a_stranger(make_box):
    box = make_box()
    for _ in range(3):                               # three scanner requests: banned
        send_raw(box, SPOOFER, SCANNER_OPTIONS)
    box.wait_for(r"defence: banned 127\.0\.0\.88")
    with urllib.request.urlopen(f"http://127.0.0.1:{box.web_port}/healthz", timeout=5) as r:
        health = json.loads(r.read())
    assert health["ban_count"] == 1 and health["bans_by_reason"] == {"scanner": 1}
    assert SPOOFER not in json.dumps(health)


# -- 18: DNS rebinding cannot claim a fresh box -------------------------------------------------
def test_a_fresh_box_is_not_set_up_under_a_foreign_name(make_box):
    box = make_box()

    def get_setup(host: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", box.web_port, timeout=5)
        try:
            connection.request("GET", "/setup", headers={"Host": host})
            return connection.getresponse().status
        finally:
            connection.close()

    assert get_setup(f"rebind.attacker.example:{box.web_port}") == 400
    assert get_setup(f"127.0.0.1:{box.web_port}") == 200
    box.wait_for(r"setup refused for Host 'rebind\.attacker\.example")


# -- 11: a guesser cannot lock the owner out of the panel ---------------------------------------
class Browser:
    """A cookie-keeping HTTP client bound to one loopback source address."""

    def __init__(self, box, source_ip: str) -> None:
        self.box, self.source_ip, self.cookies = box, source_ip, {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.box.web_port, timeout=5,
                                                source_address=(self.source_ip, 0))
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name] = rest.split(";")[0]
            return response.status, response.read().decode()
        finally:
            connection.close()

    def sign_in(self, user: str, password: str) -> int:
        _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)[1]
        return self.request("POST", "/login", {"user": user, "password": password,
                                               "csrf_token": token})[0]


def with_owner(box):
    """The box restarted with a panel owner olga / owner-pass-1."""
    box.stop()
    subprocess.run([sys.executable, "-m", "firmware", "passwd", "olga", "--config",
                    str(box.config_path), "--data", str(box.data_dir)],
                   input="owner-pass-1\n", text=True, check=True, capture_output=True)
    return box.start()


def test_a_guesser_cannot_lock_the_owner_out_of_the_panel(make_box):
    box = with_owner(make_box())
    guesser = Browser(box, "127.0.0.66")
    codes = [guesser.sign_in("olga", f"guess-{n}") for n in range(6)]
    assert codes[:5] == [401] * 5 and codes[-1] == 429
    assert Browser(box, "127.0.0.1").sign_in("olga", "owner-pass-1") == 302


# -- 13: a caller ID with control characters does not break the exports -------------------------
def test_exports_survive_a_caller_id_with_control_characters(make_box):
    box = with_owner(make_box())
    invite = ("INVITE sip:+48221234567@127.0.0.1 SIP/2.0\r\n"
              "Via: SIP/2.0/UDP {ip}:{port};branch=z9hG4bKctl{port}\r\n"
              "From: <sip:+4860%01%07@127.0.0.2>;tag=c1\r\n"
              "To: <sip:+48221234567@127.0.0.1>\r\nCall-ID: ctl{port}\r\n"
              "CSeq: 1 INVITE\r\nContact: <sip:caller@{ip}:{port}>\r\nMax-Forwards: 70\r\n"
              "Content-Length: 0\r\n\r\n")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as trunk:
        trunk.bind(("127.0.0.2", box.sip_port + 3))
        trunk.settimeout(3)
        trunk.sendto(invite.replace("{ip}", "127.0.0.2").replace(
            "{port}", str(box.sip_port + 3)).encode(), ("127.0.0.1", box.sip_port))
        box.wait_for(r"call \w+ recorded", timeout=10)
    token = base64.b64encode(b"olga:owner-pass-1").decode()
    for path in ("/api/calls.xlsx", "/api/calls.csv"):
        request = urllib.request.Request(f"http://127.0.0.1:{box.web_port}{path}",
                                         headers={"Authorization": f"Basic {token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200 and answer.read()


# -- 12: a newline in a SIP URI forges no log line -----------------------------------------------
def test_a_newline_in_a_uri_does_not_forge_a_log_line(make_box):
    box = make_box()
    forged = "1999-01-01 00:00:00,000 WARNING firmware.pbx.defence: defence: banned 127.0.0.11"
    user = "101%0A" + urllib.parse.quote(forged, safe="")
    attacker = Peer("127.0.0.66")
    try:
        text = register_text(attacker.ip, attacker.port, box).replace(
            "To: <sip:101@", f"To: <sip:{user}@")
        challenge = attacker.ask(box, text)
        assert challenge.startswith("SIP/2.0 401"), challenge
        line = next(h for h in challenge.split("\r\n") if h.lower().startswith("www-auth"))
        auth = answer_challenge(line.split(":", 1)[1].strip(), method="REGISTER",
                                uri=f"sip:127.0.0.1:{box.sip_port}", username="101",
                                password="a-wrong-guess", cnonce="c")
        refused = attacker.ask(box, register_text(
            attacker.ip, attacker.port, box, cseq=2, authorization=auth).replace(
            "To: <sip:101@", f"To: <sip:{user}@"))
        assert refused.startswith("SIP/2.0 403"), refused
        box.wait_for(r"register: refused 101\\n1999-01-01")
        assert not any(line.startswith("1999-01-01") for line in box.log().splitlines())
    finally:
        attacker.close()


# -- 10: one host cannot take every TCP slot ---------------------------------------------------
def test_one_host_cannot_take_every_tcp_slot(make_box):
    box = make_box()
    hogs = []
    try:
        for _ in range(520):                         # more than the box's 512 slots
            sock = socket.create_connection(("127.0.0.1", box.sip_port), timeout=2,
                                            source_address=("127.0.0.66", 0))
            hogs.append(sock)
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", box.sip_port), timeout=3,
                                      source_address=(PHONE, 0)) as phone:
            port = phone.getsockname()[1]
            phone.sendall((f"OPTIONS sip:127.0.0.1:{box.sip_port} SIP/2.0\r\n"
                           f"Via: SIP/2.0/TCP {PHONE}:{port};branch=z9hG4bKtcp{port}\r\n"
                           "From: <sip:101@127.0.0.1>;tag=t1\r\nTo: <sip:127.0.0.1>\r\n"
                           f"Call-ID: tcp{port}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                           "Content-Length: 0\r\n\r\n").encode())
            assert phone.recv(65535).startswith(b"SIP/2.0 200")
        box.wait_for(r"tcp: 127\.0\.0\.66 has \d+ connections already")
    finally:
        for sock in hogs:
            sock.close()


# -- 8: many sources with large requests cannot exhaust the box's memory -------------------------
def rss_kib(box) -> int:
    with open(f"/proc/{box.proc.pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_large_requests_from_many_sources_do_not_exhaust_memory(make_box, tmp_path):
    """1,600 sources, one 60 KB OPTIONS each (below every per-address limit): some 100 MB the
    box would keep for 32 s each; the table's byte cap (16 MB) keeps it to a fraction."""
    box = make_box()
    assert register(box, PHONE, box.sip_port + 5, tmp_path).returncode == 0
    before = rss_kib(box)
    padding = "x" * 60000
    replies = 0
    for i in range(1600):
        ip = f"127.0.{10 + i // 200}.{1 + i % 200}"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((ip, 0))
            sock.settimeout(1.0)
            port = sock.getsockname()[1]
            sock.sendto((f"OPTIONS sip:127.0.0.1:{box.sip_port} SIP/2.0\r\n"
                         f"Via: SIP/2.0/UDP {ip}:{port};branch=z9hG4bKbig{i}\r\n"
                         f"From: <sip:x@{ip}>;tag=b{i}\r\nTo: <sip:127.0.0.1>\r\n"
                         f"Call-ID: big{i}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                         f"X-Padding: {padding}\r\nContent-Length: 0\r\n\r\n").encode(),
                        ("127.0.0.1", box.sip_port))
            try:
                replies += sock.recv(65535).startswith(b"SIP/2.0 200")
            except TimeoutError:
                pass
    grown = rss_kib(box) - before
    assert replies >= 1500                          # strangers are still answered, too
    assert grown < 50 * 1024, f"the box grew by {grown // 1024} MB"
    assert answered(box, PHONE)                     # and the registered phone, of course
    assert register(box, PHONE, box.sip_port + 5, tmp_path).returncode == 0
