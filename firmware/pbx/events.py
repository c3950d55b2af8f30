"""Call events: the only thing the phone side tells the rest of the box.

The B2BUA emits these plain values on one in-process bus; the tracker turns them into call
records. Times are Unix timestamps (float seconds, UTC) taken by the caller of the pure code,
so the same sequence of events always yields the same records.

A call's life, by `call_id` (the box's own id for one caller attempt, not a SIP Call-ID):
  inbound:  CallOffered -> CallRinging* -> CallAnswered? -> CallTransferred* -> CallEnded
  outbound: DialledOut  -> CallRinging? -> CallAnswered? -> CallEnded
  internal (extension to extension): DialledOut(number="102") -> ... -> CallEnded
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable, Union

logger = logging.getLogger(__name__)

# Why a call ended; the tracker maps them to answered / missed and the missed reason.
COMPLETED = "completed"              # answered, then either side hung up
CALLER_HANGUP = "caller_hangup"      # caller cancelled while phones rang
RING_TIMEOUT = "ring_timeout"        # nobody answered within ring_timeout_seconds
NOBODY_AVAILABLE = "nobody_available"  # no phone registered for the campaign
BUSY = "busy"                        # every phone rung answered busy
FAILED = "failed"                    # anything else (trunk refused, error response)
END_REASONS = (COMPLETED, CALLER_HANGUP, RING_TIMEOUT, NOBODY_AVAILABLE, BUSY, FAILED)


@dataclass(frozen=True)
class CallOffered:
    """An inbound call reached the box on a campaign number (or any dialled number)."""

    call_id: str
    dialled: str        # the number the caller dialled, E.164 where it parses ("+48221234567")
    caller: str         # the caller's number, E.164 where it parses, else as received
    at: float
    trunk: str = ""     # the trunk's name from the config


@dataclass(frozen=True)
class DialledOut:
    """An extension dialled a number: an outbound (or internal) call."""

    call_id: str
    extension: str      # who dialled ("101")
    number: str         # what was dialled, E.164 for external numbers, "102" for an extension
    at: float


@dataclass(frozen=True)
class CallRinging:
    """A desk phone (or the far end of an outbound call) started ringing."""

    call_id: str
    extension: str      # the ringing extension; "" for the far end of an outbound call
    at: float


@dataclass(frozen=True)
class CallAnswered:
    """The call was answered: by `extension` (inbound) or by the far end (outbound, "")."""

    call_id: str
    extension: str
    at: float


@dataclass(frozen=True)
class CallEnded:
    """The call is over; `reason` is one of END_REASONS."""

    call_id: str
    reason: str
    at: float


@dataclass(frozen=True)
class CallTransferred:
    """The caller now talks to `extension` (or the external number a phone transferred the
    call to); whoever talked before handed the call over at `at`."""

    call_id: str
    extension: str
    at: float


CallEvent = Union[CallOffered, DialledOut, CallRinging, CallAnswered, CallTransferred, CallEnded]


class EventBus:
    """Fan-out of call events to subscribers, in order; a failing subscriber is logged, not fatal.

    Subscribers must be quick (the tracker queues events for its own thread).
    """

    def __init__(self) -> None:
        self._subscribers: list[Callable[[CallEvent], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Callable[[CallEvent], None]) -> None:
        with self._lock:
            self._subscribers.append(callback)

    def publish(self, event: CallEvent) -> None:
        # DEBUG, not INFO: a full event repr per step cost ~5-7% of a call's CPU (and SD-card
        # writes through journald); the tracker logs one line per finished call instead.
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("call event %s", event)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a subscriber's bug must not take the call path down
                logger.exception("call event subscriber %r failed on %s", callback, event)
