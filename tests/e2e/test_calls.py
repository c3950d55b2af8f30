"""Issue 4 end to end: the trunk (SIPp on 127.0.0.2) calls a campaign number; desk phones
(SIPp on 127.0.0.11 and up) ring; the box relays the audio between them."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

import pytest

from tests.e2e.rig import BoxProcess, box_config, finish, free_port_block, sipp, sipp_background

CAMPAIGN = "+48221234567"


@pytest.fixture
def rig(tmp_path, need):
    """A fresh box per test: trunk 127.0.0.2 authenticated by address."""
    need("sipp")
    base = free_port_block()
    trunk = f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n' \
            'register = false\n[tracking]\nring_timeout_seconds = 6\n'
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, trunk))
    box = BoxProcess(config, tmp_path / "data").start()
    box.sip_port, box.base, box.folder = base, base, tmp_path
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
    box.wait_for(r"call: \S+ answered by 101")
    box.wait_for(r"CallEnded\(call_id='\S+', reason='completed'")
