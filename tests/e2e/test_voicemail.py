"""Issue 16 (items 3-5) end to end: the recording notice, voicemail and greetings, with SIPp
as the provider and the desk phones, the real box, the panel's HTTP API and chromium.

- A greeting uploaded through the panel is converted by ffmpeg; a file that is not audio,
  or too long, is refused and the old greeting stays.
- Nobody answers: the box answers, the caller's socket receives the greeting (a 440 Hz tone
  we uploaded), SIPp then speaks (play_pcap_audio of a 1 kHz tone pcap generated here) and
  hangs up; the message shows on /api/callbacks and /api/calls and its WAV holds the tone,
  its length right. Range requests get 206; staff hear only their campaigns' messages; the
  owner deletes it (204, the file is gone).
- A campaign with `record = true` and `[recording] announce = true`: the caller hears the
  notice before the phone rings.
"""

from __future__ import annotations

import base64
import io
import json
import math
import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
import wave
from pathlib import Path

import pytest

from firmware.webui.users import UserStore
from tests import peers
from tests.e2e.panel_api import calls, wait_call
from tests.e2e.rig import (
    BoxProcess, box_config, finish, free_port_block, scenario, sipp, sipp_background)

SHOP, RADIO = "+48221234567", "+48221234569"
CALLER = "+48600111222"
OWNER, OWNER_PW = "owner", "owner-password-1"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TONE_SECONDS = 2.0


# -- audio helpers -------------------------------------------------------------------------
def sine(frequency: float, seconds: float, rate: int = 8000, amplitude: int = 8000) -> list[int]:
    return [int(amplitude * math.sin(2 * math.pi * frequency * i / rate))
            for i in range(int(seconds * rate))]


def wav_bytes(samples: list[int], rate: int = 8000, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        frames = [s for s in samples for _ in range(channels)]
        wav.writeframes(struct.pack(f"<{len(frames)}h", *frames))
    return out.getvalue()


def power(samples: list[int], frequency: float, rate: int = 8000) -> float:
    """Goertzel: the strength of one frequency in `samples`."""
    coeff = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for sample in samples:
        s1, s2 = sample + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def ulaw(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = min(max(magnitude.bit_length() - 8, 0), 7)
    return ~(sign | (exponent << 4) | ((magnitude >> (exponent + 3)) & 0x0F)) & 0xFF


def ulaw_decode(code: int) -> int:
    code = ~code & 0xFF
    magnitude = ((((code & 0x0F) << 3) + 0x84) << ((code >> 4) & 0x07)) - 0x84
    return -magnitude if code & 0x80 else magnitude


def tone_pcap(path: Path, frequency: float, seconds: float) -> None:
    """A pcap of PCMU RTP packets (Ethernet/IPv4/UDP), 20 ms apart: what SIPp replays."""
    samples = sine(frequency, seconds)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for n in range(len(samples) // 160):
        payload = bytes(ulaw(s) for s in samples[n * 160:(n + 1) * 160])
        rtp = struct.pack("!BBHII", 0x80, 0, n + 1, n * 160, 0x5EED) + payload
        udp = struct.pack("!HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n, 0, 64, 17, 0,
                             bytes([127, 0, 0, 2]), bytes([127, 0, 0, 1]))
        total = sum(struct.unpack("!10H", header))
        total = (total & 0xFFFF) + (total >> 16)
        header = header[:10] + struct.pack("!H", ~total & 0xFFFF) + header[12:]
        frame = b"\x00" * 12 + b"\x08\x00" + header + udp
        at = n * 0.02
        out.append(struct.pack("<IIII", int(at), int((at % 1) * 1e6), len(frame), len(frame)))
        out.append(frame)
    path.write_bytes(b"".join(out))


class RtpSink:
    """A caller's RTP socket: keeps (arrival time, payload) of every packet."""

    def __init__(self, ip: str, port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets: list[tuple[float, bytes]] = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                data, _ = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            self.packets.append((time.time(), data[12:]))

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()

    def samples(self) -> list[int]:
        return [ulaw_decode(b) for _, payload in self.packets for b in payload]


# -- the box -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vmbox(tmp_path_factory):
    peers.need("sipp")
    peers.need("ffmpeg")
    folder = tmp_path_factory.mktemp("vm")
    base = free_port_block(20)
    extra = f"""voicemail = true
voicemail_max_seconds = 20

[[campaign]]
name = "Radio"
number = "{RADIO}"
ring = ["103"]
record = true

[[trunk]]
name = "provider"
host = "127.0.0.2"
port = {base + 3}
register = false

[tracking]
ring_timeout_seconds = 5

[recording]
announce = true
"""
    config = folder / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, extra))
    users = UserStore(folder / "data")        # before the box starts: no CLI round trips
    users.set_password(OWNER, OWNER_PW, "owner")
    users.set_password("anna", "anna-password-1", "staff", extension="101")
    users.set_password("marek", "marek-password-1", "staff", extension="103")
    box = BoxProcess(config, folder / "data").start()
    box.sip_port, box.base, box.folder = base, base, folder
    box.url, box.web_port = f"http://127.0.0.1:{base + 1}", base + 1
    yield box
    box.stop()
    print(box.log()[-8000:])


def http(box, path: str, *, method: str = "GET", user: str = OWNER, password: str = OWNER_PW,
         data: bytes | None = None, headers: dict | None = None):
    """(status, headers, body) with HTTP Basic (no cookie: no CSRF token needed)."""
    request = urllib.request.Request(box.url + path, data=data, method=method)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def upload(box, path: str, name: str, content: bytes):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return http(box, path, method="POST", data=body,
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def register(box, extension: str, ip: str, port: int) -> None:
    result = sipp("register.xml", f"127.0.0.1:{box.sip_port}", local_ip=ip, local_port=port,
                  args=["-s", extension, "-au", extension, "-ap", f"secret-{extension}-pw"])
    assert result.returncode == 0, result.stdout[-1500:]


def greeting_file(box) -> Path:
    files = list((box.data_dir / "prompts").glob("greeting-shop-window-*.wav"))
    assert len(files) == 1, files
    return files[0]


# -- the tests (in order: the greeting is uploaded first) ----------------------------------
def test_a_greeting_upload_is_converted_and_a_bad_one_keeps_the_old(vmbox):
    box = vmbox
    stereo_44k = wav_bytes(sine(440, 1.0, rate=44100), rate=44100, channels=2)
    status, _, body = upload(box, "/api/greetings/1", "hello.wav", stereo_44k)
    assert status == 200 and json.loads(body) == {"seconds": 1.0}, body
    path = greeting_file(box)
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 8000, 2)
        assert abs(wav.getnframes() / 8000 - 1.0) < 0.1
    good = path.read_bytes()
    for name, junk in (("notes.mp3", b"this is not audio at all " * 200),
                       ("long.wav", wav_bytes([0] * 8000 * 130))):        # 130 s > 120 s
        status, _, body = upload(box, "/api/greetings/1", name, junk)
        assert status == 400 and json.loads(body)["field"] == "audio", body
        assert greeting_file(box).read_bytes() == good      # the old greeting stays
    assert "ffmpeg refused an upload" in box.log()


def test_nobody_answers_the_caller_hears_the_greeting_and_leaves_a_message(vmbox, tmp_path):
    box = vmbox
    register(box, "101", "127.0.0.11", box.base + 4)
    ringing = sipp_background("phone_ring_cancel.xml", f"127.0.0.1:{box.sip_port}",
                              local_ip="127.0.0.11", local_port=box.base + 4, cwd=box.folder,
                              args=["-s", "101", "-key", "rtp", "40100"])
    time.sleep(0.3)
    pcap = tmp_path / "tone.pcap"
    tone_pcap(pcap, 1000, TONE_SECONDS)
    script = scenario("trunk_voicemail.xml", tmp_path, PCAP=str(pcap), WAIT_MS="2000",
                      TALK_MS=str(int(TONE_SECONDS * 1000) + 400))
    sink = RtpSink("127.0.0.2")
    caller = subprocess.Popen(
        ["sipp", f"127.0.0.1:{box.sip_port}", "-sf", str(script), "-i", "127.0.0.2",
         "-p", str(box.base + 3), "-mp", str(box.base + 10), "-m", "1", "-timeout", "40s",
         "-timeout_error", "-nostdin", "-nd", "-trace_err", "-key", "dialled", SHOP,
         "-key", "caller", CALLER, "-key", "rtp", str(sink.port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    code, out = finish(caller, 60)
    sink.close()
    assert code == 0, out
    code, out = finish(ringing)
    assert code == 0, out
    # The greeting (our 440 Hz upload) reached the caller, the beep after it.
    heard = sink.samples()
    assert len(heard) >= 1.0 * 8000
    assert power(heard[:8000], 440) > 50 * power(heard[:8000], 1000)

    box.wait_for(r"voicemail: message \S+ from \+48600111222")
    status, _, body = http(box, "/api/callbacks")
    entry = next(c for c in json.loads(body)["callbacks"] if c["number"] == CALLER)
    assert entry["voicemail"] and entry["voicemail"].startswith("/api/voicemail/")
    status, _, body = http(box, "/api/calls?number=" + CALLER.replace("+", "%2B"))
    call = json.loads(body)["calls"][0]
    assert call["status"] == "missed" and call["missed_reason"] == "ring_timeout"
    assert call["voicemail"] == entry["voicemail"]
    assert 4.5 <= call["wait_seconds"] <= 6.5              # up to the box's answer, not the end

    status, headers, data = http(box, entry["voicemail"])
    assert status == 200 and headers["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 8000, 2)
        frames = wav.readframes(wav.getnframes())
    samples = list(struct.unpack(f"<{len(frames) // 2}h", frames))
    assert abs(len(samples) / 8000 - TONE_SECONDS) < 0.25, len(samples) / 8000
    assert power(samples, 1000) > 100 * power(samples, 440)
    status, headers, part = http(box, entry["voicemail"], headers={"Range": "bytes=0-99"})
    assert status == 206 and part == data[:100]
    assert headers["Content-Range"].startswith("bytes 0-99/")
    # staff: 101 rings for the campaign and may listen; 103 does not
    assert http(box, entry["voicemail"], user="anna", password="anna-password-1")[0] == 200
    assert http(box, entry["voicemail"], user="marek", password="marek-password-1")[0] == 404
    assert http(box, entry["voicemail"], method="DELETE", user="anna",
                password="anna-password-1")[0] == 403
    box.voicemail_url = entry["voicemail"]


def test_the_callback_list_plays_the_message_in_chromium(vmbox, browser):
    box = vmbox
    page = browser.new_page(viewport={"width": 1280, "height": 760})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(box.url + "/login")
    page.fill('input[name="user"]', OWNER)
    page.fill('input[name="password"]', OWNER_PW)
    page.click('button[type="submit"]')
    page.goto(box.url + "/callbacks")
    player = page.locator("audio.voicemail")
    assert player.count() == 1
    duration = page.evaluate("""() => new Promise((done) => {
        const audio = document.querySelector('audio.voicemail');
        audio.preload = 'metadata';
        audio.addEventListener('loadedmetadata', () => done(audio.duration));
        audio.addEventListener('error', () => done(-1));
        audio.load();
    })""")
    assert abs(duration - TONE_SECONDS) < 0.3
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "e2e-voicemail-callbacks.png"), full_page=True)
    page.goto(box.url + "/settings/greetings")
    page.screenshot(path=str(SHOTS / "e2e-voicemail-greetings.png"), full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e], errors
    page.close()


def test_star_97_plays_the_message_to_a_desk_phone(vmbox):
    box = vmbox
    sink = RtpSink("127.0.0.11", 40010)          # where phone_call_out.xml wants its audio
    phone = sipp_background("phone_call_out.xml", f"127.0.0.1:{box.sip_port}",
                            local_ip="127.0.0.11", local_port=box.base + 4, cwd=box.folder,
                            args=["-s", "101", "-au", "101", "-ap", "secret-101-pw",
                                  "-key", "dialled", "*97", "-d", "2500"])
    code, out = finish(phone)
    sink.close()
    assert code == 0, out
    heard = sink.samples()[int(0.8 * 8000):]      # after the beep: the caller's 1 kHz tone
    assert len(heard) >= 8000
    assert power(heard, 1000) > 50 * power(heard, 440)
    # listening to messages is no call of 101's: /api/calls keeps listing only the caller's
    deadline = time.monotonic() + 1.0       # the tracker records a call within milliseconds
    while time.monotonic() < deadline:
        assert {c["direction"] for c in calls(box, (OWNER, OWNER_PW))} == {"inbound"}
        time.sleep(0.1)


def test_the_owner_deletes_a_message_and_the_file_is_gone(vmbox):
    box = vmbox
    url = box.voicemail_url
    message_id = url.rsplit("/", 1)[1]
    assert (box.data_dir / "voicemail" / f"{message_id}.wav").is_file()
    assert http(box, url, method="DELETE")[0] == 204
    assert not (box.data_dir / "voicemail" / f"{message_id}.wav").exists()
    assert http(box, url)[0] == 404
    entry = next(c for c in json.loads(http(box, "/api/callbacks")[2])["callbacks"]
                 if c["number"] == CALLER)
    assert entry["voicemail"] is None


def test_the_recording_notice_is_heard_before_the_phone_rings(vmbox, tmp_path):
    box = vmbox
    register(box, "103", "127.0.0.13", box.base + 6)
    phone = sipp_background("phone_answer.xml", f"127.0.0.1:{box.sip_port}",
                            local_ip="127.0.0.13", local_port=box.base + 6, cwd=tmp_path,
                            args=["-s", "103", "-key", "rtp", "40200", "-d", "500"])
    time.sleep(0.3)
    sink = RtpSink("127.0.0.2")
    trunk = sipp_background("trunk_call.xml", f"127.0.0.1:{box.sip_port}",
                            local_ip="127.0.0.2", local_port=box.base + 3, cwd=tmp_path,
                            args=["-key", "dialled", RADIO, "-key", "caller", "+48600999888",
                                  "-key", "rtp", str(sink.port), "-d", "500"])
    code, out = finish(trunk)
    sink.close()
    assert code == 0, out
    code, out = finish(phone)
    assert code == 0, out
    # phone_answer.xml writes phone.port as the INVITE reaches the phone: when 103 rang
    rang_at = (tmp_path / "phone.port").stat().st_mtime
    before = [at for at, _ in sink.packets if at <= rang_at + 0.05]
    assert len(before) >= 25, (len(before), len(sink.packets))   # >= 0.5 s of notice
    wait_call(box, auth=(OWNER, OWNER_PW), direction="inbound", callee=RADIO,
              caller="+48600999888", status="answered", answered_by="103")
