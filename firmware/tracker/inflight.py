"""Calls in progress, on disk: a crash or a power cut mid-call no longer loses the call.

The tracker records a call when it ends (records.py). Before this file, a call that was
ringing or talking when the box died left no trace: the caller rang a shop that never
called back. Now each call event is appended here as it comes (one short JSON line), and
at start-up the calls that never ended are recorded from their events: ended at the last
moment the box is known to have been alive (the newest event in this file; never more than
`max_call_minutes` after the call's own last event), reason
`failed` (`missed` when nobody had answered, so the caller waits in the callback queue).

Why it is shaped like this:
- The events themselves are kept, not a state: recovery replays them through the same
  CallAssembler as a running box, so who rang, who answered and transfers come out the same.
- No fdatasync per line: the page cache survives a crash or a kill of the box, and ext4
  writes it out within seconds, so a power cut loses only the calls of its last seconds. A
  call's record itself stays fsync'd as before (the call store's budget: one line per call).
- A call's end is written after its record is durable: a kill between the two records the
  call twice at worst (once more as failed), never not at all.
- The file is emptied when no call is in progress and it has grown past COMPACT_BYTES, and
  after a recovery, so it stays small. A torn or unreadable line (a cut during a write) is
  skipped with a log line.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from firmware.config import Config
from firmware.pbx import events as ev
from firmware.tracker.records import CallAssembler, FinishedCall

logger = logging.getLogger(__name__)

FILE_NAME = "calls_in_progress.jsonl"
COMPACT_BYTES = 64 * 1024
EVENT_TYPES = {cls.__name__: cls for cls in (ev.CallOffered, ev.DialledOut, ev.CallRinging,
                                             ev.CallAnswered, ev.CallTransferred,
                                             ev.CallEnded)}


def event_line(event: ev.CallEvent) -> bytes:
    doc = {**vars(event), "event": type(event).__name__}     # flat: strings and a float
    return (json.dumps(doc, separators=(",", ":")) + "\n").encode()


def parse_line(line: bytes) -> ev.CallEvent | None:
    """The event of one line, or None for a torn or foreign line."""
    try:
        doc = json.loads(line)
        cls = EVENT_TYPES[doc.pop("event")]
        event = cls(**doc)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    for name, value in vars(event).items():        # every field a string but `at`
        wanted = (int, float) if name == "at" else str
        if not isinstance(value, wanted) or isinstance(value, bool):
            return None
    return event


class CallsInProgress:
    """The append-only file of the events of calls that have not ended yet."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self._fd: int | None = None
        self._size = 0
        self.bytes_written = 0             # appended since start (the store bench counts it)

    def recover(self, config: Config) -> list[FinishedCall]:
        """The calls the file says were in progress when the box stopped, each ended at the
        newest moment the file knows of; open() once they are recorded."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            logger.error("calls in progress: %s unreadable (%s); set aside", self.path, exc)
            return []
        assembler = CallAssembler()
        last_seen = 0.0
        latest: dict[str, float] = {}         # call id -> its newest event
        skipped = 0
        for line in data.splitlines():
            if not line.strip():
                continue
            event = parse_line(line)
            if event is None:
                skipped += 1
                continue
            last_seen = max(last_seen, float(event.at))
            latest[event.call_id] = max(latest.get(event.call_id, 0.0), float(event.at))
            assembler.feed(event, config)
        if skipped:
            logger.warning("calls in progress: %d unreadable lines skipped in %s", skipped,
                           self.path)
        finished = []
        longest = config.sip.max_call_minutes * 60      # the box hangs up calls at this length
        for call_id in assembler.open_calls():
            ended = min(last_seen, latest[call_id] + longest)
            call = assembler.feed(ev.CallEnded(call_id, ev.FAILED, ended), config)
            if call is not None:
                finished.append(call)
        for call in finished:
            logger.warning("call %s (%s -> %s) was in progress when the box stopped; "
                           "recorded as ended at the last moment known", call.call_id,
                           call.caller, call.callee)
        return finished

    def open(self, *, empty: bool = True) -> None:
        """Start appending, after recover(): emptied when the records it gave are durable
        (`empty`), else kept, so that a disk that failed them does not lose them too."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_TRUNC if empty else 0)
        self._fd = os.open(self.path, flags, 0o640)
        self._size = os.fstat(self._fd).st_size

    def note(self, event: ev.CallEvent) -> None:
        """Append one event; a full or failing disk is logged, the call goes on."""
        if self._fd is None:
            return
        line = event_line(event)
        try:
            os.write(self._fd, line)
        except OSError as exc:
            logger.error("calls in progress: cannot write %s: %s", self.path, exc)
            return
        self._size += len(line)
        self.bytes_written += len(line)

    def idle(self) -> None:
        """No call is in progress: empty the file once it has grown."""
        if self._fd is not None and self._size >= COMPACT_BYTES:
            try:
                os.ftruncate(self._fd, 0)
            except OSError as exc:
                logger.error("calls in progress: cannot empty %s: %s", self.path, exc)
                return
            self._size = 0

    def close(self, *, calls_open: bool) -> None:
        """Stop appending; emptied when no call is open (else the next start records them)."""
        if self._fd is not None:
            if not calls_open:
                try:
                    os.ftruncate(self._fd, 0)
                except OSError:
                    pass
            os.close(self._fd)
            self._fd = None
