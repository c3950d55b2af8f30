"""Parsing /api/calls filters and /api/summary periods: values or BadInput naming the field."""

from datetime import date

import pytest

import tracker_events as te
from firmware.tracker.errors import BadInput
from firmware.tracker.query import CallFilter, day_bounds, parse_call_filter, parse_period


def test_empty_args_mean_any(cfg):
    assert parse_call_filter({}, cfg) == CallFilter()
    assert parse_call_filter({"from": "", "status": " ", "campaign": ""}, cfg) == CallFilter()


def test_all_fields(cfg):
    flt = parse_call_filter({"from": "2024-05-01", "to": "2024-05-31", "campaign": "Shop window",
                             "source": "Outdoor", "status": "missed", "extension": "101",
                             "number": "501 234 567", "direction": "inbound",
                             "page": "2"}, cfg)
    assert flt == CallFilter(date(2024, 5, 1), date(2024, 5, 31), "Shop window", "Outdoor",
                             "missed", "101", te.MOBILE, "inbound")


@pytest.mark.parametrize("args, field", [
    ({"from": "2024-13-01"}, "from"),
    ({"from": "01.05.2024"}, "from"),
    ({"to": "2024-5-1"}, "to"),
    ({"from": "2024-05-02", "to": "2024-05-01"}, "from"),
    ({"status": "lost"}, "status"),
    ({"direction": "sideways"}, "direction"),
    ({"extension": "reception"}, "extension"),
    ({"number": "hello"}, "number"),
    ({"campaign": "x" * 101}, "campaign"),
    ({"source": ["a"]}, "source"),
])
def test_bad_filters(cfg, args, field):
    with pytest.raises(BadInput) as bad:
        parse_call_filter(args, cfg)
    assert bad.value.field == field and bad.value.message


def test_period_defaults_to_last_seven_days(cfg):
    now = te.at(2024, 5, 7, 0, 30)           # still 6 May in UTC
    assert parse_period({}, cfg, now=now) == (date(2024, 5, 1), date(2024, 5, 7))
    assert parse_period({}, cfg, 30, now=now) == (date(2024, 4, 8), date(2024, 5, 7))
    assert parse_period({"to": "2024-01-10"}, cfg, now=now) == (date(2024, 1, 4),
                                                                date(2024, 1, 10))
    assert parse_period({"from": "2024-05-05"}, cfg, now=now) == (date(2024, 5, 5),
                                                                  date(2024, 5, 7))


@pytest.mark.parametrize("args, field", [
    ({"from": "yesterday"}, "from"),
    ({"from": "2024-05-08", "to": "2024-05-01"}, "from"),
    ({"from": "2000-01-01", "to": "2024-01-01"}, "from"),
    ({"to": "2024-02-30"}, "to"),
])
def test_bad_periods(cfg, args, field):
    with pytest.raises(BadInput) as bad:
        parse_period(args, cfg)
    assert bad.value.field == field


def test_day_bounds_follow_dst():
    low, high = day_bounds(date(2024, 3, 31), date(2024, 3, 31), te.WARSAW)
    assert high - low == 23 * 3600
    low, high = day_bounds(date(2024, 10, 27), date(2024, 10, 27), te.WARSAW)
    assert high - low == 25 * 3600


def test_filters_on_the_tracker(make_tracker):
    start = te.at(2024, 5, 6, 9)
    tracker = make_tracker()
    te.feed(tracker,
            te.inbound(start, by="101"),
            te.inbound(start + 60, te.FIXED, dialled=te.PAPER, talk=None),
            te.outbound(start + 120, te.FIXED, ext="102"),
            te.outbound(start + 180, "101", ext="102", talk=None),
            te.inbound(te.at(2024, 5, 8, 9), te.MOBILE2, by="102"))

    def ids(**kwargs):
        return [c["caller"] + ">" + c["callee"] for c in tracker.calls(CallFilter(**kwargs))]

    assert len(ids()) == 5
    assert ids(start=date(2024, 5, 7)) == [te.MOBILE2 + ">" + te.SHOP]
    assert ids(end=date(2024, 5, 6))[0] == "102>101"                 # newest first
    assert ids(status="missed") == [te.FIXED + ">" + te.PAPER]
    assert ids(status="unanswered") == ["102>101"]
    assert ids(direction="internal") == ["102>101"]
    assert ids(campaign="Newspaper") == ids(source="Print") == [te.FIXED + ">" + te.PAPER]
    assert ids(number=te.FIXED) == ["102>" + te.FIXED, te.FIXED + ">" + te.PAPER]
    assert ids(extension="102", direction="outbound") == ["102>" + te.FIXED]
    assert len(ids(extension="101")) == 4     # answered, rang on, called by 102, internal callee
    assert len(tracker.calls(CallFilter(), limit=2)) == 2
