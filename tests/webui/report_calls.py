"""Two weeks of plausible office calls for the report pages: fed through the real Tracker.

Inbound calls on both campaigns ring their extensions; some are missed and called back later
(or call again), some are wrapped up with a category, rating, tags and sometimes a value.
Deterministic for a given `now` (a seeded random generator).
"""

from __future__ import annotations

import itertools
import random
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import webui_helpers as h
from firmware.pbx import events as ev
from firmware.tracker.query import CallFilter

WARSAW = ZoneInfo("Europe/Warsaw")
CALLERS = [f"+4850{n:07d}" for n in range(1200, 1240)] + [f"+4822{n:07d}" for n in range(10)]
CATEGORIES = ["Sale", "Question", "Booking", "Complaint", "Other"]
_ids = itertools.count(1)


def _inbound(at: float, caller: str, dialled: str, rang: list[str], *, answer_by: str | None,
             ring: float, talk: float) -> list:
    call_id = f"r{next(_ids)}"
    events = [ev.CallOffered(call_id, dialled, caller, at, "provider")]
    events += [ev.CallRinging(call_id, ext, at + 0.5) for ext in rang]
    if answer_by is None:
        return events + [ev.CallEnded(call_id, ev.CALLER_HANGUP, at + ring)]
    return events + [ev.CallAnswered(call_id, answer_by, at + ring),
                     ev.CallEnded(call_id, ev.COMPLETED, at + ring + talk)]


def _outbound(at: float, ext: str, number: str, *, talk: float | None) -> list:
    call_id = f"r{next(_ids)}"
    events = [ev.DialledOut(call_id, ext, number, at), ev.CallRinging(call_id, "", at + 1)]
    if talk is None:
        return events + [ev.CallEnded(call_id, ev.RING_TIMEOUT, at + 25)]
    return events + [ev.CallAnswered(call_id, "", at + 8),
                     ev.CallEnded(call_id, ev.COMPLETED, at + 8 + talk)]


def events_for(now: float, days: int = 14, seed: int = 7) -> list:
    rng = random.Random(seed)
    today = datetime.fromtimestamp(now, WARSAW).date()
    sequences = []
    for back in range(days, -1, -1):
        day = today - timedelta(days=back)
        weekend = day.weekday() >= 5
        for _ in range(rng.randint(2, 4) if weekend else rng.randint(10, 16)):
            hour = rng.choice([8, 9, 9, 10, 10, 10, 11, 11, 12, 13, 14, 14, 15, 16, 17])
            start = datetime(day.year, day.month, day.day, hour, rng.randrange(60),
                             rng.randrange(60), tzinfo=WARSAW).timestamp()
            if start > now - 3600:
                continue
            shop = rng.random() < 0.6
            dialled, rang = (h.SHOP, ["101", "102"]) if shop else (h.PAPER, ["101"])
            caller = rng.choice(CALLERS)
            answered = rng.random() < 0.78
            by = rng.choice(rang) if answered else None
            talk = rng.choice([rng.uniform(3, 9), rng.uniform(40, 300), rng.uniform(60, 500),
                               rng.uniform(700, 1400) if rng.random() < 0.3 else 120.0])
            sequences.append(_inbound(start, caller, dialled, rang, answer_by=by,
                                      ring=rng.uniform(3, 20), talk=talk))
            if not answered and rng.random() < 0.75:
                later = start + rng.choice([300, 900, 2400, 5400, 20000, 90000])
                if later < now - 60:
                    sequences.append(_outbound(later, rng.choice(rang), caller,
                                               talk=rng.uniform(30, 240)))
        for _ in range(0 if weekend else rng.randint(1, 3)):
            start = datetime(day.year, day.month, day.day, rng.randint(9, 16),
                             rng.randrange(60), tzinfo=WARSAW).timestamp()
            if start < now - 3600:
                sequences.append(_outbound(start, rng.choice(["101", "102"]),
                                           rng.choice(CALLERS), talk=rng.uniform(20, 400)))
    # One caller nobody has called back yet, whatever the time of day: with 50 callers over
    # two weeks every other missed caller may have been reached by `now`, and the "not
    # called back" report would then have nothing to show.
    sequences.append(_inbound(now - 7200, "+48509999999", h.SHOP, ["101", "102"],
                              answer_by=None, ring=12, talk=0))
    return sorted((e for seq in sequences for e in seq), key=lambda e: e.at)


def seed_history(tracker, now: float | None = None, days: int = 14) -> None:
    """Feed two weeks of calls, then wrap up about two in three answered inbound calls."""
    now = now or time.time()
    for event in events_for(now, days):
        tracker.submit(event)
    tracker.flush()
    rng = random.Random(11)
    for call in tracker.calls(CallFilter()):
        if call["direction"] != "inbound" or call["status"] != "answered" or rng.random() > 0.66:
            continue
        fields = {"category": rng.choice(CATEGORIES), "rating": rng.randint(2, 5),
                  "tags": rng.sample(["price", "parking", "group", "vip", "repeat"], 2)}
        if rng.random() < 0.2:
            fields["value"] = float(rng.choice([500, 800, 1200]))
        tracker.wrapup(call["id"], fields)
