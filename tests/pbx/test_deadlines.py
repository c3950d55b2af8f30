"""Deadlines: one heap of call timers, cancelled one by one or a whole call at a time."""

from __future__ import annotations

from firmware.pbx.deadlines import Deadlines


def test_due_in_time_order_and_rearm_forgets_the_earlier_time():
    d = Deadlines()
    d.arm(("a", "ring"), 5.0, "r")
    d.arm(("b", "ring"), 3.0)
    d.arm(("a", "ring"), 7.0, "r2")          # re-armed later
    assert d.next_deadline == 3.0
    assert d.due(6.0) == [(("b", "ring"), None)]
    assert d.next_deadline == 7.0
    assert d.due(7.0) == [(("a", "ring"), "r2")]
    assert len(d) == 0 and d.next_deadline is None


def test_cancel_group_drops_every_timer_of_one_call_only():
    d = Deadlines()
    for kind, at in (("ring", 1.0), ("2xx", 2.0), ("forget", 3.0)):
        d.arm(("call-1", kind), at)
    d.arm(("call-2", "ring"), 1.5)
    d.cancel_group("call-1")
    assert len(d) == 1 and ("call-1", "ring") not in d
    assert d.due(10.0) == [(("call-2", "ring"), None)]
    d.cancel_group("call-1")                   # nothing left: no error
    d.arm(("call-1", "forget"), 20.0)          # a group can be armed again after
    assert d.due(20.0) == [(("call-1", "forget"), None)]


def test_a_fired_or_cancelled_key_leaves_its_group():
    d = Deadlines()
    d.arm(("c", "ring"), 1.0)
    d.arm(("c", "2xx"), 2.0)
    assert d.due(1.0) == [(("c", "ring"), None)]
    d.cancel(("c", "2xx"))
    d.arm(("c", "ring"), 5.0)
    d.cancel_group("c")
    assert len(d) == 0 and d.due(100.0) == []


def test_cancel_where_still_works():
    d = Deadlines()
    d.arm(("x", "ring"), 1.0)
    d.arm(("y", "ring"), 1.0)
    d.cancel_where(lambda key: key[0] == "x")
    assert d.due(2.0) == [(("y", "ring"), None)]


def test_cancelled_entries_do_not_pile_up_on_the_heap():
    """An hour-long max-length timer cancelled at every hang-up must not stay for an hour."""
    d = Deadlines()
    for i in range(10_000):
        d.arm((f"call-{i}", "max_length"), 3600.0 + i)
        d.arm((f"call-{i}", "2xx"), 1.0 + i)
        d.arm((f"call-{i}", "2xx"), 1.5 + i)   # re-armed: the first entry is dead
        d.cancel_group(f"call-{i}")
    assert len(d) == 0
    assert len(d._heap) <= 200
    assert d.next_deadline is None
