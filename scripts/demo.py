"""`make demo`: watch the panel fill. The box runs on its embedded default (firmware/config.py)
with a simulated provider and desk phones on loopback, which place a realistic mix of calls
through the real SIP path every few seconds: answered calls of many lengths, callers who give
up while it rings, calls nobody can take, repeat callers and first-time ones, on three
campaigns. Every call is real SIP through the box's B2BUA, recorded by its tracker.

Nothing of it runs in `callbox run`: this script starts `callbox run` with a demo config
(the embedded default plus a trunk, two campaigns and a third extension) and drives it from
outside with SIPp (Debian package `sip-tester`, `make apt-test`), as the e2e tests do.

    python -m scripts.demo [--every 5] [--calls 0] [--data demo-data] [--web 8080]
                           [--seed N] [--max-talk 150]

Stop it with Ctrl+C; the calls stay in the data folder for the next run.
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from firmware.config import EMBEDDED_DEFAULT
from tests.e2e.rig import (SIPP_DIR, BoxProcess, finish, free_port_block, have, scenario,
                           sipp_background)

logger = logging.getLogger("demo")

BOX_IP, TRUNK_IP = "127.0.0.1", "127.0.0.2"
OWNER, OWNER_PASSWORD = "demo", "demo-owner-pass"
# (extension, password from the config, loopback address, ms before it answers)
PHONES = (("101", "demo-101-change-me", "127.0.0.11", 4000),
          ("102", "demo-102-change-me", "127.0.0.12", 7000))
SHOP, PAPER, RADIO = "+48221234567", "+48221234568", "+48221234569"
RE_REGISTER = 50 * 60          # seconds; the box grants at most an hour
MAX_AT_ONCE = 6                # calls in progress at most (each one SIPp process)

# Callers: Warsaw, Kraków, Gdańsk, Poznań and Wrocław lines, mobiles, and a few from abroad.
CALLERS = ([f"+4822{n:07d}" for n in (5550101, 6120344, 8810022, 4470315)]
           + [f"+4812{n:07d}" for n in (4230077, 6551290)]
           + ["+48583021144", "+48618520033", "+48713447788"]
           + [f"+48{p}{n:06d}" for p in (501, 602, 693, 731, 788, 512, 665)
              for n in (123456, 334455)]
           + ["+493012345678", "+447700900123", "+420603123456"])


def demo_config(sip_port: int, web_port: int, trunk_port: int, rtp_base: int) -> str:
    """The embedded default on the demo's ports, plus the provider's trunk, a third
    extension nobody registers, and two more campaigns."""
    text = (EMBEDDED_DEFAULT
            .replace('listen = "127.0.0.1:5060"', f'listen = "{BOX_IP}:{sip_port}"')
            .replace('listen = "127.0.0.1:8080"', f'listen = "{BOX_IP}:{web_port}"')
            .replace('rtp_ports = "10000-10999"', f'rtp_ports = "{rtp_base}-{rtp_base + 199}"')
            .replace('ring = ["101", "102"]', 'ring = ["101"]\ncost_per_month = 900'))
    return text + f"""
[[extension]]
number = "103"
name = "Warehouse"
password = "demo-103-change-me"

[[campaign]]
name = "Newspaper"
number = "{PAPER}"
source = "Print"
lead_value = 100
ring = ["102"]
cost_per_month = 600

[[campaign]]
name = "Radio"
number = "{RADIO}"
source = "Radio"
lead_value = 200
ring = ["103"]
cost_per_month = 1500

[[trunk]]
name = "provider"
host = "{TRUNK_IP}"
port = {trunk_port}
register = false
"""


class Demo:
    def __init__(self, data: Path, web_port: int, max_talk: int = 150):
        self.max_talk = max(3, max_talk)
        self.data = data.resolve()
        self.folder = self.data / "demo"
        self.folder.mkdir(parents=True, exist_ok=True)
        base = free_port_block(30)
        self.sip_port, self.trunk_port = base, base + 3
        self.phone_ports = {ext: base + 4 + n for n, (ext, *_r) in enumerate(PHONES)}
        self.call_ports = range(base + 10, base + 30)      # one per call in progress
        self.config = self.folder / "callbox.toml"
        self.config.write_text(demo_config(self.sip_port, web_port, self.trunk_port,
                                           40000 + (base // 10 % 20) * 200))
        self.web = f"http://{BOX_IP}:{web_port}/"
        self.box = BoxProcess(self.config, self.data)
        self.phones: dict[str, subprocess.Popen] = {}
        self.calls: dict[int, subprocess.Popen] = {}     # by the trunk's local port
        self.registered_at = 0.0
        self.placed = 0
        self.rejected = scenario("trunk_rejected.xml", self.folder, STATUS="480")

    @property
    def target(self) -> str:
        return f"{BOX_IP}:{self.sip_port}"

    def start(self) -> None:
        subprocess.run([sys.executable, "-m", "firmware", "passwd", OWNER, "--config",
                        str(self.config), "--data", str(self.data)],
                       input=OWNER_PASSWORD + "\n", text=True, check=True,
                       capture_output=True)
        self.box.start()
        self.register_phones()

    def register_phones(self) -> None:
        """(Re-)register both desk phones, then let each answer every call it is rung with."""
        for proc in self.phones.values():
            proc.terminate()
            finish(proc, 5)
        register = (SIPP_DIR / "register.xml").read_text().replace("Expires: 120",
                                                                    "Expires: 3600")
        scenario = self.folder / "register-hour.xml"
        scenario.write_text(register)
        for ext, password, ip, answer_ms in PHONES:
            port = self.phone_ports[ext]
            command = ["sipp", self.target, "-sf", str(scenario), "-i", ip, "-p", str(port),
                       "-m", "1", "-timeout", "10s", "-timeout_error", "-nostdin", "-nd",
                       "-s", ext, "-au", ext, "-ap", password]
            done = subprocess.run(command, capture_output=True, text=True, timeout=25,
                                  cwd=self.folder)
            if done.returncode != 0:
                raise RuntimeError(f"phone {ext} could not register:\n{done.stdout[-800:]}")
            cwd = self.folder / f"phone-{ext}"
            cwd.mkdir(exist_ok=True)
            self.phones[ext] = sipp_background(
                "phone_answer.xml", self.target, local_ip=ip, local_port=port,
                calls=1_000_000, timeout=RE_REGISTER + 600, cwd=cwd,
                args=["-s", ext, "-d", str(answer_ms), "-key", "rtp", str(port + 1000)])
        self.registered_at = time.monotonic()
        logger.info("desk phones 101 and 102 registered and answering")

    def place_call(self, rng: random.Random) -> None:
        """One call from the provider: a campaign, a caller, and what happens to it."""
        dialled = rng.choices((SHOP, PAPER, RADIO), (6, 3, 1))[0]
        caller = rng.choice(CALLERS[: rng.choice((8, 16, len(CALLERS)))])   # some recur
        port = next(p for p in self.call_ports if p not in self.calls)
        answer_ms = 4000 if dialled == SHOP else 7000
        if dialled == RADIO:                             # its phone is never registered
            name, pause, what = str(self.rejected), 0, "finds nobody available"
        elif rng.random() < 0.25:                        # gives up while it rings
            name, pause, what = "trunk_cancel.xml", rng.randint(1500, answer_ms - 800), \
                "hangs up while it rings"
        else:
            talk = min(self.max_talk, rng.choice((rng.randint(3, 20), rng.randint(25, 90),
                                                  rng.randint(60, 150))))
            name, pause, what = "trunk_call.xml", talk * 1000, f"talks {talk} s"
        cwd = self.folder / "trunk"
        cwd.mkdir(exist_ok=True)
        self.calls[port] = sipp_background(
            name, self.target, local_ip=TRUNK_IP, local_port=port, timeout=200, cwd=cwd,
            args=["-d", str(pause), "-key", "dialled", dialled, "-key", "caller", caller,
                  "-key", "rtp", str(port + 1000)])
        self.placed += 1
        logger.info("call %d: %s dials %s and %s", self.placed, caller, dialled, what)

    def reap(self) -> None:
        """Collect the SIPp processes of calls that have ended."""
        for port, proc in list(self.calls.items()):
            if proc.poll() is not None:
                finish(proc, 1)
                del self.calls[port]

    def run(self, every: float, count: int, rng: random.Random) -> None:
        logger.info("the panel: %s (sign in as %s / %s); Ctrl+C stops the demo",
                    self.web, OWNER, OWNER_PASSWORD)
        while count == 0 or self.placed < count:
            if time.monotonic() - self.registered_at > RE_REGISTER:
                self.register_phones()
            self.reap()
            while len(self.calls) >= MAX_AT_ONCE:    # wait for a line (same calls per seed)
                time.sleep(0.2)
                self.reap()
            self.place_call(rng)
            time.sleep(rng.uniform(0.5, 1.5) * every)
        while self.calls:                       # let the last calls finish
            self.reap()
            time.sleep(0.5)

    def stop(self) -> None:
        for proc in [*self.calls.values(), *self.phones.values()]:
            if proc.poll() is None:
                proc.terminate()
            finish(proc, 5)
        self.box.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=float, default=5.0,
                        help="seconds between calls, on average (default 5)")
    parser.add_argument("--calls", type=int, default=0,
                        help="stop after this many calls (default 0: until Ctrl+C)")
    parser.add_argument("--data", type=Path, default=Path("demo-data"),
                        help="the box's data folder (default ./demo-data)")
    parser.add_argument("--web", type=int, default=8080, help="the panel's port (8080)")
    parser.add_argument("--seed", type=int, default=None, help="the same calls every run")
    parser.add_argument("--max-talk", type=int, default=150,
                        help="the longest call in seconds (default 150)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if not have("sipp"):
        logger.error("the demo needs SIPp: make apt-test (Debian package sip-tester)")
        return 1
    demo = Demo(args.data, args.web, args.max_talk)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        demo.start()
        demo.run(args.every, args.calls, random.Random(args.seed))
    except KeyboardInterrupt:
        logger.info("stopping")
    finally:
        demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
