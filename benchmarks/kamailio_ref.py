"""The C reference of bench_calls: Kamailio (Debian) relaying the same calls, side by side.

The same SIPp trunk UAC (tests/sipp/bench_trunk_call.xml, 127.0.0.2) places the same number
of calls at the same rate through Kamailio to the same SIPp UAS phone
(tests/sipp/bench_phone_answer.xml, 127.0.0.11): INVITE with SDP, 180, 200, ACK, BYE, 200.
Kamailio runs benchmarks/kamailio_bench.cfg: a stateful relay (tm t_relay, record_route,
loose_route for in-dialog requests, the phone fixed by rule, no registrar, no media). Its
figure is

    calls per core-second = calls the trunk completed / CPU seconds of Kamailio's main
                            process and all its children (utime + stime from /proc)

so that the box's figure, measured in the same run on the same machine, can be read as a
ratio (a CPU-second of a shared VM buys different work on different days; the ratio does
not move with it). Kamailio is started and stopped by PID on a loopback port block from
tests/e2e/rig.free_port_block, with -DD (no daemon, children forked) and -E (log to stderr).

    python -m benchmarks.kamailio_ref [--calls 1000] [--rate 100]
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_register import TICKS, first_sipp_error, sipp_errors
from benchmarks.sipp_calls import PHONE_IP, place_calls
from tests.e2e.rig import free_port_block

logger = logging.getLogger("bench_calls")

CONFIG_TEMPLATE = Path(__file__).with_name("kamailio_bench.cfg")
LISTEN_IP = "127.0.0.1"
CHILDREN = 1          # one UDP worker: plenty for 100 calls/s, and the fewest idle processes


def kamailio_binary() -> str | None:
    """Debian puts kamailio in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("kamailio") or next(
        (path for path in ("/usr/sbin/kamailio", "/usr/local/sbin/kamailio")
         if os.access(path, os.X_OK)), None)


def kamailio_config(listen_port: int, phone_port: int, *, listen_ip: str = LISTEN_IP,
                    phone_ip: str = PHONE_IP, children: int = CHILDREN) -> str:
    """benchmarks/kamailio_bench.cfg with its @@NAME@@ placeholders filled in."""
    text = CONFIG_TEMPLATE.read_text()
    for name, value in (("LISTEN_IP", listen_ip), ("LISTEN_PORT", listen_port),
                        ("PHONE", f"{phone_ip}:{phone_port}"), ("CHILDREN", children)):
        text = text.replace(f"@@{name}@@", str(value))
    if "@@" in text:
        raise ValueError("kamailio_bench.cfg has a placeholder nobody fills")
    return text


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and of every process whose parent it is (Kamailio's workers)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue   # exited meanwhile
        if int(entry) == pid or int(fields[1]) == pid:        # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def _udp_bound(ip: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((ip, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


class Kamailio:
    """One Kamailio with `config`, its log in `folder`; start() waits until it listens."""

    def __init__(self, binary: str, config: str, folder: Path, port: int) -> None:
        self.binary = binary
        self.folder = folder
        self.port = port
        self.cfg = folder / "kamailio.cfg"
        self.cfg.write_text(config)
        self.log_path = folder / "kamailio.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "Kamailio":
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-f", str(self.cfg), "-DD", "-E", "-w", str(self.folder)],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
        deadline = time.monotonic() + timeout
        while not _udp_bound(LISTEN_IP, self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"kamailio did not start: {self.log()[-800:]}")
            time.sleep(0.05)
        time.sleep(0.3)   # its workers are forked and ready
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the main process (it ends its workers); SIGKILL to each one that stays."""
        if self.proc is None or self.proc.poll() is not None:
            return
        workers = children_of(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def measure(calls: int = 1000, rate: int = 100, limit: int = 200, talk_ms: int = 0,
            timeout: float | None = None) -> dict:
    """One run through Kamailio; raises RuntimeError with the evidence when nothing gets through."""
    binary = kamailio_binary()
    if binary is None:
        raise RuntimeError("kamailio is not installed (make apt-test)")
    if timeout is None:
        timeout = calls / rate + talk_ms / 1000 + 15
    with tempfile.TemporaryDirectory(prefix="callbox-bench-kamailio-") as tmp:
        folder = Path(tmp)
        base = free_port_block()
        port, trunk_port, phone_port = base, base + 3, base + 4
        kamailio = Kamailio(binary, kamailio_config(port, phone_port), folder, port).start()
        try:
            assert kamailio.proc is not None
            target = f"{LISTEN_IP}:{port}"
            load = place_calls(target, folder, trunk_port=trunk_port, phone_port=phone_port,
                               cpu_seconds=lambda: tree_cpu_seconds(kamailio.proc.pid),
                               calls=calls, rate=rate, limit=limit, talk_ms=talk_ms,
                               timeout=timeout)
            stats, trunk_code, trunk_out = load.stats, load.trunk_code, load.trunk_out
            phone_code, trunk_dir, phone_dir = load.phone_code, load.trunk_dir, load.phone_dir
            if not stats.get("successful"):
                raise RuntimeError(
                    f"no call completed through kamailio ({stats or 'no SIPp statistics'}, "
                    f"SIPp exit {trunk_code}); first trunk SIPp error: "
                    f"{first_sipp_error(trunk_dir)}\nphone SIPp exit {phone_code}, errors:\n"
                    f"{sipp_errors(phone_dir)}\nkamailio log:\n{kamailio.log()[-1500:]}\n"
                    f"trunk SIPp output:\n{trunk_out[-1500:]}")
            if trunk_code != 0 or stats["successful"] < calls:
                logger.warning("kamailio: %d of %d calls did not complete; trunk SIPp errors:\n"
                               "%s", calls - stats["successful"], calls, sipp_errors(trunk_dir))
        finally:
            kamailio.stop()
    return {"calls": calls, "rate": rate, "successful": stats["successful"],
            "cpu": load.cpu, "wall": load.wall, "sipp_exit": trunk_code}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls in all")
    parser.add_argument("--rate", type=int, default=100, help="calls started per second")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    r = measure(args.calls, args.rate)
    logger.info("kamailio: %d/%d calls, %.3f CPU s in %.1f s: %.0f calls per core-second",
                r["successful"], r["calls"], r["cpu"], r["wall"],
                r["successful"] / max(r["cpu"], 1e-9))
    return 0


if __name__ == "__main__":
    sys.exit(main())
