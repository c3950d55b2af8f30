"""The thread that empties the outbox into the central's /api/ingest, and the tracker listener
that fills it.

Why a thread of its own: the central may be slow, far or down; calls must never wait for it.
The tracker's writer only appends to the local outbox (one fdatasync); this thread posts
batches of at most BATCH entries, oldest first, and moves the outbox's ACKED mark only when
the central answered 200. Failures back off (1 s doubling to MAX_BACKOFF) and are logged once
per change of state, not once per try; a 401/403 (wrong token) keeps everything and says so.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import ssl
import threading
import urllib.error
import urllib.request
from typing import Any

from firmware.config import Config, CentralLink
from firmware.tracker.publish import CALL_RECORDED, QUEUE_CHANGED, WRAPUP_SAVED

CONTACT_CHANGED = "contact.changed"     # told through Tracker.subscribe (service.py)
from firmware.uplink.outbox import Outbox

logger = logging.getLogger(__name__)

BATCH = 200
TIMEOUT = 15.0
MAX_BACKOFF = 60.0
IDLE_WAIT = 30.0
VERSION = "0.1.0"


class Uplink:
    """`listen(kind, data)` for the tracker; `start()` / `stop()` for the sending thread."""

    def __init__(self, link: CentralLink, timezone: str, outbox: Outbox, *,
                 max_backoff: float = MAX_BACKOFF):
        self.link = link
        self.timezone = timezone
        self.outbox = outbox
        self.max_backoff = max_backoff
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = "starting"           # "ok", "unreachable: ...", "refused: ..."
        self._context = _ssl_context(link)
        self._campaigns_sent: list | None = None

    # -- the tracker's side ---------------------------------------------------------------------

    def listen(self, kind: str, data: Any) -> None:
        """A tracker listener (its writer thread): keep what the central must hear, durably."""
        try:
            if kind in (CALL_RECORDED, WRAPUP_SAVED):
                self.outbox.append("call", {"record": data})
            elif kind == QUEUE_CHANGED:
                self.outbox.append("queue", {"callbacks": data})
        except (OSError, ValueError) as exc:
            logger.error("central: cannot keep %s in the outbox: %s", kind, exc)

    def listen_contacts(self, kind: str, data: Any) -> None:
        """A Tracker.subscribe listener (its writer thread): the contact, as the contacts
        store holds it, after each change. The other kinds of that channel (calls in the
        /api/calls shape) are the integrations'; calls come through `listen`."""
        if kind != CONTACT_CHANGED:
            return
        try:
            self.outbox.append("contact", {"contact": data})
        except (OSError, ValueError) as exc:
            logger.error("central: cannot keep contact %s in the outbox: %s",
                         data.get("id"), exc)

    def report_config(self, config: Config) -> None:
        """At start and after a config change (any thread: the outbox serialises appends):
        the campaign set as the config has it, when it differs from what was kept last, so
        the central lists the same campaigns and costs as the box's /api/campaigns."""
        self.timezone = config.box.timezone
        campaigns = [dataclasses.asdict(campaign) for campaign in config.campaigns]
        if campaigns == self._campaigns_sent:
            return
        try:
            self.outbox.append("campaigns", {"campaigns": campaigns})
        except (OSError, ValueError) as exc:
            logger.error("central: cannot keep the campaign set in the outbox: %s", exc)
            return
        self._campaigns_sent = campaigns

    # -- the sending thread ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="central-uplink", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.outbox.changed.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.outbox.close()

    def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            if backoff:
                self._stop.wait(backoff)
                if self._stop.is_set():
                    return
            batch = self.outbox.batch(BATCH)
            if not batch:
                self.outbox.changed.wait(IDLE_WAIT)
                self.outbox.changed.clear()
                backoff = 0.0
                continue
            if self.send(batch):
                backoff = 0.0
            else:
                backoff = min(self.max_backoff, max(1.0, backoff * 2))

    def send(self, batch: list[dict]) -> bool:
        """Post one batch; True when the central kept it (then the outbox moves on)."""
        body = json.dumps({"site": self.link.site, "timezone": self.timezone,
                           "version": VERSION, "entries": batch},
                          ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.link.url + "/api/ingest", data=body, method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {self.link.token}"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT, context=self._context) as r:
                answer = json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                self._say(f"refused: HTTP {exc.code} (check [central] site and token)",
                          logging.ERROR)
            else:
                self._say(f"unreachable: HTTP {exc.code}", logging.WARNING)
            return False
        except (OSError, ValueError) as exc:          # URLError, timeouts, TLS, bad JSON
            reason = getattr(exc, "reason", exc)
            self._say(f"unreachable: {reason}", logging.WARNING)
            return False
        for refused in answer.get("refused") or ():
            logger.error("central refused outbox entry %s: %s", refused.get("seq"),
                         refused.get("error"))
        self.outbox.ack(max(entry["seq"] for entry in batch))
        self._say("ok", logging.INFO)
        return True

    def _say(self, state: str, level: int) -> None:
        if state != self.state:
            logger.log(level, "central %s: %s (%d waiting in the outbox)", self.link.url,
                       state, self.outbox.pending())
            self.state = state


def _ssl_context(link: CentralLink) -> ssl.SSLContext | None:
    if not link.url.startswith("https://"):
        return None
    return ssl.create_default_context(cafile=link.ca_file or None)


def start_uplink(config: Config, data_dir, tracker) -> Uplink | None:
    """The box's link to its central when [central] is set: outbox open, listener on, thread
    started. None without [central], or when the outbox cannot be opened (logged): the box
    then runs alone, as it would with the central down."""
    if config.central is None:
        return None
    from pathlib import Path

    try:
        outbox = Outbox(Path(data_dir) / "outbox" / "central").open()
    except (OSError, RuntimeError) as exc:
        logger.error("central: cannot open the outbox, not reporting: %s", exc)
        return None
    uplink = Uplink(config.central, config.box.timezone, outbox)
    attach(uplink, tracker, config)
    uplink.start()
    logger.info("central: reporting to %s as site %r (%d waiting in the outbox)",
                config.central.url, config.central.site, outbox.pending())
    return uplink


def attach(uplink: Uplink, tracker, config: Config) -> None:
    """Listen to what the tracker tells (calls, wrap-ups and the queue through `published`;
    contact changes through `subscribe`) and keep the config's campaign set in the outbox."""
    tracker.published.listen(uplink.listen)
    tracker.subscribe(uplink.listen_contacts)
    uplink.report_config(config)
