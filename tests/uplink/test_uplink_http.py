"""The uplink against plain HTTP receivers: a slow central never slows the tracker, and a
private certificate is trusted through `ca_file` (and only then)."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from firmware.config import CentralLink
from firmware.tracker.service import Tracker
from firmware.uplink.outbox import Outbox
from firmware.uplink.sender import Uplink
from tests.tracker import tracker_events as te

TOKEN = "krakow-token-0123456789"


class Receiver(ThreadingHTTPServer):
    """Takes every batch after `delay` seconds and answers as /api/ingest does."""

    daemon_threads = True

    def __init__(self, delay: float = 0.0, context: ssl.SSLContext | None = None):
        self.delay, self.batches = delay, []
        super().__init__(("127.0.0.1", 0), _Handler)
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def seqs(self) -> list[int]:
        return [e["seq"] for batch in self.batches for e in batch["entries"]]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(self.server.delay)
        assert self.headers["Authorization"] == f"Bearer {TOKEN}"
        self.server.batches.append(body)
        answer = json.dumps({"accepted": len(body["entries"]), "refused": [],
                             "upto": max(e["seq"] for e in body["entries"])}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def box(tmp_path, mock_pins):
    made = []

    def make(url: str, ca_file: str = ""):
        tracker = Tracker(te.config(), tmp_path / "data", pin_factory=mock_pins)
        tracker.start()
        uplink = Uplink(CentralLink(url, "Kraków", TOKEN, ca_file), "Europe/Warsaw",
                        Outbox(tmp_path / "outbox").open(), max_backoff=0.3)
        tracker.published.listen(uplink.listen)
        uplink.start()
        made.append((tracker, uplink))
        return tracker, uplink

    yield make
    for tracker, uplink in made:
        tracker.stop()
        uplink.stop()


def wait_until(condition, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_slow_central_never_slows_the_tracker(box):
    receiver = Receiver(delay=2.0)
    try:
        tracker, uplink = box(f"http://127.0.0.1:{receiver.server_port}")
        began = time.monotonic()
        for n in range(5):
            te.feed(tracker, te.inbound(te.at(2024, 5, 6, 9 + n)))
        assert time.monotonic() - began < 1.5          # five calls, each durable, no waiting
        assert len(tracker.calls(te_all())) == 5
        wait_until(lambda: uplink.outbox.pending() == 0)
        calls = [e["record"]["id"] for b in receiver.batches for e in b["entries"]
                 if e["kind"] == "call"]
        assert sorted(calls) == sorted(c["id"] for c in tracker.calls(te_all()))
    finally:
        uplink.stop()
        receiver.shutdown()


def te_all():
    from firmware.tracker.query import CallFilter

    return CallFilter()


def test_a_private_certificate_is_trusted_through_ca_file(box, tmp_path):
    cert, key = tmp_path / "hq.pem", tmp_path / "hq.key"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj",
                           "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip("openssl cannot make a test certificate")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver = Receiver(context=context)
    url = f"https://localhost:{receiver.server_port}"
    try:
        tracker, uplink = box(url)                        # the system's CAs only: refused
        te.feed(tracker, te.inbound(te.at(2024, 5, 6, 9)))
        wait_until(lambda: "CERTIFICATE_VERIFY_FAILED" in uplink.state)
        assert receiver.batches == [] and uplink.outbox.pending() > 0
        uplink.stop()
        tracker.stop()
        tracker, uplink = box(url, str(cert))             # the same outbox, now trusting it
        wait_until(lambda: uplink.outbox.pending() == 0)
        assert [e["kind"] for b in receiver.batches for e in b["entries"]][0] == "call"
    finally:
        receiver.shutdown()
