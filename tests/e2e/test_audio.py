"""Issue 4 end to end, a real audio path: a real softphone (baresip) is the trunk and calls the
campaign number; desk phone 101 (SIPp) answers, with a Python socket as its RTP endpoint.

Both directions carry a known pseudo-random G.711 u-law byte pattern:

- trunk -> phone: baresip plays a WAV whose samples are the u-law decoding of the pattern, so
  its PCMU encoder sends exactly the pattern's bytes; the phone's socket must receive them, in
  order, packet for packet.
- phone -> trunk: the socket sends another pattern as RTP; baresip's `sndfile` filter dumps
  what it decodes, which must be the decoding of those bytes, frame for frame. u-law decoding
  is one-to-one once the two zero codes (0x7F, 0xFF, decoded differently by different tables)
  are left out of the patterns, so equal samples mean equal payload bytes.
"""

from __future__ import annotations

import random
import socket
import struct
import subprocess
import threading
import time
import wave
from pathlib import Path

from tests import peers
from tests.e2e.panel_api import make_owner, wait_call
from tests.e2e.rig import BoxProcess, box_config, finish, free_port_block, sipp, sipp_background

CAMPAIGN = "+48221234567"
FRAME = 160                    # 20 ms of 8 kHz audio: one PCMU packet
TRUNK_FRAMES = 100             # baresip hangs up when its 2 s file ends
PHONE_FRAMES = 60              # 1.2 s from the desk phone, sent while the call is up

pytestmark = [
    peers.needs(peers.which("sipp") is not None, "sipp is not installed"),
    peers.needs(peers.which("baresip") is not None, "baresip is not installed"),
    peers.needs(Path("/usr/lib/baresip/modules/sndfile.so").exists(),
                "baresip's sndfile module is not installed"),
]


def ulaw_decode(code: int) -> int:
    """One G.711 u-law byte as a 16-bit linear sample (ITU-T G.711, as Sun's g711.c)."""
    code = ~code & 0xFF
    magnitude = ((((code & 0x0F) << 3) + 0x84) << ((code >> 4) & 0x07)) - 0x84
    return -magnitude if code & 0x80 else magnitude


def pattern(rng: random.Random, frames: int) -> bytes:
    """Pseudo-random u-law bytes, every code but the two zeros."""
    codes = [c for c in range(256) if c not in (0x7F, 0xFF)]
    return bytes(rng.choice(codes) for _ in range(frames * FRAME))


def pcm(codes: bytes) -> bytes:
    """The u-law bytes decoded: 16-bit little-endian samples, as in a WAV file."""
    return struct.pack(f"<{len(codes)}h", *map(ulaw_decode, codes))


def frames_of(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data) - size + 1, size)]


def rtp_payload(packet: bytes) -> tuple[int, int, bytes]:
    """(payload type, sequence number, payload) of an RTP packet (CSRCs, extension skipped)."""
    first, second, seq = struct.unpack("!BBH", packet[:4])
    start = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        start += 4 + 4 * struct.unpack("!H", packet[start + 2:start + 4])[0]
    return second & 0x7F, seq, packet[start:]


def start_trunk_softphone(folder: Path, box_port: int, trunk_port: int, source: Path):
    """baresip as the provider: on 127.0.0.2 at the trunk's port, no registration, dialling
    the campaign number at once; it hangs up when `source` ends."""
    folder.mkdir()
    (folder / "accounts").write_text(
        f"<sip:+48600111222@127.0.0.2:{trunk_port};transport=udp>;regint=0\n")
    (folder / "config").write_text(f"""
poll_method epoll
sip_listen 127.0.0.2:{trunk_port}
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module sndfile.so
module_app account.so
module_app menu.so
audio_source aufile,{source}
audio_alert aufile,/dev/null
snd_path {folder}
rtp_ports {trunk_port + 50}-{trunk_port + 90}
net_interface 127.0.0.2
""")
    proc = subprocess.Popen(["baresip", "-f", str(folder), "-e",
                             f"/dial sip:{CAMPAIGN}@127.0.0.1:{box_port}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    proc.lines = []
    threading.Thread(target=lambda: proc.lines.extend(line.rstrip() for line in proc.stdout),
                     daemon=True).start()
    return proc


def test_audio_bytes_cross_the_box_both_ways_between_baresip_and_a_desk_phone(tmp_path):
    base = free_port_block()
    trunk = (f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n'
             'register = false\n')
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, trunk))
    rng = random.Random(4)
    to_phone, to_trunk = pattern(rng, TRUNK_FRAMES), pattern(rng, PHONE_FRAMES)
    source = tmp_path / "trunk-source.wav"
    with wave.open(str(source), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(pcm(to_phone))

    make_owner(tmp_path / "data")
    box = BoxProcess(config, tmp_path / "data").start()
    box.web_port = base + 1
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.11", 0))
    rtp.setblocking(False)
    phone = softphone = None
    try:
        registered = sipp("register.xml", f"127.0.0.1:{base}", local_ip="127.0.0.11",
                          local_port=base + 4, trace_dir=tmp_path,
                          args=["-s", "101", "-au", "101", "-ap", "secret-101-pw"])
        assert registered.returncode == 0, registered.stdout[-1500:]
        phone = sipp_background("phone_answer.xml", f"127.0.0.1:{base}", local_ip="127.0.0.11",
                                local_port=base + 4, cwd=tmp_path, timeout=20,
                                args=["-s", "101", "-d", "200",
                                      "-key", "rtp", str(rtp.getsockname()[1])])
        time.sleep(0.3)
        softphone = start_trunk_softphone(tmp_path / "baresip", base, base + 3, source)

        received: list[tuple[int, int, bytes, tuple]] = []
        sent, next_send, box_port = 0, None, None
        deadline = time.monotonic() + 15
        while phone.poll() is None and time.monotonic() < deadline:   # until baresip's BYE
            try:
                packet, sender = rtp.recvfrom(2048)
                received.append((*rtp_payload(packet), sender))
                if next_send is None:        # the call is up: the phone talks back
                    box_port = int((tmp_path / "phone.port").read_text())
                    next_send = time.monotonic()
            except BlockingIOError:
                time.sleep(0.002)
            if next_send is not None and sent < PHONE_FRAMES and time.monotonic() >= next_send:
                header = struct.pack("!BBHII", 0x80, 0x80 if sent == 0 else 0, sent,
                                     sent * FRAME, 0x5EED)
                rtp.sendto(header + to_trunk[sent * FRAME:(sent + 1) * FRAME],
                           ("127.0.0.1", box_port))
                sent += 1
                next_send += 0.02
        code, out = finish(phone, 5)
        assert code == 0, out + "\n".join(softphone.lines[-30:])
        assert sent == PHONE_FRAMES, f"the call ended after {sent} packets from the phone"
        call = wait_call(box, direction="inbound", callee=CAMPAIGN, status="answered",
                         answered_by="101")
    finally:
        for proc in (softphone, phone):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(5)
        rtp.close()
        box.stop()
        print(box.log()[-4000:])                # shown by pytest when the test failed
        if softphone is not None:
            print("\n".join(softphone.lines[-40:]))

    # trunk -> phone: the pattern's bytes, packet for packet, from the box's port for the phone
    assert {sender for _, _, _, sender in received} == {("127.0.0.1", box_port)}
    assert {pt for pt, _, _, _ in received} == {0}           # PCMU
    payloads = [payload for _, _, payload, _ in sorted(received, key=lambda r: r[1])]
    while payloads and payloads[-1] == b"\xff" * FRAME:     # silence once the file has ended
        payloads.pop()
    expected = frames_of(to_phone, FRAME)
    assert len(payloads) >= TRUNK_FRAMES - 10, len(payloads)
    assert payloads[0] in expected, "the first packet is not from the trunk's audio"
    first = expected.index(payloads[0])
    assert payloads == expected[first:first + len(payloads)]

    # phone -> trunk: what baresip decoded is the phone's bytes, frame for frame, from the start
    dumps = list((tmp_path / "baresip").glob("dump-*-dec.wav"))
    assert len(dumps) == 1, dumps
    with wave.open(str(dumps[0])) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        decoded = wav.readframes(wav.getnframes())
    heard = frames_of(decoded, 2 * FRAME)
    # baresip decodes a packet as the next one arrives past its jitter buffer (up to 10 deep)
    assert len(heard) >= PHONE_FRAMES - 10, len(heard)
    assert heard == frames_of(pcm(to_trunk), 2 * FRAME)[:len(heard)]
    assert call["talk_seconds"] > 0
