"""Event sequences for tracker tests: one helper per kind of call, times in the box's zone."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from firmware.config import parse_config
from firmware.pbx import events as ev

WARSAW = ZoneInfo("Europe/Warsaw")
SHOP = "+48221234567"          # campaign "Shop window", source "Outdoor", lead value 300
PAPER = "+48221234568"         # campaign "Newspaper", source "Print", lead value 100
OTHER = "+48221234569"         # a number of the box that is no campaign
MOBILE = "+48501234567"
MOBILE2 = "+48601234567"
FIXED = "+48221111111"

CONFIG_TOML = f"""
[box]
name = "Test"
timezone = "Europe/Warsaw"
country = "PL"

[[trunk]]
name = "provider"
host = "sip.example"
username = "u"
password = "p"

[[extension]]
number = "101"
password = "secret-101"

[[extension]]
number = "102"
password = "secret-102"

[[campaign]]
name = "Shop window"
number = "{SHOP}"
source = "Outdoor"
lead_value = 300
ring = ["101", "102"]

[[campaign]]
name = "Newspaper"
number = "{PAPER}"
source = "Print"
lead_value = 100
ring = ["101"]

[tracking]
ring_timeout_seconds = 30
target_call_seconds = 30
unique_window_days = 30

[hw]
callback_led = 17
status_led = 27
"""

_ids = itertools.count(1)


def config(extra: str = ""):
    return parse_config(CONFIG_TOML + extra)


def at(year, month, day, hour=12, minute=0, second=0, fold=0) -> float:
    """Epoch seconds of a local time in Warsaw."""
    return datetime(year, month, day, hour, minute, second, tzinfo=WARSAW,
                    fold=fold).timestamp()


def inbound(start: float, caller: str = MOBILE, dialled: str = SHOP, *, ring: float = 5,
            talk: float | None = 60, by: str = "101", reason: str | None = None,
            call_id: str | None = None) -> list:
    """An inbound call: answered after `ring` s and talked `talk` s, or missed when talk=None."""
    call_id = call_id or f"in{next(_ids)}"
    events = [ev.CallOffered(call_id, dialled, caller, start, "provider"),
              ev.CallRinging(call_id, "101", start + 0.5),
              ev.CallRinging(call_id, "102", start + 0.6)]
    if talk is None:
        events.append(ev.CallEnded(call_id, reason or ev.CALLER_HANGUP, start + ring))
    else:
        events += [ev.CallAnswered(call_id, by, start + ring),
                   ev.CallEnded(call_id, ev.COMPLETED, start + ring + talk)]
    return events


def outbound(start: float, number: str = MOBILE, *, ext: str = "101", ring: float = 5,
             talk: float | None = 60, call_id: str | None = None) -> list:
    """An extension dials out (or to another extension); answered unless talk=None."""
    call_id = call_id or f"out{next(_ids)}"
    events = [ev.DialledOut(call_id, ext, number, start),
              ev.CallRinging(call_id, "" if number.startswith("+") else number, start + 1)]
    if talk is None:
        events.append(ev.CallEnded(call_id, ev.RING_TIMEOUT, start + ring))
    else:
        events += [ev.CallAnswered(call_id, "" if number.startswith("+") else number,
                                   start + ring),
                   ev.CallEnded(call_id, ev.COMPLETED, start + ring + talk)]
    return events


def feed(tracker, *sequences):
    """Submit event sequences in time order (as the PBX would), then wait until durable."""
    events = sorted((e for seq in sequences for e in seq), key=lambda e: e.at)
    for event in events:
        tracker.submit(event)
    tracker.flush()


def pure_records(config, *sequences) -> list[dict]:
    """Records from event sequences through the pure code only (no threads, no disk)."""
    from firmware.tracker.history import NumberHistory
    from firmware.tracker.records import CallAssembler, build_record

    assembler, history, records = CallAssembler(), NumberHistory(), []
    events = sorted((e for seq in sequences for e in seq), key=lambda e: e.at)
    for event in events:
        finished = assembler.feed(event, config)
        if finished is not None:
            record = build_record(finished, f"id{len(records)}", config, history)
            history.add(record, config.tracking.target_call_seconds)
            records.append(record)
    return records
