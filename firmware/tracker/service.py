"""The Tracker: the one writer of call data, and the thread-safe place to read it.

Why it is shaped like this: the PBX must never wait on a disk, and the store must have exactly
one writer. So `submit` only queues the event; one writer thread turns events into records,
makes each completed call durable (one appended line, fsync'd) before it takes the next item,
and only then shows it to readers. Wrap-ups and dismissals from the web panel go through the
same thread. Readers (the web server's threads) take the lock, copy what they need out of the
in-memory index, and compute outside of it where they can.

State: the index, the number history, the callback queue, the calls in progress (their
events also on disk, inflight.py) and the trunk states, all rebuilt at start-up. It drives no
hardware: the LEDs, lamps and SMS alerts listen to what it publishes (publish.py, box.py).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import zoneinfo
from concurrent.futures import Future
from datetime import date, timedelta
from itertools import compress
from pathlib import Path
from typing import Any, Callable, Mapping

from firmware.config import Config, normalise_number
from firmware.pbx.events import CallEnded, CallEvent
from firmware.tracker import regions
from firmware.tracker.callbacks import CallbackQueue, Entry
from firmware.tracker.callview import CallView
from firmware.tracker.calltable import rows_by_end
from firmware.tracker.contact_store import ContactStore
from firmware.tracker.errors import BadInput, StoreError
from firmware.tracker.figures import campaign_figures
from firmware.tracker.history import TableHistory
from firmware.tracker.index import CallIndex
from firmware.tracker.inflight import CallsInProgress
from firmware.tracker.listing import api_calls
from firmware.tracker.localtime import iso_formatter
from firmware.tracker.memory import fixed_mmap_threshold, no_cyclic_gc, release_free_memory
from firmware.tracker.publish import (CALL_MISSED, CALL_RECORDED, QUEUE_CHANGED, TRUNKS_CHANGED,
                                       WAITING_CHANGED, WRAPUP_SAVED, Publisher)
from firmware.tracker.query import CallFilter, day_bounds
from firmware.tracker.records import (CallAssembler, FinishedCall, build_record, iso,
                                      log_summary, record_value, to_api)
from firmware.tracker.stats import NONADDITIVE_COLUMNS, summarize
from firmware.tracker.store import Store, month_of
from firmware.tracker.wrapup import validate_wrapup

logger = logging.getLogger(__name__)

MAX_REASON_LENGTH = 200
WRITER_TIMEOUT = 10.0
LED_TICK = 30.0          # seconds: how often an idle writer re-checks for overdue follow-ups
                         # (the callback LED and the message lamps light for them too)
_STOP = object()


class Tracker:
    def __init__(self, config: Config, data_dir: Path, *, clock: Callable[[], float] = time.time,
                 pin_factory: object = None):
        # `pin_factory` is accepted and ignored: the LEDs left the tracker (hw/indicators.py
        # listens to `published`); callers written before that keep working.
        self._config = config
        self._tz = zoneinfo.ZoneInfo(config.box.timezone)
        self._clock = clock
        self._data_dir = Path(data_dir)
        self._store = Store(Path(data_dir) / "calls")
        self._lock = threading.RLock()
        self._inbox: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._assembler = CallAssembler()
        self._in_progress = CallsInProgress(self._data_dir)     # inflight.py
        self._queue = CallbackQueue()
        self._index = CallIndex(self._tz)
        self._history = TableHistory(self._index.table)
        self._pending: list[tuple[str, Mapping[str, Any]]] = []   # appends that failed
        self._storage_error: str | None = None
        self._repaired: list[str] = []                          # files set aside at start-up
        self._trunks = _initial_trunks(config)
        self._waiting_told: dict | None = None      # the last WAITING_CHANGED published
        self._trunks_told: dict | None = None       # the last TRUNKS_CHANGED published
        # Contacts have their own store and writer lock (contact_store.py): an import of
        # 10,000 rows must not hold up the recording of calls.
        self.contacts = ContactStore(Path(data_dir) / "contacts", clock=clock)
        self.contacts.on_change = self._contact_changed
        self._listeners: list[Callable[[str, dict], None]] = []
        self.published = Publisher()    # listeners: tracker.published.listen(fn); publish.py
        self._published_queue: list[dict] | None = None
        # Fields other parts add to every /api/calls entry (recordings: `recording`): each is
        # called with the call dict, outside the lock, and must be quick (a dict look-up).
        self.call_extras: list[Callable[[dict], None]] = []

    # -- life ---------------------------------------------------------------------------

    def start(self) -> None:
        """Open the store, load the history, tell listeners the queue's and trunks' state
        (the LEDs light from start-up), start the writer thread."""
        with self._lock:
            if self._thread is not None:
                return
            if self._stopped:
                raise RuntimeError("a stopped Tracker cannot be started again")
            # callers' regions: a small table of names, never phonenumbers' geocoder
            regions.use(regions.load_names(self._config.box.country, self._data_dir))
            try:
                fixed_mmap_threshold()
                with no_cyclic_gc():
                    self._index.loading()
                    try:
                        loaded = self._store.open_months(self._index.compact,
                                                         self._take_month)
                    finally:
                        self._index.loaded()
                    self._rebuild(loaded.dismissals)
                    self._index.table.pool.compact()
                for call in self._in_progress.recover(self._config):
                    try:
                        self._record(call)
                    except Exception:          # one odd call must not keep the box down
                        logger.exception("call %s in progress: not recorded", call.call_id)
                self._in_progress.open(empty=not self._pending)
                release_free_memory()
                self.contacts.open()
            except BaseException:
                self._store.close()            # release the folder lock for the next try
                self._in_progress.close(calls_open=True)
                self.contacts.close()
                raise
            self._repaired = list(loaded.damaged_files)
            self._publish_state()
            self._thread = threading.Thread(target=self._run, name="tracker-writer", daemon=True)
            self._thread.start()
        logger.info("tracker started: %d calls, %d to call back", len(self._index),
                    len(self._queue))

    def stop(self) -> None:
        """Drain what was submitted, then close the store; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            thread = self._thread
        if thread is not None:
            self._inbox.put(_STOP)
            thread.join()
        with self._lock:
            self._retry_pending()
            if self._pending:
                logger.error("%d call records could not be written and are lost",
                             len(self._pending))
            self._store.close()
            self._in_progress.close(calls_open=len(self._assembler) > 0)
            self.contacts.close()
        logger.info("tracker stopped")

    def __enter__(self) -> "Tracker":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- the writer thread ----------------------------------------------------------------

    def submit(self, event: CallEvent) -> None:
        """Queue a call event for the writer thread (what the EventBus calls); never blocks."""
        if self._stopped:
            logger.warning("tracker stopped; call event dropped: %s", event)
            return
        self._inbox.put((self._on_event, (event,), None))

    def flush(self, timeout: float = 5.0) -> None:
        """Block until everything submitted so far is processed and durable.

        Raises StoreError when records are still waiting for the disk (they stay queued for
        another try), TimeoutError when the writer did not get there within `timeout`.
        """
        if self._thread is None or not self._thread.is_alive():
            return
        self._through_writer(self._flush, timeout=timeout)

    def _flush(self) -> None:
        self._retry_pending()
        if self._pending:
            raise StoreError(f"{len(self._pending)} call records not yet written: "
                             f"{self._storage_error}")

    def _through_writer(self, func: Callable, *args: Any, timeout: float = WRITER_TIMEOUT) -> Any:
        if self._thread is None or self._stopped:
            raise RuntimeError("the tracker is not running")
        future: Future = Future()
        self._inbox.put((func, args, future))
        return future.result(timeout)

    def _run(self) -> None:
        while True:
            try:
                item = self._inbox.get(timeout=LED_TICK)
            except queue.Empty:              # idle: a follow-up may have fallen due
                with self._lock:
                    self._show_waiting()
                continue
            if item is _STOP:
                return
            func, args, future = item
            try:
                with self._lock:
                    result = func(*args)
            except Exception as exc:  # the writer must outlive one bad item; it is reported
                if future is None:
                    logger.exception("tracker failed on %s", args)
                else:
                    future.set_exception(exc)
            else:
                if future is not None:
                    future.set_result(result)

    def _contact_changed(self, contact: dict) -> None:
        """A contact changed (a web thread): told to the listeners from the writer thread,
        like every other change (integrations have one writer of their outbox)."""
        if self._listeners and not self._stopped:
            self._inbox.put((self._publish, ("contact.changed", contact), None))

    def _on_event(self, event: CallEvent) -> None:
        if not isinstance(event, CallEnded):
            self._in_progress.note(event)
        finished = self._assembler.feed(event, self._config)
        if finished is None:
            return
        self._record(finished)
        self._in_progress.note(event)        # after the record is durable (inflight.py)
        if not self._assembler:
            self._in_progress.idle()

    def _record(self, finished: FinishedCall) -> None:
        record = self._index.compact(build_record(
            finished, self._index.new_id(finished.offered_at), self._config, self._history))
        record.callback = self._queue.apply(record)     # set before the index holds it
        self._write(month_of(record.offered_at), record)
        self._index.add(record)
        self._history.add(record, self._config.tracking.target_call_seconds)
        self._show_waiting()
        # The one INFO line of a finished call (the call events themselves are logged at DEBUG)
        logger.info("call %s recorded: %s", record.id, log_summary(record))
        if self._listeners:
            call = to_api(record, self._tz)
            self._publish("call.ended", call)
            if record.status == "missed":
                self._publish("call.missed", call)
            if record.callback:
                self._publish("callback.cleared", call)
        if self.published:
            doc = record.to_doc()
            self.published.publish(CALL_RECORDED, doc)
            if record.status == "missed":
                self.published.publish(CALL_MISSED, doc)
            self._publish_queue()

    def _write(self, month: str, doc: Mapping[str, Any]) -> None:
        """Append durably; a call record that cannot be written is kept for a retry."""
        self._retry_pending()
        if self._pending:
            self._pending.append((month, doc))
            return
        try:
            self._store.append(month, doc)
        except StoreError as exc:
            logger.error("call store: %s; will retry", exc)
            self._storage_error = str(exc)
            self._pending.append((month, doc))

    def _retry_pending(self) -> None:
        while self._pending:
            month, doc = self._pending[0]
            try:
                self._store.append(month, doc)
            except StoreError as exc:
                self._storage_error = str(exc)
                return
            self._pending.pop(0)
            if not self._pending:
                logger.info("call store writable again")
                self._storage_error = None

    def _take_month(self, records: list) -> None:
        """One month's records at start-up, into the index in (start, id) order."""
        records.sort(key=lambda r: (r.offered_at, r.id))
        self._index.extend(records)

    def _rebuild(self, dismissals: list[dict[str, Any]]) -> None:
        """Number history and callback queue from the indexed records and the dismissals:
        a fold in the order calls ended, each record made only for its turn."""
        table = self._index.table
        ended = table.floats["ended_at"]
        rows = rows_by_end(table.starts, ended)
        marks = sorted(range(len(dismissals)), key=lambda n: dismissals[n]["at"])
        target_seconds = self._config.tracking.target_call_seconds
        next_mark = 0
        for row in rows:
            while next_mark < len(marks) and dismissals[marks[next_mark]]["at"] < ended[row]:
                self._dismiss_loaded(dismissals[marks[next_mark]])
                next_mark += 1
            self._history.add_row(row, target_seconds)
            if self._may_touch_queue(row):
                self._queue.apply(table.record(row))
        for mark in marks[next_mark:]:
            self._dismiss_loaded(dismissals[mark])

    def _may_touch_queue(self, row: int) -> bool:
        """Whether the call of `row` can change the callback queue (a missed call on a
        campaign, or a call with a number waiting in it): the others need no record."""
        table = self._index.table
        codes, values = table.codes, table.pool.values
        direction = values[codes["direction"][row]]
        if direction == "inbound":
            if values[codes["status"][row]] == "missed" and values[codes["campaign"][row]]:
                return True
            party = values[codes["caller"][row]]
        elif direction == "outbound":
            party = values[codes["callee"][row]]
        else:
            return False
        return party.__class__ is str and party in self._queue

    def _dismiss_loaded(self, item: dict[str, Any]) -> None:
        if item["number"] in self._queue:
            self._queue.dismiss(item["number"], item.get("reason", ""), item.get("by", ""),
                                item["at"])

    # -- reading --------------------------------------------------------------------------

    def calls(self, filter: CallFilter, *, limit: int | None = None) -> list[dict]:
        """Calls matching the filter, newest first, in the /api/calls shape."""
        low, high = day_bounds(filter.start, filter.end, self._tz)
        with self._lock:
            part = self._index.snapshot(low, high)
        # Rendered outside the lock, from a copy of the period's rows (listing.py).
        return [self._with_contact(call)
                for call in api_calls(part, filter, self._tz, limit)]

    def call_view(self, start: date | None, end: date | None) -> CallView:
        """The calls of local days start..end (None: open) as columns for the reports
        (callview.py): what `calls` lists, without a dict or ISO text per call."""
        low, high = day_bounds(start, end, self._tz)
        with self._lock:
            return self._index.view(low, high)

    def call(self, call_id: str) -> dict | None:
        with self._lock:
            record = self._index.get(call_id)
            return self._with_contact(to_api(record, self._tz)) if record else None

    def summary(self, start: date, end: date) -> dict:
        """The /api/summary figures for local days start..end (inclusive)."""
        if start > end:
            raise BadInput("from", "must not be after 'to'")
        before = start - timedelta(days=(end - start).days + 1)     # for `previous`
        low, high = day_bounds(before, end, self._tz)
        within = self._config.tracking.answer_within_seconds
        with self._lock:
            # what adds up over days is kept per day (dayparts.py); only the rest is cut
            parts = self._index.day_parts(low, high, within)
            columns = self._index.stats_between(low, high, NONADDITIVE_COLUMNS)
            waiting = len(self._queue)
            # The dict is only ever written by the writer thread under this lock; figures
            # read it after the lock is let go, so take a snapshot of the numbers needed.
            answered_at = self._answered_at(columns)
        figures = summarize(columns, start, end, waiting, answer_within_seconds=within,
                            answered_at=answered_at, parts=parts,
                            too_long_factor=self._config.tracking.too_long_factor)
        figures["currency"] = self._config.box.currency
        return figures

    def campaigns(self, start: date, end: date) -> list[dict]:
        """The /api/campaigns entries for local days start..end (inclusive)."""
        if start > end:
            raise BadInput("from", "must not be after 'to'")
        low, high = day_bounds(start, end, self._tz)
        with self._lock:
            columns = self._index.stats_between(low, high)
        return campaign_figures(columns, self._config.campaigns, start, end)

    def _answered_at(self, columns: Mapping[str, list]) -> dict[str, float]:
        """The latest answered call's start for each number missed among `columns`."""
        return self._history.answered_for(set(compress(columns["caller"], columns["missed"])))

    def callbacks(self) -> list[dict]:
        """The callback queue, longest-waiting first, in the /api/callbacks shape."""
        with self._lock:
            return [self._render_entry(e) for e in self._queue.entries()]

    def queue_size(self) -> int:
        with self._lock:
            return len(self._queue)

    def recovered_callbacks(self) -> list[dict]:
        """Cleared and dismissed queue entries (when, by whom, how), oldest first."""
        with self._lock:
            closed = self._queue.closed            # new dicts, ours to change
        many = iso_formatter(self._tz).many       # a year's entries: times made in one go
        for key in ("first_missed_at", "last_missed_at", "cleared_at"):
            stamps = [entry[key] for entry in closed]
            if None in stamps:                     # never in a sound journal
                texts = [iso(stamp, self._tz) for stamp in stamps]
            else:
                texts = many(stamps)
            for entry, text in zip(closed, texts):
                entry[key] = text
        return closed

    def callback_entries(self) -> list[dict]:
        """Every callback queue entry, closed (as `recovered_callbacks`) and waiting, with
        their times as epoch seconds, for the recovery report (reports.recovery with
        `day_of=self.local_day`): no ISO text made for entries nobody reads one by one."""
        with self._lock:
            closed = self._queue.closed
            waiting = [{"number": e.number, "campaign": e.campaign,
                        "missed_calls": e.missed_calls, "first_missed_at": e.first_missed_at,
                        "last_missed_at": e.last_missed_at, "attempts": e.attempts,
                        "last_attempt_at": e.last_attempt_at}
                       for e in self._queue.waiting()]
        return closed + waiting

    def local_day(self, ts: float) -> int:
        """The local date (an ordinal) of epoch seconds `ts` in the box's time zone."""
        return iso_formatter(self._tz).day_hour(ts)[0]

    def storage_state(self) -> str:
        """"ok", or why writes are failing right now (the "storage" of /healthz)."""
        with self._lock:
            return "ok" if self._storage_error is None else f"error: {self._storage_error}"

    storage_status = storage_state

    def repaired_files(self) -> list[str]:
        """Journal files found damaged at start-up (set aside, good lines kept; see the log)."""
        with self._lock:
            return list(self._repaired)

    def _render_entry(self, entry: Entry) -> dict:
        fmt = iso_formatter(self._tz)
        return {"number": entry.number, "missed_calls": entry.missed_calls,
                "first_missed_at": fmt(entry.first_missed_at),
                "last_missed_at": fmt(entry.last_missed_at),
                "campaign": entry.campaign, "attempts": entry.attempts,
                "last_attempt_at": fmt(entry.last_attempt_at),
                "contact": self.contacts.contact_for(entry.number)}

    def contact_name(self, number: str) -> str | None:
        """The contact name of an E.164 number, or None: for the desk phones' display name.
        One dict look-up, no lock, no disk: safe to call from the event loop."""
        return self.contacts.contact_name(number)

    def first_call_at(self, numbers: list[str]) -> float | None:
        """When the first inbound call from any of `numbers` started (epoch), else None."""
        with self._lock:
            starts = [self._history.first_call(n) for n in numbers]
        return min((s for s in starts if s is not None), default=None)

    def _with_contact(self, call: dict) -> dict:
        """A call in the /api/calls shape with `contact` ({id, name} or None) added: the
        contact owning the caller's number, else the callee's."""
        call["contact"] = self.contacts.contact_for(call["caller"]) or \
            self.contacts.contact_for(call["callee"])
        for extra in self.call_extras:
            extra(call)
        return call

    # -- changes from the panel -----------------------------------------------------------

    def wrapup(self, call_id: str, fields: dict) -> dict:
        """Merge a wrap-up into a call; BadInput on bad fields, KeyError for an unknown call."""
        clean = validate_wrapup(fields, self._config)
        return self._through_writer(self._apply_wrapup, call_id, clean)

    def _apply_wrapup(self, call_id: str, clean: dict[str, Any]) -> dict:
        record = self._index.get(call_id)
        if record is None:
            raise KeyError(call_id)
        wrapup = {**(record["wrapup"] or {}), **clean, "at": self._clock()}
        fields: dict[str, Any] = {"wrapup": wrapup}
        if "answered_by" in clean:
            fields["answered_by"] = clean["answered_by"]
        fields["value"] = record_value({**record, **fields})
        self._store.append(month_of(record["offered_at"]),
                           {"op": "update", "id": call_id, "fields": fields})
        updated = self._index.update(call_id, fields)
        if self.published:
            self.published.publish(WRAPUP_SAVED, updated.to_doc())
        call = self._with_contact(to_api(updated, self._tz))
        self._publish("wrapup.saved", call)
        return call

    def dismiss_callback(self, number: str, reason: str, by: str) -> None:
        """Take a number off the queue (spam, wrong number); KeyError when it is not queued."""
        e164 = normalise_number(number, self._config.box.country) if isinstance(number, str) \
            else None
        if e164 is None:
            raise BadInput("number", "not a phone number")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_LENGTH:
            raise BadInput("reason", f"must be text of 1 to {MAX_REASON_LENGTH} characters")
        if not isinstance(by, str) or len(by) > MAX_REASON_LENGTH:
            raise BadInput("by", "must be a user name")
        self._through_writer(self._apply_dismiss, e164, reason.strip(), by)

    def _apply_dismiss(self, number: str, reason: str, by: str) -> None:
        if number not in self._queue:
            raise KeyError(number)
        at = self._clock()
        self._store.append(month_of(at), {"op": "dismiss", "number": number, "reason": reason,
                                          "by": by, "at": at})
        self._queue.dismiss(number, reason, by, at)
        self._show_waiting()
        self._publish("callback.cleared", {"number": number, "how": "dismissed",
                                           "reason": reason, "by": by, "at": iso(at, self._tz)})
        logger.info("callback %s dismissed by %s: %s", number, by, reason)
        if self.published:
            self._publish_queue()

    def _publish_queue(self) -> None:
        """Tell listeners the callback queue when it differs from what they were told last."""
        queue = self.callbacks()
        if queue != self._published_queue:
            self._published_queue = queue
            self.published.publish(QUEUE_CHANGED, queue)

    # -- listeners (integrations) --------------------------------------------------------

    def subscribe(self, listener: Callable[[str, dict], None]) -> None:
        """Call `listener(event, data)` on the writer thread once a change is durable:
        "call.ended" / "call.missed" / "callback.cleared" (data: the call in the /api/calls
        shape), "wrapup.saved" (the updated call), "callback.cleared" for a dismissal
        (data: number, how, reason, by, at). Listeners must be quick and must not raise."""
        self._listeners.append(listener)

    def _publish(self, event: str, data: dict) -> None:
        for listener in self._listeners:
            try:
                listener(event, data)
            except Exception:  # an integration's bug must not stop the call store
                logger.exception("tracker listener %r failed on %s", listener, event)

    # -- what the lamps show, and config --------------------------------------------------

    def set_trunk_state(self, name: str, up: bool) -> None:
        """A trunk registered (up) or was lost (down): told to listeners (the status LED)."""
        with self._lock:
            self._trunks[name] = bool(up)
            self._publish_trunks()

    def reload_config(self, config: Config) -> None:
        """Use a new config from now on; past records keep what was decided when they ended."""
        with self._lock:
            old, self._config = self._config, config
            if config.box.timezone != old.box.timezone:
                self._tz = zoneinfo.ZoneInfo(config.box.timezone)
                self._index.retime(self._tz)
            trunks = _initial_trunks(config)
            trunks.update({n: up for n, up in self._trunks.items() if n in trunks})
            self._trunks = trunks
            self._publish_state()

    def refresh_callback_led(self) -> None:
        """Re-check what waits now (the writer does so by itself every LED_TICK)."""
        self._through_writer(self._show_waiting)

    def _waiting_now(self) -> dict:
        """What keeps the callback LED lit: `callbacks` (callers in the queue),
        `overdue_follow_ups` (contacts past their next contact) and their sum `waiting`."""
        overdue = self.contacts.overdue(self._clock()) if self.contacts.is_open else 0
        callbacks = len(self._queue)
        return {"waiting": callbacks + overdue, "callbacks": callbacks,
                "overdue_follow_ups": overdue}

    def _show_waiting(self) -> None:
        """Tell listeners (the callback LED, the message lamps) when what waits changed:
        lit while callers wait, or while a follow-up is overdue."""
        waiting = self._waiting_now()
        if waiting != self._waiting_told:
            self._waiting_told = waiting
            self.published.publish(WAITING_CHANGED, dict(waiting))

    def _publish_trunks(self) -> None:
        if self._trunks != self._trunks_told:
            self._trunks_told = dict(self._trunks)
            self.published.publish(TRUNKS_CHANGED, dict(self._trunks))

    def _publish_state(self) -> None:
        self._show_waiting()
        self._publish_trunks()


def _initial_trunks(config: Config) -> dict[str, bool]:
    """Trunks that register are down until they report in; IP-authenticated ones are up."""
    return {t.name: not t.register for t in config.trunks}
