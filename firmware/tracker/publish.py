"""What the tracker tells listeners (integrations: the central link, webhooks, ...).

The tracker drives nothing: it publishes what became durable, and listeners decide what to do.
A listener is called on the tracker's writer thread right after the change is on disk, so it
must be quick and must not block (append to its own outbox, queue for its own thread); a
listener that raises is logged and the tracker goes on.

Kinds and data:
- "call.recorded": the call record as the journal holds it (a dict)
- "wrapup.saved": the whole record after the wrap-up (a dict)
- "queue.changed": the callback queue as it stands, in the /api/callbacks shape (a list)
- "call.missed": a missed call's record, as "call.recorded" gave it (the SMS alerts)
- "waiting.changed": `{"waiting": n, "callbacks": n, "overdue_follow_ups": n}` when it
  changed, and once at start: what keeps the callback LED lit (`waiting` > 0), which the
  desk phones' message lamps follow (told at start and on a config reload on the thread
  that asked for them)
- "trunks.changed": `{trunk name: up}` when a trunk came up or went down, and once at start
  (the status LED); told on the thread that reported the trunk (the event loop)
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

logger = logging.getLogger(__name__)

CALL_RECORDED = "call.recorded"
WRAPUP_SAVED = "wrapup.saved"
QUEUE_CHANGED = "queue.changed"
CALL_MISSED = "call.missed"
WAITING_CHANGED = "waiting.changed"
TRUNKS_CHANGED = "trunks.changed"

Listener = Callable[[str, Any], None]


class Publisher:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def listen(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def __bool__(self) -> bool:
        return bool(self._listeners)

    def publish(self, kind: str, data: Any) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(kind, data)
            except Exception:  # a listener's bug must not stop the tracker's writer
                logger.exception("tracker listener %r failed on %s", listener, kind)
