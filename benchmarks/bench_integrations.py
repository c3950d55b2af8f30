"""Benchmark of the integrations: webhook deliveries per second to a receiver on loopback,
and what a configured webhook adds to the cost of recording a call.

Deliveries: DELIVERIES calls queued in the outbox, then delivered by the sender's own step
(`Integrations.run_once`) to a ThreadingHTTPServer on 127.0.0.1 that answers 204; each
delivery is a signed POST plus one outbox line fdatasync'ed.
Cost per call: CALLS calls recorded through the real tracker (submit + flush), once without
integrations and once with a webhook listening; CPU time of this process and wall time per
call. The webhook's work runs on the tracker's writer thread (one outbox append + fdatasync),
never on the call path (the PBX only queues events).

    python -m benchmarks integrations
    python benchmarks/bench_integrations.py
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

if __package__ in (None, ""):               # run as a script: make `firmware` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware.config import parse_config                   # noqa: E402
from firmware.integrations.service import Integrations     # noqa: E402
from firmware.pbx import events as ev                      # noqa: E402
from firmware.tracker.service import Tracker               # noqa: E402

DELIVERIES = 300
CALLS = 300
CAMPAIGN = "+48221234567"
CONFIG = f"""
[box]
name = "Bench"
timezone = "Europe/Warsaw"
[[extension]]
number = "101"
password = "bench-101-pw"
[[campaign]]
name = "Shop window"
number = "{CAMPAIGN}"
source = "Outdoor"
lead_value = 300
ring = ["101"]
"""


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def _config(url: str | None):
    hook = f'[[webhook]]\nurl = "{url}"\nsecret = "bench-secret-0123456789"\n' if url else ""
    return parse_config(CONFIG + hook, "<bench>")


def _calls(start: float):
    for n in range(CALLS):
        at = start + n * 120
        call_id = f"b{n}"
        yield ev.CallOffered(call_id, CAMPAIGN, f"+4860{n:07d}", at, "provider")
        yield ev.CallRinging(call_id, "101", at + 0.5)
        yield ev.CallAnswered(call_id, "101", at + 4)
        yield ev.CallEnded(call_id, ev.COMPLETED, at + 64)


def record_cost(url: str | None) -> tuple[float, float]:
    """(CPU ms, wall ms) per recorded call, with a webhook listening when `url` is given."""
    with tempfile.TemporaryDirectory() as folder:
        config = _config(url)
        tracker = Tracker(config, Path(folder))
        service = None
        if url:
            service = Integrations(config, Path(folder))
            service.open()
            tracker.subscribe(service.listen)
        tracker.start()
        cpu, wall = time.process_time(), time.perf_counter()
        for event in _calls(1_700_000_000.0):
            tracker.submit(event)
        tracker.flush(timeout=120)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        tracker.stop()
        if service is not None:
            service.stop()
    return 1000 * cpu / CALLS, 1000 * wall / CALLS


def deliveries_per_second(url: str) -> float:
    with tempfile.TemporaryDirectory() as folder:
        service = Integrations(_config(url), Path(folder))
        service.open()
        for n in range(DELIVERIES):
            service.listen("call.ended", {"id": f"c{n}", "direction": "inbound"})
        start = time.perf_counter()
        sent = service.run_once(time.time())
        seconds = time.perf_counter() - start
        service.stop()
    assert sent == DELIVERIES, sent
    return DELIVERIES / seconds


def run() -> list[dict]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        rate = deliveries_per_second(url)
        plain_cpu, plain_wall = record_cost(None)
        hook_cpu, hook_wall = record_cost(url)
    finally:
        server.shutdown()
        server.server_close()
    return [
        {"what": "webhook deliveries per second (loopback receiver)", "measured":
         f"{rate:.0f}/s", "target": ">= 20/s",
         "note": f"{'ok' if rate >= 20 else 'MISSES TARGET'}; {DELIVERIES} signed POSTs, "
                 "each with one outbox line fdatasync'ed"},
        {"what": "recording a call, no integrations", "measured":
         f"{plain_cpu:.2f} ms CPU, {plain_wall:.2f} ms wall", "target": "",
         "note": f"{CALLS} calls through the tracker (submit + flush)"},
        {"what": "recording a call, a webhook configured", "measured":
         f"{hook_cpu:.2f} ms CPU, {hook_wall:.2f} ms wall", "target":
         "the call path pays nothing", "note":
         f"+{hook_cpu - plain_cpu:.2f} ms CPU on the tracker's writer thread (one outbox "
         "line + fdatasync); the PBX only queues the event"},
    ]


if __name__ == "__main__":
    for result in run():
        print(f"{result['what']}: {result['measured']} ({result['note']})")
