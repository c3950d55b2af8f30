"""The call load both call benchmarks place: SIPp as the trunk calling, SIPp as desk phone 101.

bench_calls drives it through the box and kamailio_ref through Kamailio, so the two figures
whose ratio `make bench` prints come from exactly the same calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from benchmarks.bench_register import sipp_stats
from tests.e2e.rig import finish, sipp_background

TRUNK_IP = "127.0.0.2"
PHONE_IP = "127.0.0.11"
CAMPAIGN = "+48221234567"


@dataclass
class CallLoad:
    """What one load run left: SIPp exits and statistics, the peer's CPU and the wall time."""
    trunk_code: int
    trunk_out: str
    phone_code: int
    phone_out: str
    stats: dict
    phone_stats: dict
    cpu: float
    wall: float
    trunk_dir: Path
    phone_dir: Path


def place_calls(target: str, folder: Path, *, trunk_port: int, phone_port: int,
                cpu_seconds: Callable[[], float], calls: int, rate: int, limit: int,
                talk_ms: int, timeout: float) -> CallLoad:
    """`calls` calls from the trunk to phone 101 at `target`; `cpu_seconds` reads the peer's CPU."""
    phone_dir = folder / "phone"
    trunk_dir = folder / "trunk"
    phone_dir.mkdir()
    trunk_dir.mkdir()
    phone = sipp_background("bench_phone_answer.xml", target, local_ip=PHONE_IP,
                            local_port=phone_port, calls=calls, timeout=timeout,
                            cwd=phone_dir, args=["-s", "101", "-trace_stat", "-stf",
                                                 "stats.csv", "-fd", "1"])
    time.sleep(0.5)   # the UAS is bound and listening
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    trunk = sipp_background(
        "bench_trunk_call.xml", target, local_ip=TRUNK_IP, local_port=trunk_port,
        calls=calls, timeout=timeout, cwd=trunk_dir,
        args=["-r", str(rate), "-l", str(limit), "-d", str(talk_ms),
              "-key", "dialled", CAMPAIGN, "-key", "caller", "+48600111222",
              "-trace_stat", "-stf", "stats.csv", "-fd", "1"])
    trunk_code, trunk_out = finish(trunk, timeout + 10)
    cpu1, wall1 = cpu_seconds(), time.perf_counter()
    phone_code, phone_out = finish(phone, 5)   # killed if it still waits for calls
    return CallLoad(trunk_code, trunk_out, phone_code, phone_out,
                    sipp_stats(trunk_dir / "stats.csv"), sipp_stats(phone_dir / "stats.csv"),
                    cpu1 - cpu0, wall1 - wall0, trunk_dir, phone_dir)
