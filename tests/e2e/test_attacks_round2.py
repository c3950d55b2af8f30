"""Issue 14 end to end: the second security review, from the attacker's side.

Each test starts its own box (tests/e2e/test_attacks.py `make_box`: extensions 101-103, the
trunk on 127.0.0.2) and sends raw datagrams from other loopback addresses, as a stranger on
the internet could (UDP source addresses are free to forge).
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.e2e.rig import have
from tests.e2e.test_attacks import PHONE, answered, make_box, register  # noqa: F401

SPOOFER = "127.0.0.88"


@pytest.fixture(autouse=True)
def _sipp():
    if not have("sipp"):
        pytest.fail("sipp is not installed") if _ci() else pytest.skip("sipp is not installed")


def _ci() -> bool:
    import os
    return os.environ.get("CI") == "true"


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
