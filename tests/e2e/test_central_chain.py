"""Issue 20 end to end: two real boxes (`callbox run`) take calls through SIPp and report to a
real `callbox central` on a private PostgreSQL; the central's per-site figures equal each
box's own; the central stopped for a while and started again loses nothing and counts
nothing twice."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from tests.central.pg import PgCluster, PgUnavailable
from tests.e2e.rig import BoxProcess, box_config, free_port_block
from tests.e2e.test_calls import ok, phone, register
from tests.e2e.test_tracking import around_now, trunk

USER, PASSWORD = "owner", "owner-password-1"
TOKENS = {"Kraków": "krakow-token-0123456789", "Gdańsk": "gdansk-token-0123456789"}
FIGURES = ("answered", "missed", "to_call_back", "avg_wait_seconds", "target_calls",
           "first_time_callers", "top_campaigns", "top_sources", "calls_by_hour",
           "value_over_time", "caller_line_types", "calls", "value")


def get(port: int, path: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class Central(BoxProcess):
    """`callbox central` in a subprocess (BoxProcess's log handling)."""

    def start(self, wait_ready: bool = True) -> "Central":
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.lines = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "firmware", "central", "--config", str(self.config_path)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        import threading

        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        if wait_ready:
            self.wait_for("central: ready", 30)
        return self


@pytest.fixture
def chain(tmp_path, need):
    need("sipp")
    try:
        cluster = PgCluster(free_port_block(1))
    except PgUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    started = []
    try:
        central_port = free_port_block(1)
        sites = "".join(f'[[site]]\nname = "{n}"\ntoken = "{t}"\n' for n, t in TOKENS.items())
        central_toml = tmp_path / "central.toml"
        central_toml.write_text(
            f'[central]\ndatabase = "{cluster.dsn()}"\n[web]\nlisten = "127.0.0.1:'
            f'{central_port}"\n[box]\ntimezone = "Europe/Warsaw"\n' + sites)
        central = Central(central_toml, tmp_path).start()
        central.web_port = central_port
        started.append(central)
        subprocess.run([sys.executable, "-m", "firmware", "central", "passwd", USER,
                        "--config", str(central_toml)], input=f"{PASSWORD}\n", text=True,
                       check=True, capture_output=True)
        boxes = {}
        for site, token in TOKENS.items():
            base = free_port_block()
            folder = tmp_path / f"box{base}"
            folder.mkdir()
            extra = (f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n'
                     'username = "48221234567"\npassword = "trunk-secret"\nregister = false\n'
                     '[tracking]\nring_timeout_seconds = 6\n'
                     f'[central]\nurl = "http://127.0.0.1:{central_port}"\nsite = "{site}"\n'
                     f'token = "{token}"\n')
            config = folder / "callbox.toml"
            config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, extra))
            subprocess.run([sys.executable, "-m", "firmware", "passwd", USER, "--data",
                            str(folder / "data")], input=f"{PASSWORD}\n", text=True,
                           check=True, capture_output=True)
            box = BoxProcess(config, folder / "data").start()
            box.sip_port, box.base, box.folder, box.web_port = base, base, folder, base + 1
            started.append(box)
            boxes[site] = box
        yield central, boxes
    finally:
        for process in reversed(started):
            process.stop()
        cluster.destroy()


def calls_through(box, answered_from: str, missed_from: str) -> None:
    register(box, "101", "127.0.0.11", box.base + 4)
    answering = phone(box, "phone_answer.xml", "101", "127.0.0.11", box.base + 4, "-d", "300")
    time.sleep(0.3)
    ok(trunk(box, "trunk_call.xml", answered_from, "-d", "1200"))
    ok(answering)
    ringing = phone(box, "phone_ring_cancel.xml", "101", "127.0.0.11", box.base + 4)
    time.sleep(0.3)
    ok(trunk(box, "trunk_cancel.xml", missed_from, "-d", "800"))
    ok(ringing)


def same_figures(central, site: str, box, expect_calls: int, timeout: float = 30.0) -> None:
    """Within `timeout`, the central's figures for `site` equal the box's own."""
    span = around_now()
    quoted = urllib.parse.quote(site)
    deadline = time.monotonic() + timeout
    while True:
        mine = get(box.web_port, f"/api/summary?{span}")
        theirs = get(central.web_port, f"/api/summary?site={quoted}&{span}")
        sites = {s["name"]: s["calls"] for s in get(central.web_port, "/api/sites")["sites"]}
        # the campaigns too: the box reported its [[campaign]] set when it started
        box_campaigns = get(box.web_port, f"/api/campaigns?{span}")["campaigns"]
        central_campaigns = get(central.web_port,
                                f"/api/campaigns?site={quoted}&{span}")["campaigns"]
        if mine["calls"] == expect_calls and sites[site] == expect_calls and \
                all(mine[k] == theirs[k] for k in FIGURES) and \
                box_campaigns == central_campaigns:
            return
        assert time.monotonic() < deadline, (site, mine, theirs, sites, box_campaigns,
                                             central_campaigns)
        time.sleep(0.3)


def test_two_boxes_report_and_an_outage_of_the_central_loses_nothing(chain):
    central, boxes = chain
    calls_through(boxes["Kraków"], "+48600111222", "+48600333444")
    calls_through(boxes["Gdańsk"], "+48600555666", "+48600777888")
    same_figures(central, "Kraków", boxes["Kraków"], 2)
    same_figures(central, "Gdańsk", boxes["Gdańsk"], 2)
    everyone = get(central.web_port, f"/api/summary?{around_now()}")
    assert (everyone["answered"], everyone["missed"], everyone["to_call_back"]) == (2, 2, 2)

    central.stop()                                   # the central goes away for a while
    calls_through(boxes["Kraków"], "+48600999000", "+48600333444")
    boxes["Kraków"].wait_for(r"central http://127\.0\.0\.1:\d+: unreachable", 30)
    central.start()
    same_figures(central, "Kraków", boxes["Kraków"], 4, timeout=90)
    same_figures(central, "Gdańsk", boxes["Gdańsk"], 2)
    callbacks = get(central.web_port, "/api/callbacks?site=Krak%C3%B3w")["callbacks"]
    assert [(c["number"], c["missed_calls"]) for c in callbacks] == [("+48600333444", 2)]
