"""Summary figures: pure over stat rows, and the Tracker's /api/summary (midnight, DST)."""

import dataclasses
from datetime import date

import pytest

import tracker_events as te
from firmware.tracker.errors import BadInput
from firmware.tracker.query import CallFilter
from firmware.tracker.stats import StatColumns, columns_of, stat_row, summarize

SUMMARY_KEYS = {"answered", "missed", "to_call_back", "avg_wait_seconds", "target_calls",
                "first_time_callers", "top_campaigns", "top_sources", "calls_by_hour",
                "value_over_time", "caller_line_types"}


def rows(cfg, *sequences):
    return columns_of(te.pure_records(cfg, *sequences), te.WARSAW)


def test_figures(cfg):
    d = te.at(2024, 5, 6, 9)
    figures = summarize(rows(
        cfg,
        te.inbound(d, ring=4, talk=120),                              # Shop, answered, 300
        te.inbound(d + 3600, te.FIXED, ring=10, talk=None),           # Shop, missed
        te.inbound(d + 7200, te.MOBILE2, dialled=te.PAPER, ring=6),   # Paper, answered, 100
        te.inbound(d + 7300, te.FIXED, dialled=te.OTHER),             # not a campaign
        te.outbound(d + 8000, te.FIXED),                              # outbound: not counted
    ), date(2024, 5, 6), date(2024, 5, 6), to_call_back=1)
    assert SUMMARY_KEYS <= set(figures)
    assert (figures["answered"], figures["missed"], figures["to_call_back"]) == (2, 1, 1)
    assert figures["avg_wait_seconds"] == round((4 + 10 + 6) / 3, 1)
    assert figures["target_calls"] == 2 and figures["first_time_callers"] == 3
    assert figures["top_campaigns"] == [{"name": "Shop window", "calls": 2, "value": 300},
                                        {"name": "Newspaper", "calls": 1, "value": 100}]
    assert figures["top_sources"] == [{"name": "Outdoor", "calls": 2, "value": 300},
                                      {"name": "Print", "calls": 1, "value": 100}]
    assert figures["calls_by_hour"][9:12] == [1, 1, 1] and sum(figures["calls_by_hour"]) == 3
    assert figures["value_over_time"] == [{"date": "2024-05-06", "value": 400}]
    assert figures["caller_line_types"] == {"mobile": 2, "fixed_line": 1}


def test_empty_period_has_zero_days(cfg):
    figures = summarize(StatColumns().columns, date(2024, 2, 27), date(2024, 3, 1), to_call_back=0)
    assert [d["date"] for d in figures["value_over_time"]] == [
        "2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"]
    assert figures["calls_by_hour"] == [0] * 24
    assert figures["avg_wait_seconds"] == 0 and figures["top_campaigns"] == []


def test_top_lists_are_capped_and_ordered(cfg):
    extra = "".join(f"""
[[campaign]]
name = "C{n}"
number = "+4822123450{n}"
source = "S{n}"
lead_value = {n}
""" for n in range(7))
    config = te.config(extra)
    start = te.at(2024, 5, 6, 8)
    seqs = [te.inbound(start + 600 * (n * 10 + k), f"+4850123{n}{k}00",
                       dialled=f"+4822123450{n}")
            for n in range(7) for k in range(n + 1)]
    figures = summarize(rows(config, *seqs), date(2024, 5, 6), date(2024, 5, 6), 0)
    assert [c["name"] for c in figures["top_campaigns"]] == ["C6", "C5", "C4", "C3", "C2"]
    assert figures["top_campaigns"][0] == {"name": "C6", "calls": 7, "value": 42}


def test_call_across_midnight_counts_on_its_start_day(make_tracker):
    tracker = make_tracker()
    te.feed(tracker, te.inbound(te.at(2024, 5, 6, 23, 59, 50), ring=20, talk=300))
    day1 = tracker.summary(date(2024, 5, 6), date(2024, 5, 6))
    day2 = tracker.summary(date(2024, 5, 7), date(2024, 5, 7))
    assert day1["answered"] == 1 and day1["calls_by_hour"][23] == 1
    assert day2["answered"] == 0
    assert [c["started_at"] for c in tracker.calls(CallFilter(start=date(2024, 5, 6),
                                                           end=date(2024, 5, 6)))] == [
        "2024-05-06T23:59:50+02:00"]
    assert tracker.calls(CallFilter(start=date(2024, 5, 7))) == []


def test_dst_spring_forward_in_warsaw(make_tracker):
    tracker = make_tracker()
    te.feed(tracker,
            te.inbound(te.at(2024, 3, 30, 23, 30)),          # the day before
            te.inbound(te.at(2024, 3, 31, 0, 30), te.FIXED),
            te.inbound(te.at(2024, 3, 31, 1, 59), te.MOBILE2),
            te.inbound(te.at(2024, 3, 31, 3, 0), "+48601111111"),   # one second later in UTC
            te.inbound(te.at(2024, 3, 31, 23, 59), "+48601222222"))
    figures = tracker.summary(date(2024, 3, 31), date(2024, 3, 31))
    assert figures["answered"] == 4
    hours = figures["calls_by_hour"]
    assert (hours[0], hours[1], hours[2], hours[3], hours[23]) == (1, 1, 0, 1, 1)
    assert figures["value_over_time"] == [{"date": "2024-03-31", "value": 1200}]
    both = tracker.summary(date(2024, 3, 30), date(2024, 4, 1))
    assert [d["value"] for d in both["value_over_time"]] == [300, 1200, 0]


def test_dst_fall_back_in_warsaw(make_tracker):
    """02:30 happens twice on 27 October 2024; both calls count in local hour 2."""
    tracker = make_tracker()
    first, second = te.at(2024, 10, 27, 2, 30), te.at(2024, 10, 27, 2, 30, fold=1)
    assert second - first == 3600
    te.feed(tracker, te.inbound(first), te.inbound(second, te.FIXED))
    figures = tracker.summary(date(2024, 10, 27), date(2024, 10, 27))
    assert figures["calls_by_hour"][2] == 2
    assert [c["started_at"] for c in tracker.calls(CallFilter())] == [
        "2024-10-27T02:30:00+01:00", "2024-10-27T02:30:00+02:00"]


def test_summary_counts_wrapup_value_and_checks_period(make_tracker):
    tracker = make_tracker()
    te.feed(tracker, te.inbound(te.at(2024, 5, 6, 10)))
    [call] = tracker.calls(CallFilter())
    tracker.wrapup(call["id"], {"value": 999.5})
    figures = tracker.summary(date(2024, 5, 6), date(2024, 5, 6))
    assert figures["top_campaigns"][0]["value"] == 999.5
    assert figures["value_over_time"] == [{"date": "2024-05-06", "value": 999.5}]
    with pytest.raises(BadInput):
        tracker.summary(date(2024, 5, 7), date(2024, 5, 6))


def test_time_zone_change_moves_local_hours(make_tracker, cfg):
    tracker = make_tracker()
    te.feed(tracker, te.inbound(te.at(2024, 5, 6, 1, 30)))      # 23:30 UTC on the 5th
    assert tracker.summary(date(2024, 5, 6), date(2024, 5, 6))["calls_by_hour"][1] == 1
    tracker.reload_config(dataclasses.replace(cfg, box=dataclasses.replace(cfg.box,
                                                                           timezone="UTC")))
    figures = tracker.summary(date(2024, 5, 5), date(2024, 5, 5))
    assert figures["calls_by_hour"][23] == 1
    assert tracker.calls(CallFilter())[0]["started_at"] == "2024-05-05T23:30:00+00:00"



def test_columns_keep_start_order_and_replace(cfg):
    start = te.at(2024, 5, 6, 9)
    records = te.pure_records(cfg, te.inbound(start), te.inbound(start + 60, te.FIXED),
                              te.inbound(start + 60, te.MOBILE2))
    stats = StatColumns()
    for record in reversed(records):
        stats.insert(stat_row(record, te.WARSAW))
    assert stats.columns == columns_of(records, te.WARSAW)
    stats.replace(stat_row({**records[1], "value": 5.0}, te.WARSAW))
    assert list(stats.columns["value"]) == [300, 5.0, 300]
    with pytest.raises(KeyError):
        stats.replace(stat_row({**records[1], "id": "zzz"}, te.WARSAW))
    assert len(stats.between(start + 1, start + 61)["id"]) == 2
    figures = summarize(stats.columns, date(2024, 5, 5), date(2024, 5, 7), 0)
    assert [d["value"] for d in figures["value_over_time"]] == [0, 605, 0]
