"""Benchmark of the flood defence: do phones still register while one address floods the box?

Runs the real box (`python -m firmware run`, a subprocess) and two SIPp clients on loopback:
a flooder (127.0.0.77) sending OPTIONS at RATE per second for SECONDS, and a desk phone
(127.0.0.11) registering with digest auth 5 times a second during the same window. For each
scenario it prints the share of the phone's REGISTERs that succeeded and the box's CPU
during the flood (utime + stime from /proc/<pid>/stat, as % of one core):

- no flood        the phone alone (the baseline);
- flood, defence  the default [security] table: the flooder is banned after 31 messages and
                  the rest is dropped by one dict lookup before parsing;
- flood, off      flood_requests = 0: every flood message is parsed and answered.

    python benchmarks/bench_flood.py [--rate 2000] [--seconds 5]

Needs sipp (Debian: sip-tester). The default run takes about 30 s.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.table import format_table
from tests.e2e.rig import free_port_block

logger = logging.getLogger("bench_flood")

ROOT = Path(__file__).resolve().parent.parent
SIPP_DIR = ROOT / "tests" / "sipp"
FLOODER, PHONE = "127.0.0.77", "127.0.0.11"
REGISTERS_PER_SECOND = 5
CONFIG = """
[box]
timezone = "Europe/Warsaw"
country = "PL"
[sip]
listen = "127.0.0.1:{sip}"
rtp_ports = "{rtp}-{rtp_high}"
[web]
listen = "127.0.0.1:{web}"
[[extension]]
number = "101"
password = "bench-101-pw"
{security}
"""
SCENARIOS = [("no flood", False, ""),
             ("flood, defence", True, ""),
             ("flood, off", True, "[security]\nflood_requests = 0\n")]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat (fields 14 and 15)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sipp(scenario: str, port: int, ip: str, local_port: int, calls: int, rate: float,
          cwd: Path, args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        ["sipp", f"127.0.0.1:{port}", "-sf", str(SIPP_DIR / scenario), "-i", ip,
         "-p", str(local_port), "-m", str(calls), "-r", str(rate), "-timeout",
         f"{int(calls / rate) + 15}s", "-nostdin", "-nd", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd)


def _counts(output: str) -> tuple[int, int]:
    def cumulative(name: str) -> int:
        found = re.findall(rf"{name}\s*\|\s*\d+\s*\|\s*(\d+)", output)
        return int(found[-1]) if found else 0
    return cumulative("Successful call"), cumulative("Failed call")


class _Box:
    """The box in a subprocess; `ready()` waits for its "callbox: ready" line."""

    def __init__(self, folder: Path, port: int, security: str) -> None:
        config = folder / "callbox.toml"
        config.write_text(CONFIG.format(sip=port, web=port + 1, rtp=port + 10,
                                        rtp_high=port + 50, security=security))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "firmware", "run", "--config", str(config), "--data",
             str(folder / "data")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"), cwd=ROOT)
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if "callbox: ready" in line:
                self._ready.set()

    def ready(self, timeout: float = 15.0) -> None:
        if not self._ready.wait(timeout):
            raise RuntimeError("the box did not start:\n" + "\n".join(self.lines[-20:]))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def measure(name: str, flood: bool, security: str, rate: int, seconds: float,
            port: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_flood.") as tmp:
        folder = Path(tmp)
        box = _Box(folder, port, security)
        try:
            box.ready()
            registers = int(REGISTERS_PER_SECOND * seconds)
            flooder = None
            cpu0, wall0 = _cpu_seconds(box.proc.pid), time.monotonic()
            if flood:
                flooder = _sipp("options_flood.xml", port, FLOODER, port + 60,
                                int(rate * seconds), rate, folder, ["-s", "101"])
            phone = _sipp("register.xml", port, PHONE, port + 62, registers,
                          REGISTERS_PER_SECOND, folder,
                          ["-s", "101", "-au", "101", "-ap", "bench-101-pw"])
            sent, phone_out = 0, None
            if flooder is not None:   # the window is the flood's; else the phone's
                sent = _counts(flooder.communicate(timeout=seconds + 30)[0])[0]
            else:
                phone_out = phone.communicate(timeout=seconds + 30)[0]
            cpu1, wall1 = _cpu_seconds(box.proc.pid), time.monotonic()
            if phone_out is None:
                phone_out = phone.communicate(timeout=seconds + 30)[0]
            ok, _ = _counts(phone_out)
        finally:
            box.stop()
    busy = cpu1 - cpu0
    figures = {"scenario": name, "flood_rate": rate if flood else 0, "seconds": seconds,
               "flood_sent": sent, "registers": f"{ok}/{registers}",
               "success_pct": round(100.0 * ok / registers, 1) if registers else 0.0,
               "box_cpu_pct": round(100.0 * busy / (wall1 - wall0), 1),
               "us_per_flood_msg": round(1e6 * busy / sent, 1) if sent else "-",
               "banned": any("banned 127.0.0.77" in line for line in box.lines)}
    return {**figures, **_table_row(figures)}


def _table_row(f: dict) -> dict:
    """The same figures as a `make bench` row (benchmarks/__main__.py: what/measured/...)."""
    what = (f"REGISTERs during a {f['flood_rate']:,}/s OPTIONS flood ({f['scenario']})"
            if f["flood_rate"] else "REGISTERs with no flood (baseline)")
    passed = f["success_pct"] >= 99.0
    note = f"{'ok' if passed else 'MISSES TARGET'}; {f['registers']} REGISTERs"
    if f["flood_rate"]:
        note += (f"; {f['flood_sent']:,} flood msgs in {f['seconds']:g} s, "
                 f"{f['us_per_flood_msg']} us box CPU per flood msg, flooder "
                 f"{'banned' if f['banned'] else 'not banned'}")
    return {"what": what, "measured": f"{f['success_pct']}% ok, box CPU "
                                      f"{f['box_cpu_pct']}% of a core",
            "target": ">= 99% ok", "note": note}


def run(rate: int = 2000, seconds: float = 5) -> list[dict]:
    """One dict per scenario (see the module docstring): its figures, and the same as a
    `make bench` row (what, measured, target, note)."""
    return [measure(name, flood, security, rate, seconds, free_port_block(70))
            for name, flood, security in SCENARIOS]


COLUMNS = [("scenario", "scenario"), ("flood_rate", "flood msg/s"), ("seconds", "s"),
           ("flood_sent", "flood sent"), ("registers", "REGISTERs ok"),
           ("success_pct", "success %"), ("box_cpu_pct", "box CPU %"),
           ("us_per_flood_msg", "CPU us/flood msg"), ("banned", "flooder banned")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    began = time.perf_counter()
    rows = run(args.rate, args.seconds)
    logger.info("%s", format_table(rows, COLUMNS))
    logger.info("target: >= 99%% of REGISTERs succeed during the flood; whole run %.1f s",
                time.perf_counter() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
