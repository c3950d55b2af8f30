"""Calls in progress when the box dies are recorded at the next start (tracker/inflight.py).

The crash is real: a child process runs a Tracker, feeds it the start of a call, says so,
and is SIGKILLed; a new Tracker opens the same folder as the restarted box would.
"""

import os
import signal
import subprocess
import sys
import textwrap

import tracker_events as te
from firmware.pbx import events as ev
from firmware.tracker.inflight import FILE_NAME, CallsInProgress, event_line, parse_line
from firmware.tracker.query import CallFilter

START = te.at(2026, 6, 10, 11, 0)


def killed_mid_call(folder, events) -> None:
    """A box that took `events` (durably handled by its tracker), then was SIGKILLed."""
    lines = ", ".join(f"ev.{e!r}" for e in events)
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import tracker_events as te
        from pathlib import Path
        from firmware.pbx import events as ev
        from firmware.tracker.service import Tracker
        tracker = Tracker(te.config(), Path({str(folder)!r}))
        tracker.start()
        for event in [{lines}]:
            tracker.submit(event)
        tracker.flush()
        print("taken", flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             text=True, cwd=os.getcwd())
    try:
        assert child.stdout.readline().strip() == "taken"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()


def test_a_caller_ringing_when_the_box_died_waits_in_the_callback_queue(tmp_path,
                                                                       make_tracker):
    offered = ev.CallOffered("c1", te.SHOP, te.MOBILE, START, "provider")
    killed_mid_call(tmp_path, [offered, ev.CallRinging("c1", "101", START + 0.5),
                               ev.CallRinging("c1", "102", START + 0.6)])
    tracker = make_tracker()
    calls = tracker.calls(CallFilter())
    assert len(calls) == 1
    call = calls[0]
    assert call["status"] == "missed" and call["missed_reason"] == "failed"
    assert call["caller"] == te.MOBILE and call["campaign"] == "Shop window"
    assert [c["number"] for c in tracker.callbacks()] == [te.MOBILE]
    assert call["wait_seconds"] == 0.6     # what the file knew last: the second phone rang


def test_an_answered_call_cut_by_the_crash_keeps_who_answered(tmp_path, make_tracker):
    killed_mid_call(tmp_path, [ev.CallOffered("c1", te.SHOP, te.MOBILE, START, "provider"),
                               ev.CallRinging("c1", "101", START + 1),
                               ev.CallAnswered("c1", "101", START + 4),
                               ev.CallTransferred("c1", "102", START + 30)])
    tracker = make_tracker()
    [call] = tracker.calls(CallFilter())
    assert call["status"] == "answered"
    assert call["answered_by"] == "101" and call["handled_by"] == ["101", "102"]
    assert call["talk_seconds"] == 26.0     # up to the transfer, the last thing it knew
    assert tracker.callbacks() == []


def test_finished_calls_are_not_recorded_twice_and_the_file_is_emptied(tmp_path,
                                                                      make_tracker):
    finished = te.inbound(START, talk=None)
    open_call = [ev.CallOffered("c9", te.PAPER, te.MOBILE2, START + 100, "provider")]
    killed_mid_call(tmp_path, finished + open_call)
    tracker = make_tracker()
    calls = tracker.calls(CallFilter())
    assert sorted(c["caller"] for c in calls) == sorted([te.MOBILE, te.MOBILE2])
    assert (tmp_path / FILE_NAME).stat().st_size == 0
    tracker.stop()
    again = make_tracker()                       # a clean stop, a start: nothing new
    assert len(again.calls(CallFilter())) == 2


def test_a_clean_stop_with_a_call_still_open_records_it_at_the_next_start(tmp_path,
                                                                          make_tracker):
    tracker = make_tracker()
    te.feed(tracker, [ev.CallOffered("c1", te.SHOP, te.MOBILE, START, "provider")])
    tracker.stop()
    assert tracker.calls(CallFilter()) == []
    again = make_tracker()
    assert [c["caller"] for c in again.calls(CallFilter())] == [te.MOBILE]


def test_a_torn_line_is_skipped_and_the_rest_recovered(tmp_path, cfg):
    path = tmp_path / FILE_NAME
    path.write_bytes(event_line(ev.CallOffered("c1", te.SHOP, te.MOBILE, START)) +
                     b"not json\n" + b'{"event":"CallRinging","call_id":"c1"}\n' +
                     event_line(ev.CallOffered("c2", te.SHOP, te.MOBILE2, START + 9))[:30])
    calls = CallsInProgress(tmp_path).recover(cfg)
    assert [(c.call_id, c.end_reason, c.ended_at) for c in calls] == \
        [("c1", ev.FAILED, START)]


def test_every_event_survives_its_line():
    for event in (ev.CallOffered("a", "+1", "+2", 1.5, "t"), ev.DialledOut("b", "101", "+3", 2),
                  ev.CallRinging("a", "", 3.0), ev.CallAnswered("a", "101", 4.0),
                  ev.CallTransferred("a", "102", 5.0), ev.CallEnded("a", ev.COMPLETED, 6.0)):
        assert parse_line(event_line(event)) == event


def test_a_call_forgotten_long_ago_ends_at_most_max_call_minutes_after_its_last_event(
        tmp_path, cfg):
    path = tmp_path / FILE_NAME
    path.write_bytes(event_line(ev.CallOffered("old", te.SHOP, te.MOBILE, START)) +
                     event_line(ev.CallAnswered("old", "101", START + 5)) +
                     event_line(ev.CallOffered("new", te.SHOP, te.MOBILE2, START + 6 * 3600)))
    ended = {c.call_id: c.ended_at for c in CallsInProgress(tmp_path).recover(cfg)}
    assert ended == {"old": START + 5 + cfg.sip.max_call_minutes * 60, "new": START + 6 * 3600}


def test_junk_in_the_file_never_keeps_the_tracker_from_starting(tmp_path, make_tracker):
    (tmp_path / FILE_NAME).write_bytes(
        b'{"event":"CallOffered","call_id":"j1","dialled":5,"caller":null,"at":1.0}\n'
        b'{"event":"CallOffered","call_id":"j2","dialled":"+4822","caller":"x","at":true}\n'
        b'{"event":"Nope","call_id":"j3","at":1.0}\n[1, 2]\n\xff\xfe\n' +
        event_line(ev.CallOffered("c1", te.SHOP, te.MOBILE, START)))
    tracker = make_tracker()
    assert [c["caller"] for c in tracker.calls(CallFilter())] == [te.MOBILE]
