"""Issue 14 end to end, the call-path findings, written from the attacker's side.

Raw datagrams from 127.0.0.x against the running box: a caller ID with control characters
from the trunk's address (item 1), a phone that rang but lost the race trying to steal or end
the call (item 4), a BYE from a stranger's address (item 15). The desk phones register with
SIPp, then their addresses are taken over by plain sockets that say exactly what a test wants.
"""

from __future__ import annotations

import base64
import json
import socket
import time
import urllib.request

import pytest

from tests.e2e.rig import BoxProcess, box_config, free_port_block, sipp

TRUNK, PHONE1, PHONE2, STRANGER = "127.0.0.2", "127.0.0.11", "127.0.0.12", "127.0.0.66"
SDP = ("v=0\r\no=x 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
       "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


@pytest.fixture
def box(tmp_path, need):
    need("sipp")
    base = free_port_block()
    extra = (f'\n[[trunk]]\nname = "provider"\nhost = "{TRUNK}"\nport = {base + 3}\n'
             'register = false\n[tracking]\nring_timeout_seconds = 5\n')
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, extra))
    process = BoxProcess(config, tmp_path / "data").start()
    process.sip_port, process.web_port, process.base = base, base + 1, base
    process.folder = tmp_path
    yield process
    process.stop()
    print(process.log()[-4000:])


class Peer:
    """A raw SIP peer on one loopback address: send text, read what the box sends."""

    def __init__(self, ip: str, port: int, box) -> None:
        self.ip, self.box = ip, box
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.port = self.sock.getsockname()[1]
        self.seen: list[str] = []

    def send(self, text: str) -> None:
        body_at = text.index("\r\n\r\n") + 4
        body = text[body_at:]
        text = text[:body_at].replace("Content-Length: 0", f"Content-Length: {len(body)}") + body
        self.sock.sendto(text.encode(), ("127.0.0.1", self.box.sip_port))

    def wait(self, predicate, timeout: float = 8.0) -> str:
        deadline = time.monotonic() + timeout
        for message in self.seen:
            if predicate(message):
                self.seen.remove(message)
                return message
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65535).decode(errors="replace")
            except TimeoutError:
                break
            if predicate(data):
                return data
            self.seen.append(data)
        raise AssertionError(f"{self.ip} never got it; saw {[m[:40] for m in self.seen]}")

    def close(self) -> None:
        self.sock.close()


def header(message: str, name: str) -> str:
    for line in message.split("\r\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def status(code: int):
    return lambda m: m.startswith(f"SIP/2.0 {code}")


def method(name: str):
    return lambda m: m.startswith(f"{name} ")


def register(box, extension: str, ip: str, port: int) -> None:
    result = sipp("register.xml", f"127.0.0.1:{box.sip_port}", local_ip=ip, local_port=port,
                  args=["-s", extension, "-au", extension, "-ap", f"secret-{extension}-pw"])
    assert result.returncode == 0, result.stdout[-1500:]


def trunk_invite(peer: Peer, call_id: str, caller: str = "+48600111222") -> str:
    return (f"INVITE sip:+48221234567@127.0.0.1:{peer.box.sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {peer.ip}:{peer.port};branch=z9hG4bK{call_id}\r\n"
            f"From: <sip:{caller}@{peer.ip}>;tag=t{call_id}\r\n"
            f"To: <sip:+48221234567@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
            f"Contact: <sip:trunk@{peer.ip}:{peer.port}>\r\nMax-Forwards: 70\r\n"
            "Content-Type: application/sdp\r\nContent-Length: 0\r\n\r\n"
            + SDP.format(ip=peer.ip, port=40000))


def answer(invite: str, peer: Peer, code: int, tag: str, body: str = "") -> str:
    """A phone's response to the box's INVITE."""
    lines = [f"SIP/2.0 {code} {'OK' if code == 200 else 'Ringing'}"]
    for name in ("Via", "From", "Call-ID", "CSeq"):
        lines.append(f"{name}: {header(invite, name)}")
    lines.append(f"To: {header(invite, 'To')};tag={tag}")
    lines.append(f"Contact: <sip:phone@{peer.ip}:{peer.port}>")
    if body:
        lines.append("Content-Type: application/sdp")
    return "\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n" + body


def in_dialog(invite: str, peer: Peer, name: str, cseq: int, tag: str, body: str = "") -> str:
    """A request from a rung phone inside the dialog of the box's INVITE to it."""
    return (f"{name} {header(invite, 'Contact').strip('<>')} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {peer.ip}:{peer.port};branch=z9hG4bK{name}{cseq}{tag}\r\n"
            f"From: {header(invite, 'To')};tag={tag}\r\nTo: {header(invite, 'From')}\r\n"
            f"Call-ID: {header(invite, 'Call-ID')}\r\nCSeq: {cseq} {name}\r\n"
            f"Contact: <sip:phone@{peer.ip}:{peer.port}>\r\nMax-Forwards: 70\r\n"
            + ("Content-Type: application/sdp\r\n" if body else "")
            + "Content-Length: 0\r\n\r\n" + body)


def api_calls(box) -> list[dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{box.web_port}/api/calls")
    request.add_header("Authorization", "Basic " + base64.b64encode(b"owner:owner-pw-123")
                       .decode())
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["calls"]


def make_owner(box) -> None:
    import subprocess
    import sys
    subprocess.run([sys.executable, "-m", "firmware", "passwd", "owner", "--config",
                    str(box.folder / "callbox.toml"), "--data", str(box.folder / "data")],
                   input="owner-pw-123\n", text=True, check=True, capture_output=True)


def test_control_characters_in_caller_ids_never_leave_calls_stuck(box):
    """Item 1: each such INVITE gets its final answer at the ring timeout and is recorded;
    the ports come back (a normal call still finds ports afterwards)."""
    make_owner(box)
    register(box, "101", PHONE1, box.base + 4)
    trunk = Peer(TRUNK, box.base + 3, box)
    try:
        for n in range(12):
            trunk.send(trunk_invite(trunk, f"evil{n}", caller="%0A%0D%1b[31m"))
        finals = [trunk.wait(lambda m: m.startswith("SIP/2.0 480"), timeout=10)
                  for _ in range(12)]
        assert len({header(m, "Call-ID") for m in finals}) == 12
        for m in finals:   # ACK each final response: the transactions end
            trunk.send(f"ACK sip:+48221234567@127.0.0.1 SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP {TRUNK}:{trunk.port};branch=z9hG4bK{header(m, 'Call-ID')}\r\n"
                       f"From: {header(m, 'From')}\r\nTo: {header(m, 'To')}\r\n"
                       f"Call-ID: {header(m, 'Call-ID')}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n"
                       "Content-Length: 0\r\n\r\n")
    finally:
        trunk.close()
    calls = api_calls(box)
    assert len(calls) == 12
    assert {c["caller"] for c in calls} == {"anonymous"}
    assert {c["status"] for c in calls} == {"missed"}


def test_a_phone_that_lost_the_race_can_neither_move_the_audio_nor_hang_up(box):
    """Items 4 and 15: after 101 answers, 102's re-INVITE and BYE on its cancelled leg get
    481, a stranger's BYE in 101's dialog gets 481; the caller stays connected until 101
    hangs up."""
    register(box, "101", PHONE1, box.base + 4)
    register(box, "102", PHONE2, box.base + 5)
    trunk = Peer(TRUNK, box.base + 3, box)
    phone1, phone2 = Peer(PHONE1, box.base + 4, box), Peer(PHONE2, box.base + 5, box)
    stranger = Peer(STRANGER, 0, box)
    try:
        trunk.send(trunk_invite(trunk, "race1"))
        invite1, invite2 = phone1.wait(method("INVITE")), phone2.wait(method("INVITE"))
        phone2.send(answer(invite2, phone2, 180, "p2"))
        phone1.send(answer(invite1, phone1, 200, "p1", SDP.format(ip=PHONE1, port=41000)))
        trunk.wait(status(200))
        phone2.wait(method("CANCEL"))
        phone2.send(in_dialog(invite2, phone2, "INVITE", 2, "p2",
                              SDP.format(ip=PHONE2, port=42000)))
        assert phone2.wait(lambda m: m.startswith("SIP/2.0") and "2 INVITE" in m) \
            .startswith("SIP/2.0 481")
        phone2.send(in_dialog(invite2, phone2, "BYE", 3, "p2"))
        assert phone2.wait(lambda m: "3 BYE" in m).startswith("SIP/2.0 481")
        stranger.send(in_dialog(invite1, stranger, "BYE", 4, "p1"))
        assert stranger.wait(lambda m: "4 BYE" in m).startswith("SIP/2.0 481")
        time.sleep(0.5)
        assert not any(m.startswith("BYE ") for m in trunk.seen)
        trunk.sock.settimeout(0.3)
        phone1.send(in_dialog(invite1, phone1, "BYE", 5, "p1"))      # 101 hangs up
        assert phone1.wait(lambda m: "5 BYE" in m).startswith("SIP/2.0 200")
        trunk.wait(method("BYE"))
    finally:
        for peer in (trunk, phone1, phone2, stranger):
            peer.close()
