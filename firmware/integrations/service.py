"""The integrations at run time: what the tracker publishes goes into the outbox, and one
sender thread delivers it (webhooks, GA4), plus the weekly e-mail's clock.

Why a thread of its own: a receiver may take 10 s to fail; the tracker's writer and the call
path must never wait for it. `listen` (on the tracker's writer thread) only appends to the
outbox, which is durable when it returns. `run_once(now)` is the sender's whole step, so the
tests drive days of retries with a frozen clock without the thread.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from firmware.atomic import atomic_write
from firmware.config import Config
from firmware.integrations import ga4, webhooks
from firmware.integrations.http_post import Answer, post
from firmware.integrations.outbox import Outbox, new_id
from firmware.integrations.retry import (DELIVERED, FAILED, Item, after_attempt, success,
                                          target_down)
from firmware.tracker.errors import StoreError, StoreLocked
from firmware.tracker.query import CallFilter

logger = logging.getLogger(__name__)

WEBHOOK_MAX_AGE = 48 * 3600      # the contract asks for at least 24 h of retries
GA4_TARGET = "ga4"
MAX_SLEEP = 60.0
BATCH = 50                       # deliveries per step before `now` is read again
MAX_CATCH_UP = 20                # calls a crash can leave recorded but not queued


def webhook_target(url: str) -> str:
    return f"webhook:{url}"


class Integrations:
    def __init__(self, config: Config, data_dir: Path, *,
                 clock: Callable[[], float] = time.time,
                 sender: Callable[..., Answer] = post):
        self.config = config
        self.data_dir = Path(data_dir)
        self.outbox = Outbox(self.data_dir / "outbox")
        self._clock = clock
        self._post = sender
        self._holds: dict[str, float] = {}
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._ga4_key = b""
        self.mailer = None          # firmware.integrations.mailer.SummaryMailer

    # -- life ---------------------------------------------------------------------------

    def open(self) -> None:
        """Open the outbox (repairing it); StoreError / StoreLocked when it cannot be."""
        try:
            self.outbox.open()
        except OSError as exc:
            raise StoreError(f"outbox: cannot open: {exc}") from exc
        except StoreLocked as exc:
            raise StoreError(str(exc)) from exc
        self._ga4_key = _read_key(self.data_dir / "ga4_key")
        self.outbox.due_now(self._clock())

    def start(self) -> None:
        """The sender thread (after `open`)."""
        self._thread = threading.Thread(target=self._run, name="integrations", daemon=True)
        self._thread.start()

    def start_mail(self, tracker) -> None:
        """Once the tracker's history is loaded: catch up on calls a crash kept from the
        outbox, and start the weekly e-mail (its figures are whole now)."""
        from firmware.integrations.mailer import SummaryMailer

        self.catch_up(tracker)
        self.mailer = SummaryMailer(lambda: self.config, tracker,
                                    self.data_dir / "email_state.json")
        self.wake()

    def stop(self, timeout: float = 12.0) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self.outbox.close()

    def reload_config(self, config: Config) -> None:
        self.config = config
        self.wake()

    def wake(self) -> None:
        with self._wake:
            self._wake.notify_all()

    # -- what the tracker publishes -----------------------------------------------------

    def listen(self, event: str, data: dict) -> None:
        """A tracker event (on its writer thread): queue what each integration wants."""
        config = self.config
        hooks = [hook for hook in config.webhooks if event in hook.events]
        wants_ga4 = config.ga4 is not None and ga4.wanted(event, data)
        if not hooks and not wants_ga4:
            return          # nothing queued: the sender sleeps on (no wake-up per call)
        now = self._clock()
        extra = _call_end(event, data)
        for hook in hooks:
            self._add_webhook(hook.url, event, data, now, extra=extra)
        if wants_ga4:
            body = ga4.event_body(data, config.box.currency, self._ga4_key)
            self._add(GA4_TARGET, data.get("id", ""), "phone_call", body, now, ga4.MAX_AGE,
                      extra=extra)
        self.wake()

    def catch_up(self, tracker) -> int:
        """After a crash: the calls recorded after the newest one the outbox kept were
        recorded but never queued (the kill fell between the two fsyncs); queue them now.
        Returns how many calls were queued."""
        newest = self.outbox.newest_call()
        if newest is None:
            return 0
        since, queued = newest
        tz = ZoneInfo(self.config.box.timezone)
        first_day = (datetime.fromtimestamp(since, tz) - timedelta(days=1)).date()
        missing = [call for call in reversed(tracker.calls(CallFilter(start=first_day)))
                   if call["id"] not in queued and call.get("ended_at")
                   and datetime.fromisoformat(call["ended_at"]).timestamp() > since]
        if len(missing) > MAX_CATCH_UP:     # not a crash's gap: a time without integrations
            logger.info("outbox: %d calls since the last delivery were never queued; "
                        "not sent now", len(missing))
            return 0
        for call in missing:
            self.listen("call.ended", call)
            if call.get("status") == "missed":
                self.listen("call.missed", call)
            if call.get("callback"):
                self.listen("callback.cleared", call)
        if missing:
            logger.warning("outbox: %d call(s) recorded but not queued before a crash; "
                           "queued now", len(missing))
        return len(missing)

    def _add_webhook(self, url: str, event: str, data: Any, now: float,
                     key: str | None = None, extra: dict | None = None) -> Item | None:
        delivery = new_id()
        at = datetime.fromtimestamp(now, ZoneInfo(self.config.box.timezone))
        body = webhooks.body(event, delivery, at.isoformat(timespec="seconds"), data)
        if key is None:
            key = str(data.get("id") or data.get("number") or "") if isinstance(data, dict) \
                else ""
        return self._add(webhook_target(url), key, event, body, now, WEBHOOK_MAX_AGE,
                         delivery, extra)

    def _add(self, target: str, key: str, event: str, body: str, now: float, max_age: float,
             delivery: str | None = None, extra: dict | None = None) -> Item | None:
        try:
            return self.outbox.add(target, key, event, body, now, max_age, delivery, extra)
        except StoreError as exc:
            logger.error("outbox: %s %s for %s lost: %s", event, key, _safe(target), exc)
            return None

    # -- from the panel -----------------------------------------------------------------

    def send_test(self, url: str) -> Item | None:
        """A "test" delivery to the configured webhook `url` (KeyError: no such webhook)."""
        if not any(h.url == url for h in self.config.webhooks):
            raise KeyError(url)
        now = self._clock()
        item = self._add_webhook(url, webhooks.TEST_EVENT, {
            "message": f"A test delivery from {self.config.box.name}"}, now,
            key=f"test-{new_id()}")
        self.wake()
        return item

    def send_again(self, item_id: str) -> Item:
        """The same delivery (same id and body) once more, now (KeyError: unknown id)."""
        item = self.outbox.again(item_id, self._clock())
        self._holds.pop(item.target, None)
        self.wake()
        return item

    def validate_ga4(self) -> Answer:
        """One `phone_call` event to GA4's debug endpoint; its answer as it came."""
        settings = self.config.ga4
        if settings is None:
            return Answer(None, "", "GA4 is not set up ([ga4] in the config)")
        example = {"id": "test", "direction": "inbound", "caller": "+000",
                   "campaign": self.config.campaigns[0].name if self.config.campaigns
                   else "Test", "source": "Test", "status": "answered", "talk_seconds": 60,
                   "value": 0, "started_at": datetime.fromtimestamp(
                       self._clock(), ZoneInfo(self.config.box.timezone)).isoformat()}
        body = ga4.event_body(example, self.config.box.currency, self._ga4_key)
        url = ga4.collect_url(ga4.debug_endpoint(settings.endpoint), settings.measurement_id,
                              settings.api_secret)
        return self._post(url, body.encode("utf-8"), {})

    def deliveries(self, limit: int = 50) -> list[Item]:
        """The newest deliveries first (for the panel)."""
        items = self.outbox.items()
        items.sort(key=lambda i: (i.last_at or i.created, i.seq), reverse=True)
        for item in items:            # a held receiver: its deliveries wait for the hold too
            if item.state == "pending":
                item.next_at = max(item.next_at, self._holds.get(item.target, 0.0))
        return items[:limit]

    # -- the sender ---------------------------------------------------------------------

    def run_once(self, now: float, limit: int = 10_000) -> int:
        """Send what is due at `now` (at most `limit`); how many tries were made."""
        gone = self.outbox.expired(now)
        if gone:
            self.outbox.mark_failed(gone, now)
            for item in gone:
                logger.error("%s: delivery %s (%s) given up after %d tries",
                             _safe(item.target), item.id, item.event, item.tries)
        sent = 0
        while sent < limit and not self._stopping:
            item = self.outbox.next_due(self._holds, now)
            if item is None:
                break
            self._send(item, now)
            sent += 1
        return sent

    def next_wake(self, now: float) -> float | None:
        return self.outbox.next_wake(self._holds, now)

    def _send(self, item: Item, now: float) -> None:
        body = item.body.encode("utf-8")
        answer = self._post_item(item, body, now)
        if answer is None:                       # the target is gone from the config
            self.outbox.record_try(item.id, now, None, "no longer in the config", "",
                                   FAILED, now)
            return
        state, next_at = after_attempt(item, answer.status, now)
        if success(answer.status):
            self._holds.pop(item.target, None)
        elif target_down(answer.status):
            self._holds[item.target] = next_at
        self.outbox.record_try(item.id, now, answer.status, answer.error, answer.body,
                               state, next_at)
        if state == DELIVERED:
            logger.info("%s: %s %s delivered (HTTP %s)", _safe(item.target), item.event,
                        item.id, answer.status)
        else:
            logger.warning("%s: %s %s failed (%s); %s", _safe(item.target), item.event,
                           item.id, answer.error,
                           "given up" if state == FAILED else f"next try in {next_at - now:.0f} s")

    def _post_item(self, item: Item, body: bytes, now: float) -> Answer | None:
        if item.target == GA4_TARGET:
            settings = self.config.ga4
            if settings is None:
                return None
            return self._post(ga4.collect_url(settings.endpoint, settings.measurement_id,
                                              settings.api_secret), body, {})
        url = item.target.removeprefix("webhook:")
        hook = next((h for h in self.config.webhooks if h.url == url), None)
        if hook is None:
            return None
        return self._post(url, body, webhooks.headers(hook.secret, item.id, body, now))

    def _run(self) -> None:
        while not self._stopping:
            try:
                while self.run_once(self._clock(), BATCH) == BATCH:
                    pass
                if self.mailer is not None:
                    self.mailer.tick(self._clock())
            except Exception:  # the sender must outlive one bad step; it is reported
                logger.exception("integrations: a delivery step failed")
            now = self._clock()
            wake = self.next_wake(now)
            if self.mailer is not None:
                mail_at = self.mailer.next_wake(now)
                wake = mail_at if wake is None else min(wake, mail_at)
            delay = MAX_SLEEP if wake is None else min(max(wake - now, 0.05), MAX_SLEEP)
            with self._wake:
                if not self._stopping:
                    self._wake.wait(delay)


def _call_end(event: str, data: Any) -> dict | None:
    """What the catch-up after a crash needs of a call's delivery: when the call ended."""
    if event in ("call.ended", "call.missed", "callback.cleared") and isinstance(data, dict) \
            and data.get("ended_at"):
        try:
            return {"ended_at": datetime.fromisoformat(data["ended_at"]).timestamp()}
        except (TypeError, ValueError):
            return None
    return None


def _safe(target: str) -> str:
    """A target for the log: a webhook's URL without user info or query, GA4 as such."""
    if target == GA4_TARGET:
        return "ga4"
    parts = urlsplit(target.removeprefix("webhook:"))
    return f"webhook {parts.scheme}://{parts.hostname}:{parts.port or ''}{parts.path}"


def _read_key(path: Path) -> bytes:
    import secrets

    try:
        data = path.read_bytes()
        if len(data) >= 16:
            return data
    except FileNotFoundError:
        pass
    data = secrets.token_bytes(32)
    atomic_write(path, data)
    return data


