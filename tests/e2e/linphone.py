"""A desk phone that is a real softphone: linphone-daemon (Debian linphone-cli) on loopback.

linphone-daemon reads one command a line on stdin and answers a block ("Status: Ok", then
"Key: value" lines, then a blank line); call events come as blocks of their own
("Event-type: call-state-changed", "Event: LinphoneCallIncomingReceived", "Id: 1"). It needs
~/.local/share/linphone to exist (HOME is the phone's own folder) and runs with no sound
card; `play()` sends a WAV into the call with its in-call player.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

from tests import peers

PROMPT = "daemon-linphone>"
HELLO_WAV = Path("/usr/share/sounds/linphone/hello8000.wav")


class LinphoneError(AssertionError):
    pass


class Linphone:
    """One linphone-daemon: a desk phone registered to the box as one extension."""

    def __init__(self, folder: Path, sip_port: int, rtp_port: int) -> None:
        self.folder, self.sip_port, self.rtp_port = folder, sip_port, rtp_port
        self.proc: subprocess.Popen | None = None
        self.blocks: list[dict[str, str]] = []     # responses and events, in arrival order
        self.raw: list[str] = []
        self._cond = threading.Condition()
        self._responses_taken = 0
        self._events_seen = 0
        self._block: dict[str, str] | None = None

    # -- process ----------------------------------------------------------------------------

    def start(self) -> "Linphone":
        binary = peers.which("linphone-daemon")
        if binary is None:
            peers.missing("linphone-daemon is not installed (Debian package linphone-cli)")
        home = self.folder / "home"
        (home / ".local" / "share" / "linphone").mkdir(parents=True, exist_ok=True)
        (home / ".config" / "linphone").mkdir(parents=True, exist_ok=True)
        config = self.folder / "linphonerc"
        config.write_text(f"""[sip]
sip_port={self.sip_port}
sip_tcp_port=-1
sip_tls_port=-1
guess_hostname=0
register_only_when_network_is_up=0
[rtp]
audio_rtp_port={self.rtp_port}-{self.rtp_port + 1}
video_rtp_port={self.rtp_port + 2}-{self.rtp_port + 3}
[video]
capture=0
display=0
automatically_initiate=0
automatically_accept=0
[sound]
echocancellation=0
[net]
ipv6=0
[misc]
max_calls=4
""")
        env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "LANG": "C.UTF-8"}
        self.proc = subprocess.Popen(
            [binary, "--config", str(config), "--disable-stats-events", "--log",
             str(self.folder / "linphone.log")], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=self.folder)
        threading.Thread(target=self._read, daemon=True).start()
        self.command("version")           # ready once it answers
        return self

    def _read(self) -> None:
        """Split the daemon's output into blocks. A response is "Status: ..." and the keys up
        to the next prompt (it holds a blank line); an event is "Event-type: ..." and the
        keys up to a blank line. The prompt comes with no newline, so read raw chunks."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        pending = ""
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            pending += chunk.decode("utf-8", errors="replace")
            with self._cond:
                while True:
                    if pending.startswith(PROMPT):
                        pending = pending[len(PROMPT):]
                        self._close()
                        continue
                    newline = pending.find("\n")
                    if newline < 0:
                        break
                    line, pending = pending[:newline].rstrip("\r"), pending[newline + 1:]
                    self._line(line)
        with self._cond:
            self._close()

    def _line(self, line: str) -> None:
        self.raw.append(line)
        if line.startswith(("Status:", "Event-type:")):
            self._close()
            key, _, value = line.partition(":")
            self._block = {key: value.strip()}
            return
        if self._block is None:
            return
        if line.strip() == "":
            if "Event" in self._block:          # not the blank just after Event-type
                self._close()
            return
        key, sep, value = line.partition(": ")
        if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9 -]*", key):
            self._block.setdefault(key, value)

    def _close(self) -> None:
        if self._block is not None:
            self.blocks.append(self._block)
            self._block = None
            self._cond.notify_all()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.flush()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        with self._cond:
            return "\n".join(line for line in self.raw
                             if "liblinphone-" not in line and "ortp-" not in line
                             and "mediastreamer-" not in line and "belle-sip-" not in line
                             and "bctbx-" not in line)[-4000:]

    # -- commands ---------------------------------------------------------------------------

    def command(self, text: str, timeout: float = 10.0) -> dict[str, str]:
        """Send one command; its response block ("Status" plus the keys it returned)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                responses = [b for b in self.blocks if "Status" in b]
                if len(responses) > self._responses_taken:
                    self._responses_taken += 1
                    return responses[self._responses_taken - 1]
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise LinphoneError(f"linphone-daemon gave no answer to {text!r}:\n"
                                        + self.log())
                self._cond.wait(min(left, 0.2))

    def ok(self, text: str) -> dict[str, str]:
        answer = self.command(text)
        if answer.get("Status") != "Ok":
            raise LinphoneError(f"{text!r}: {answer}")
        return answer

    def register(self, extension: str, password: str, box_port: int,
                 timeout: float = 10.0) -> str:
        """Register to the box (127.0.0.1:box_port) as `extension`; the register id."""
        self.box_port = box_port
        answer = self.ok(f"register sip:{extension}@127.0.0.1:{box_port} "
                         f"sip:127.0.0.1:{box_port} {password}")
        register_id = answer["Id"]
        deadline = time.monotonic() + timeout
        while True:
            state = self.ok(f"register-status {register_id}").get("State", "")
            if state == "LinphoneRegistrationOk":
                return register_id
            if time.monotonic() > deadline or state == "LinphoneRegistrationFailed":
                raise LinphoneError(f"registration of {extension}: {state}\n" + self.log())
            time.sleep(0.2)

    def events(self) -> list[dict[str, str]]:
        with self._cond:
            return [b for b in self.blocks if "Event-type" in b]

    def wait_event(self, event: str, timeout: float = 10.0, call_id: str | None = None,
                   give_up: Callable[[], str | None] | None = None) -> dict[str, str]:
        """The next call event `event` (e.g. "IncomingReceived", "End"): its block. Fails at
        once when the call ends first (Error or End while waiting for another state), or when
        `give_up()` returns a reason (say, the caller was refused elsewhere)."""
        wanted = event if event.startswith("LinphoneCall") else "LinphoneCall" + event
        enders = {"LinphoneCallError", "LinphoneCallEnd", "LinphoneCallReleased"} - {wanted}
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                events = [b for b in self.blocks if "Event-type" in b]
                for index in range(self._events_seen, len(events)):
                    block = events[index]
                    if call_id is not None and block.get("Id") != call_id:
                        continue
                    if block.get("Event") == wanted:
                        self._events_seen = index + 1
                        return block
                    if call_id is not None and block.get("Event") in enders:
                        raise LinphoneError(f"call {call_id} ended ({block.get('Event')}) "
                                            f"before {wanted}; final responses the phone got: "
                                            f"{self.final_responses()[-2:]}")
                reason = give_up() if give_up is not None else None
                left = deadline - time.monotonic()
                if left <= 0 or reason:
                    raise LinphoneError(f"no {wanted} event ({reason or 'timeout'}); events: "
                                        f"{[b.get('Event') for b in events]}\n" + self.log())
                self._cond.wait(min(left, 0.2))

    def answer(self, call_id: str) -> None:
        self.ok(f"answer {call_id}")

    def call(self, number: str) -> str:
        """Dial `number` as a desk phone does (sip:NUMBER@box); the call id."""
        return self.ok(f"call sip:{number}@127.0.0.1:{self.box_port}")["Id"]

    def call_state(self, call_id: str | None = None) -> str:
        answer = self.command("call-status" + (f" {call_id}" if call_id else ""))
        return answer.get("State", answer.get("Reason", ""))

    def hang_up(self, call_id: str | None = None) -> None:
        self.command("terminate" + (f" {call_id}" if call_id else ""))

    def hang_up_all(self) -> None:
        """End whatever calls are left (a test that failed half-way)."""
        for _ in range(4):
            if self.command("terminate").get("Status") != "Ok":
                return

    def transfer(self, call_id: str, target: str) -> None:
        """Blind transfer (REFER) of call `call_id` to extension or number `target`."""
        self.ok(f"call-transfer {call_id} sip:{target}@127.0.0.1:{self.box_port}")

    def final_responses(self) -> list[str]:
        """Status lines of the final responses (>= 300) the phone received, from its log."""
        path = self.folder / "linphone.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return re.findall(r"^SIP/2\.0 [3-6]\d\d [^\r\n]*", text, re.M)

    def play(self, call_id: str, wav: Path = HELLO_WAV) -> None:
        """Send a WAV into the call (there is no sound card)."""
        self.command(f"incall-player-start {wav} {call_id}")
