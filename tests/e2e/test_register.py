"""Issue 3 end to end: real phones (SIPp, baresip, pyVoIP) register to the running box."""

from __future__ import annotations

import json
import socket
import time

from tests import peers
from tests.e2e.rig import sipp


def register(box, extension, password, scenario="register.xml", ip="127.0.0.11", port=None):
    return sipp(scenario, f"127.0.0.1:{box.sip_port}", local_ip=ip,
                local_port=port or box.sip_port + 5,
                args=["-s", extension, "-au", extension, "-ap", password])


def test_sipp_registers_101_with_the_right_password(box, need):
    need("sipp")
    result = register(box, "101", "secret-101-pw")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    box.wait_for(r"register: 101 bound sip:101@127\.0\.0\.11:\d+ via udp:127\.0\.0\.11")
    saved = box.data_dir / "bindings.json"
    deadline = time.monotonic() + 3
    while not saved.exists() or "101" not in json.loads(saved.read_text()):
        assert time.monotonic() < deadline, "bindings.json never saved"
        time.sleep(0.2)
    bindings = json.loads(saved.read_text())
    assert bindings["101"][0]["contact"].startswith("sip:101@127.0.0.11")


def test_sipp_wrong_password_is_never_200(box, need):
    need("sipp")
    result = register(box, "101", "wrong-password", "register-refused.xml", ip="127.0.0.12")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    box.wait_for(r"register: refused 101 from udp:127\.0\.0\.12")


def test_sipp_unknown_extension_is_answered_like_a_wrong_password(box, need):
    need("sipp")
    result = register(box, "999", "whatever-pw", "register-refused.xml", ip="127.0.0.13")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def _exchange(box, user: str, password: str, ip: str) -> list[str]:
    """REGISTER twice by hand (second with a digest answer); the two answers' shapes."""
    from firmware.pbx.sip.digest import answer_challenge
    from firmware.pbx.sip.message import parse_message

    shapes = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((ip, 0))
        sock.settimeout(3)
        port = sock.getsockname()[1]
        authorization = ""
        for cseq in (1, 2):
            request = (
                f"REGISTER sip:127.0.0.1:{box.sip_port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {ip}:{port};branch=z9hG4bK{user}{cseq}{port};rport\r\n"
                f"From: <sip:{user}@127.0.0.1>;tag=t{port}\r\nTo: <sip:{user}@127.0.0.1>\r\n"
                f"Call-ID: enum-{user}-{port}\r\nCSeq: {cseq} REGISTER\r\n"
                f"Contact: <sip:{user}@{ip}:{port}>\r\nMax-Forwards: 70\r\n{authorization}"
                "Content-Length: 0\r\n\r\n")
            sock.sendto(request.encode(), ("127.0.0.1", box.sip_port))
            response = parse_message(sock.recv(65535))
            names = sorted(name for name, _ in response.headers.items())
            shapes.append(f"{response.status} {response.reason} {names}")
            challenge = response.headers.get("WWW-Authenticate")
            if challenge:
                value = answer_challenge(challenge, method="REGISTER",
                                         uri=f"sip:127.0.0.1:{box.sip_port}", username=user,
                                         password=password, cnonce="abc123")
                authorization = f"Authorization: {value}\r\n"
    return shapes


def test_unknown_and_wrong_get_byte_for_byte_the_same_shape(box):
    wrong = _exchange(box, "102", "not-the-password", "127.0.0.14")
    unknown = _exchange(box, "998", "not-the-password", "127.0.0.15")
    assert wrong == unknown
    assert wrong[0].startswith("401 ") and wrong[1].startswith("403 ")


def test_options_keepalive_is_answered(box):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.16", 0))
        sock.settimeout(3)
        port = sock.getsockname()[1]
        sock.sendto((f"OPTIONS sip:127.0.0.1:{box.sip_port} SIP/2.0\r\n"
                     f"Via: SIP/2.0/UDP 127.0.0.16:{port};branch=z9hG4bKopt{port}\r\n"
                     "From: <sip:101@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                     "Call-ID: opt1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                     "Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", box.sip_port))
        assert sock.recv(65535).startswith(b"SIP/2.0 200 OK\r\n")


def test_pyvoip_phone_registers_as_103(box):
    peers.need_module("pyVoIP")
    from pyVoIP.VoIP import PhoneStatus, VoIPPhone

    phone = VoIPPhone("127.0.0.1", box.sip_port, "103", "secret-103-pw", myIP="127.0.0.17",
                      sipPort=box.sip_port + 7, rtpPortLow=box.sip_port + 100,
                      rtpPortHigh=box.sip_port + 180)
    try:
        phone.start()
        box.wait_for(r"register: 103 bound sip:103@127\.0\.0\.17", timeout=15)
        assert phone.get_status() == PhoneStatus.REGISTERED
    finally:
        phone.stop()


def test_sipp_registers_over_tcp(box, need):
    need("sipp")
    result = sipp("register.xml", f"127.0.0.1:{box.sip_port}", local_ip="127.0.0.19",
                  local_port=box.sip_port + 8, args=["-t", "t1", "-s", "102", "-au", "102",
                                                      "-ap", "secret-102-pw"])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    box.wait_for(r"register: 102 bound sip:102@127\.0\.0\.19:\d+ via tcp:127\.0\.0\.19")


def test_a_slow_tcp_peer_does_not_block_udp(box):
    """A TCP connection that sends half a message and stalls holds up nobody else."""
    with socket.create_connection(("127.0.0.1", box.sip_port), timeout=3) as stalled:
        stalled.sendall(b"REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.20")
        test_options_keepalive_is_answered(box)
