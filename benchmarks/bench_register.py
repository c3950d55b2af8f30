"""Benchmark of the registrar: digest REGISTERs per core-second of the box.

The real box (`callbox run`, as tests/e2e/rig.py starts it) with 100 extensions 200-299;
SIPp (tests/sipp/register_bench.xml) registers them in turn, each one REGISTER, 401,
REGISTER with credentials, 200, at a bounded rate and count. The box's CPU (user + system of
all its threads, from /proc/<pid>/stat) is read before and after; the figure is

    registrations per core-second = successful registrations / box CPU seconds

Everything on loopback; SIPp runs in a temporary folder (it writes its logs into its cwd).
This module also holds the few helpers bench_calls.py shares (box CPU, SIPp statistics,
table rows).

    python -m benchmarks.bench_register [--count 3000] [--rate 1000]

Takes about 5 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.table import log_rows
from firmware.config import Config
from tests.e2e.rig import BoxProcess, finish, free_port_block, sipp_background

logger = logging.getLogger("bench_register")

WHAT = "digest REGISTERs"
TARGET = ">= 1,300 per core-second"
TARGET_PER_CORE_SECOND = 1300
FIRST_USER = 200
BOX_IP = "127.0.0.1"
TICKS = os.sysconf("SC_CLK_TCK")


# -- helpers shared with bench_calls ------------------------------------------------------
def row(what: str, measured: str, target: str, note: str = "") -> dict:
    """One line of the `python -m benchmarks` table."""
    return {"what": what, "measured": measured, "target": target, "note": note}


def failed(what: str, target: str, reason: str) -> dict:
    return row(what, "failed", target, reason)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSES TARGET"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS    # utime, stime (fields 14, 15)


def sipp_stats(path: Path) -> dict[str, int]:
    """Cumulative counters from the last line of a SIPp -trace_stat file ({} if none)."""
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return {}
    if len(lines) < 2:
        return {}
    names, values = lines[0].split(";"), lines[-1].split(";")
    wanted = {"SuccessfulCall(C)": "successful", "FailedCall(C)": "failed",
              "OutgoingCall(C)": "outgoing", "IncomingCall(C)": "incoming"}
    stats = {}
    for name, value in zip(names, values):
        if name in wanted and value.strip().isdigit():
            stats[wanted[name]] = int(value)
    return stats


def sipp_errors(folder: Path, limit: int = 1500) -> str:
    """The start of SIPp's error logs in `folder` (what went wrong first)."""
    text = "".join(path.read_text(errors="replace") for path in sorted(folder.glob("*errors.log")))
    return text[:limit]


def first_sipp_error(folder: Path, limit: int = 200) -> str:
    """SIPp's first logged error event in `folder`, on one line (for a table note)."""
    text = sipp_errors(folder, 4000).replace("The following events occurred:", "", 1)
    text = re.sub(r"^\s*\d{4}-\d\d-\d\d\s+[\d:.]+\s+[\d.]+:\s*", "", text)
    event = re.split(r"\n?\d{4}-\d\d-\d\d\t", text, maxsplit=1)[0]
    return " ".join(event.split())[:limit] or "none logged"


def box_problems(box: BoxProcess, limit: int = 20) -> str:
    """The box's last warnings and errors (or its last lines, when there are none)."""
    lines = box.log().splitlines()
    bad = [line for line in lines if " WARNING " in line or " ERROR " in line
           or "Traceback" in line]
    return "\n".join((bad or lines)[-limit:])


def have_sipp() -> bool:
    return shutil.which("sipp") is not None


def security_section() -> str:
    """Config text that keeps the per-address flood ban (pbx/defence.py) out of a benchmark.

    A benchmark sends from one or two loopback addresses what an office of phones sends from
    many, far above [security] flood_requests. The limit is raised rather than the addresses
    trusted, so every message still pays for being counted. Empty while the config has no
    [security] table (a box without the defence)."""
    if "security" not in {f.name for f in dataclasses.fields(Config)}:
        return ""
    # the trunk's call budget too: a load test offers 100 calls a second from one trunk
    return ("\n[security]\nflood_requests = 100000\nflood_window_seconds = 1\n"
            "trunk_calls_per_minute = 100000\n")


# -- the benchmark --------------------------------------------------------------------------
def bench_config(sip_port: int, web_port: int, users: int) -> str:
    """A config with `users` extensions from 200 up, password bench-pass-NNN."""
    extensions = "".join(f'\n[[extension]]\nnumber = "{n}"\npassword = "bench-pass-{n}"\n'
                         for n in range(FIRST_USER, FIRST_USER + users))
    return f"""
[box]
name = "Bench box"
timezone = "Europe/Warsaw"
country = "PL"

[sip]
listen = "{BOX_IP}:{sip_port}"
rtp_ports = "{30000 + (sip_port % 100) * 200}-{30000 + (sip_port % 100) * 200 + 198}"

[web]
listen = "{BOX_IP}:{web_port}"
{extensions}{security_section()}"""


def users_file(path: Path, users: int) -> None:
    """SIPp injection file: user;password;[authentication ...] (see register_bench.xml)."""
    lines = ["SEQUENTIAL"]
    for n in range(FIRST_USER, FIRST_USER + users):
        lines.append(f"{n};bench-pass-{n};[authentication username={n} password=bench-pass-{n}]")
    path.write_text("\n".join(lines) + "\n")


def measure(count: int = 3000, rate: int = 1000, limit: int = 100, users: int = 100,
            timeout: float | None = None) -> dict:
    """One run; raises RuntimeError with the evidence when the box or SIPp fails."""
    if timeout is None:
        timeout = count / rate + 15
    with tempfile.TemporaryDirectory(prefix="callbox-bench-register-") as tmp:
        folder = Path(tmp)
        base = free_port_block()
        config = folder / "callbox.toml"
        config.write_text(bench_config(base, base + 1, users))
        users_file(folder / "users.csv", users)
        box = BoxProcess(config, folder / "data").start()
        try:
            assert box.proc is not None
            cpu0, wall0 = cpu_seconds(box.proc.pid), time.perf_counter()
            sipp = sipp_background(
                "register_bench.xml", f"{BOX_IP}:{base}", local_ip=BOX_IP, local_port=base + 2,
                calls=count, timeout=timeout,
                args=["-inf", str(folder / "users.csv"), "-r", str(rate), "-l", str(limit),
                      "-trace_stat", "-stf", "stats.csv", "-fd", "1"],
                cwd=folder)
            code, out = finish(sipp, timeout + 10)
            cpu1, wall1 = cpu_seconds(box.proc.pid), time.perf_counter()
            stats = sipp_stats(folder / "stats.csv")
            if not stats.get("successful"):
                raise RuntimeError(f"no registration succeeded (SIPp exit {code}); first SIPp "
                                   f"error: {first_sipp_error(folder)}\nSIPp errors:\n"
                                   f"{sipp_errors(folder)}\nSIPp output:\n{out[-800:]}\n"
                                   f"box log:\n{box_problems(box)}")
            if code != 0 or stats["successful"] < count:
                logger.warning("register: SIPp exit %d; errors:\n%s\nbox log:\n%s", code,
                               sipp_errors(folder), box_problems(box))
        finally:
            box.stop()
    return {"count": count, "rate": rate, "users": users, "successful": stats["successful"],
            "failed": stats.get("failed", 0), "cpu": cpu1 - cpu0, "wall": wall1 - wall0,
            "sipp_exit": code}


def run(count: int = 3000, rate: int = 1000) -> list[dict]:
    """Rows for the `python -m benchmarks` table."""
    if not have_sipp():
        return [failed(WHAT, TARGET, "skipped: sipp is not installed (make apt-test)")]
    try:
        r = measure(count, rate)
    except (RuntimeError, AssertionError, OSError) as exc:
        logger.warning("register: %s", exc)
        return [failed(WHAT, TARGET, str(exc).splitlines()[0])]
    per_core_second = r["successful"] / max(r["cpu"], 1e-9)
    lost = r["count"] - r["successful"]
    note = (f"{r['successful']:,}/{r['count']:,} registered, {r['users']} users at "
            f"{r['rate']:,}/s offered; box CPU {r['cpu']:.2f} s in {r['wall']:.1f} s")
    if lost:
        note = f"{lost} FAILED (details on stderr); " + note
    return [row(WHAT, f"{per_core_second:,.0f} per core-second", TARGET,
                f"{verdict(per_core_second >= TARGET_PER_CORE_SECOND and not lost)}; {note}")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000, help="registrations in all")
    parser.add_argument("--rate", type=int, default=1000, help="registrations started per s")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    log_rows(logger, run(args.count, args.rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
