"""The callback queue: pure rules, then through the Tracker (journal, restart, dismissals)."""

from datetime import date

import pytest

import tracker_events as te
from firmware.tracker.callbacks import CallbackQueue
from firmware.tracker.errors import BadInput
from firmware.tracker.query import CallFilter

HOUR = 3600


def fold(cfg, *sequences):
    queue = CallbackQueue()
    infos = [queue.apply(r) for r in te.pure_records(cfg, *sequences)]
    return queue, infos


def test_missed_calls_queue_the_caller(cfg):
    start = te.at(2024, 5, 6, 9)
    queue, _ = fold(cfg, te.inbound(start, talk=None),
                    te.inbound(start + HOUR, talk=None, dialled=te.PAPER),
                    te.inbound(start + 2 * HOUR, te.FIXED, talk=None))
    [fixed, mobile] = sorted(queue.entries(), key=lambda e: e.number)
    assert len(queue) == 2
    assert (mobile.missed_calls, mobile.first_missed_at, mobile.last_missed_at) == (
        2, start, start + HOUR)
    assert mobile.campaign == "Newspaper"      # the latest missed call's campaign
    assert fixed.missed_calls == 1


def test_not_queued_withheld_non_campaign_internal(cfg):
    start = te.at(2024, 5, 6, 9)
    queue, _ = fold(cfg, te.inbound(start, "anonymous", talk=None),
                    te.inbound(start + 60, dialled=te.OTHER, talk=None),
                    te.outbound(start + 120, "102", talk=None))
    assert len(queue) == 0


def test_cleared_by_an_answered_outbound_call(cfg):
    start = te.at(2024, 5, 6, 9)
    queue, infos = fold(cfg, te.inbound(start, talk=None),
                        te.outbound(start + HOUR, ext="102", talk=None),   # attempt 1
                        te.outbound(start + 2 * HOUR, ext="102", talk=120))
    assert len(queue) == 0
    info = infos[-1]
    assert info["how"] == "called_back" and info["cleared_by"] == "102"
    assert info["cleared_at"] == start + 2 * HOUR + 5
    assert info["attempts"] == 1 and info["missed_calls"] == 1
    assert queue.closed == [info]


def test_cleared_by_the_caller_calling_again(cfg):
    start = te.at(2024, 5, 6, 9)
    queue, infos = fold(cfg, te.inbound(start, talk=None),
                        te.inbound(start + HOUR, talk=None, ring=30, reason="ring_timeout"),
                        te.inbound(start + 2 * HOUR, by="102", dialled=te.OTHER))
    assert len(queue) == 0
    assert infos[-1]["how"] == "called_again" and infos[-1]["cleared_by"] == "102"
    assert infos[-1]["missed_calls"] == 2


def test_internal_and_unanswered_calls_do_not_clear(cfg):
    start = te.at(2024, 5, 6, 9)
    queue, _ = fold(cfg, te.inbound(start, talk=None),
                    te.outbound(start + 60, "102", talk=30),
                    te.outbound(start + 120, te.MOBILE, talk=None),
                    te.outbound(start + 180, te.FIXED, talk=30))
    [entry] = queue.entries()
    assert entry.attempts == 1 and entry.last_attempt_at == start + 120


def test_call_answered_before_the_miss_does_not_clear(cfg):
    start = te.at(2024, 5, 6, 9)
    # a long answered call from the number started before its missed call, ended after it
    queue, _ = fold(cfg, te.inbound(start, talk=600),
                    te.inbound(start + 60, talk=None, dialled=te.PAPER))
    assert len(queue) == 1


def test_dismiss(cfg):
    queue, _ = fold(cfg, te.inbound(te.at(2024, 5, 6), talk=None))
    info = queue.dismiss(te.MOBILE, "spam", "owner", 123.0)
    assert len(queue) == 0 and info["reason"] == "spam" and info["how"] == "dismissed"
    with pytest.raises(KeyError):
        queue.dismiss(te.MOBILE, "spam", "owner", 124.0)


# -- through the Tracker --------------------------------------------------------------------

def test_tracker_queue_survives_restart_and_dismissal(make_tracker, cfg, mock_pins):
    start = te.at(2024, 5, 6, 9)
    tracker = make_tracker(clock=lambda: start + 10 * HOUR)
    te.feed(tracker, te.inbound(start, talk=None), te.inbound(start + 60, te.FIXED, talk=None),
            te.inbound(start + 120, te.FIXED, talk=None))
    [fixed, mobile] = sorted(tracker.callbacks(), key=lambda c: c["number"])
    assert fixed == {"number": te.FIXED, "missed_calls": 2,
                     "first_missed_at": "2024-05-06T09:01:00+02:00",
                     "last_missed_at": "2024-05-06T09:02:00+02:00", "campaign": "Shop window",
                     "attempts": 0, "last_attempt_at": None, "contact": None}
    tracker.dismiss_callback("22 111 11 11", "wrong number", "owner")
    assert [c["number"] for c in tracker.callbacks()] == [te.MOBILE]
    tracker.stop()

    again = make_tracker()
    assert [c["number"] for c in again.callbacks()] == [te.MOBILE]
    [closed] = again.recovered_callbacks()
    assert (closed["how"], closed["reason"], closed["cleared_by"]) == (
        "dismissed", "wrong number", "owner")


def test_tracker_dismiss_errors(make_tracker):
    tracker = make_tracker()
    te.feed(tracker, te.inbound(te.at(2024, 5, 6), talk=None))
    with pytest.raises(BadInput) as bad:
        tracker.dismiss_callback("not a number", "spam", "owner")
    assert bad.value.field == "number"
    with pytest.raises(BadInput) as bad:
        tracker.dismiss_callback(te.MOBILE, " ", "owner")
    assert bad.value.field == "reason"
    with pytest.raises(KeyError):
        tracker.dismiss_callback(te.FIXED, "spam", "owner")
    assert tracker.queue_size() == 1


def test_tracker_cleared_by_outbound_then_caller_again(make_tracker):
    start = te.at(2024, 5, 6, 9)
    tracker = make_tracker()
    te.feed(tracker, te.inbound(start, talk=None), te.inbound(start + 30, te.FIXED, talk=None))
    assert tracker.queue_size() == 2
    te.feed(tracker, te.outbound(start + HOUR, te.MOBILE, ext="102"))
    assert [c["number"] for c in tracker.callbacks()] == [te.FIXED]
    te.feed(tracker, te.inbound(start + 2 * HOUR, te.FIXED, dialled=te.PAPER))
    assert tracker.callbacks() == []
    [back] = tracker.calls(CallFilter(number=te.MOBILE, direction="outbound"))
    assert back["callback"]["how"] == "called_back"
    assert back["callback"]["cleared_at"] == "2024-05-06T10:00:05+02:00"
    summary = tracker.summary(date(2024, 5, 6), date(2024, 5, 6))
    assert summary["to_call_back"] == 0 and summary["callbacks_recovered"] == 1

