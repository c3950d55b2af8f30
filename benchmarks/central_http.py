"""The central as an owner meets it: `callbox central` in its own process on the bench's
database, the pages and API calls an owner opens after the dashboard, timed over HTTP (best
of 3), and the process's memory (VmRSS, VmHWM from /proc) after them.

The memory target ("the central's memory does not grow with the rows") is checked by
comparing the central's RSS after these requests with its RSS right after start: every answer
is bounded (a year's summary reads rollups, lists have `limit`), so the difference should be
a few MB whatever the number of rows.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from argon2 import PasswordHasher

from firmware.central.db import Database
from firmware.central.users import CentralUserStore

USER, PASSWORD = "owner", "bench-password-0123"
YEAR = "from=2024-01-01&to=2024-12-31"
WEEK = "from=2024-12-23&to=2024-12-29"

# (what, path): what an owner opens, all sites and one site, through the JSON API (the pages
# call the same figures functions; they sign in with a session, the API takes Basic auth).
# The calls page reads page x 100 calls (pages.PAGE_SIZE): page 1 is limit=100, page 10
# limit=1000.
REQUESTS = [
    ("/api/summary, year, all sites", f"/api/summary?{YEAR}"),
    ("/api/summary, year, one site", f"/api/summary?{YEAR}&site=Site+1"),
    ("/api/calls, all sites, no filter (1,000 newest)", "/api/calls"),
    ("/api/calls, one site, no filter (1,000 newest)", "/api/calls?site=Site+1"),
    ("calls list page 1, all sites, a week", f"/api/calls?{WEEK}&limit=100"),
    ("calls list page 10, all sites, a week", f"/api/calls?{WEEK}&limit=1000"),
    ("calls list page 1, one site, a week", f"/api/calls?{WEEK}&limit=100&site=Site+1"),
    ("calls list page 1, all sites, one campaign, a year",
     f"/api/calls?{YEAR}&campaign=Radio&limit=100"),
    ("/api/callbacks, all sites", "/api/callbacks"),
    ("/api/campaigns (campaign report), year, all sites", f"/api/campaigns?{YEAR}"),
    ("/api/campaigns (campaign report), year, one site", f"/api/campaigns?{YEAR}&site=Site+1"),
    ("/api/sites", "/api/sites"),
]


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in kB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


class CentralProcess:
    """`python -m firmware central` on `dsn`, serving on `port`, stopped by `stop()`."""

    def __init__(self, dsn: str, port: int):
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="callbox-bench-central-"))
        config = self.folder / "central.toml"
        config.write_text(f'[central]\ndatabase = "{dsn}"\n[web]\nlisten = "127.0.0.1:{port}"\n'
                          '[box]\ntimezone = "Europe/Warsaw"\ncountry = "PL"\ncurrency = "PLN"\n'
                          '[[site]]\nname = "Site 1"\ntoken = "bench-token-0123456789"\n')
        db = Database(dsn)
        # a cheap hash: the password check is not what is measured
        CentralUserStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
                         ).set_password(USER, PASSWORD, "owner")
        db.close()
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen([sys.executable, "-m", "firmware", "central", "--config",
                                      str(config)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"))
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(120):
            self.stop()
            raise RuntimeError("callbox central did not start: " + "".join(self.lines[-5:]))

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            if "central: ready" in line:
                self._ready.set()

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read()

    def memory(self) -> dict[str, int]:
        return _memory(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)


def measure(dsn: str, port: int) -> dict:
    """{"requests": [(what, best seconds, bytes)], "rss_start", "rss_after", "hwm_start",
    "hwm"} (kB; hwm: the peak RSS so far)."""
    central = CentralProcess(dsn, port)
    try:
        central.get("/api/sites")                  # first request: imports, pools
        started = central.memory()
        timed = []
        for what, path in REQUESTS:
            best, size = float("inf"), 0
            for _ in range(3):
                began = time.perf_counter()
                size = len(central.get(path))
                best = min(best, time.perf_counter() - began)
            timed.append((what, best, size))
        after = central.memory()
    finally:
        central.stop()
    return {"requests": timed, "rss_start": started["VmRSS"], "rss_after": after["VmRSS"],
            "hwm_start": started["VmHWM"], "hwm": after["VmHWM"]}
