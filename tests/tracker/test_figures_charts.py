"""Issue 21's charts and the relative "too long", against hand-computed cases: calls per person
per hour (`answered_by_hour`) and `too_long` in the summary (pure over columns, DST days, a
call after midnight, the previous period, the config's factor through the Tracker), and the
too-long report agreeing with the summary."""

from datetime import date

import pytest

import tracker_events as te
from firmware.config import ConfigError, parse_config
from firmware.tracker import reports
from firmware.tracker.figures import answered_by_hour, too_long
from firmware.tracker.records import to_api
from firmware.tracker.stats import columns_of, summarize

TUESDAY = date(2024, 5, 7)


def hours_of(figure: list[dict]) -> dict[str, dict[int, int]]:
    """{extension: {hour: calls}} without the zero hours, for short asserts."""
    return {e["extension"]: {h: n for h, n in enumerate(e["calls"]) if n} for e in figure}


def tuesday(d=te.at(2024, 5, 7, 9)):
    """Tuesday 7 May 2024 (Warsaw, +02:00): who answered what, and how long they talked."""
    return [
        te.inbound(d, te.MOBILE, ring=3, talk=60, by="101"),                      # 09 Shop
        te.inbound(d + 600, te.FIXED, ring=3, talk=60, by="102"),                 # 09 Shop
        te.inbound(d + 3600, te.MOBILE2, ring=3, talk=60, by="101"),              # 10 Shop
        te.inbound(d + 7200, "+48501999999", ring=3, talk=300, by="101"),         # 11 Shop
        te.inbound(d + 7300, te.MOBILE, dialled=te.PAPER, ring=3, talk=100,
                   by="102"),                                                     # 11 Paper
        te.inbound(d + 10800, te.FIXED, ring=20, talk=None),                      # 12 missed
        te.inbound(d + 14400, "+48501888888", ring=3, talk=45, by=""),            # 13 mobile
        te.outbound(d + 18000, te.MOBILE2, talk=900),                             # 14 out
    ]


def test_calls_per_person_per_hour_by_hand(cfg):
    columns = columns_of(te.pure_records(cfg, *tuesday()), te.WARSAW)
    figures = summarize(columns, TUESDAY, TUESDAY, 0)
    # answered inbound campaign calls only: the missed 12:00 and the outbound 14:00 are not
    # anybody's; the 13:00 call forwarded to a mobile is nobody's yet (""), listed last
    assert hours_of(figures["answered_by_hour"]) == {
        "101": {9: 1, 10: 1, 11: 1}, "102": {9: 1, 11: 1}, "": {13: 1}}
    assert [e["extension"] for e in figures["answered_by_hour"]] == ["101", "102", ""]
    assert sum(sum(e["calls"]) for e in figures["answered_by_hour"]) == figures["answered"]
    assert figures["previous"]["answered_by_hour"] == []


def test_too_long_against_the_campaigns_average_by_hand(cfg):
    columns = columns_of(te.pure_records(cfg, *tuesday()), te.WARSAW)
    # Shop's answered calls talked 60, 60, 60, 300 and 45: average 105, 2x = 210, so the
    # 300 s call is too long; Paper's only call (100 s) is its own average, never over it.
    # The 900 s outbound call is no campaign call. 1 of 6 answered.
    figures = summarize(columns, TUESDAY, TUESDAY, 0, too_long_factor=2)
    assert figures["too_long"] == {"factor": 2, "calls": 1, "share": round(1 / 6, 4)}
    # 3x = 315: nothing is too long; 0 switches the rule off
    assert summarize(columns, TUESDAY, TUESDAY, 0, too_long_factor=3)["too_long"] == {
        "factor": 3, "calls": 0, "share": 0.0}
    assert summarize(columns, TUESDAY, TUESDAY, 0, too_long_factor=0)["too_long"] == {
        "factor": 0, "calls": 0, "share": 0.0}
    # an empty period: 0 over nothing
    empty = summarize(columns, date(2024, 5, 9), date(2024, 5, 9), 0, too_long_factor=2)
    assert empty["too_long"] == {"factor": 2, "calls": 0, "share": 0}
    assert empty["answered_by_hour"] == [] and empty["previous"]["too_long"]["calls"] == 0


def test_the_average_is_the_periods_own(cfg):
    """Monday's long call raises no flag on Tuesday: each period has its own average."""
    monday = te.inbound(te.at(2024, 5, 6, 9), te.FIXED, ring=3, talk=1000, by="101")
    columns = columns_of(te.pure_records(cfg, *tuesday(), monday), te.WARSAW)
    figures = summarize(columns, TUESDAY, TUESDAY, 0, too_long_factor=2)
    assert figures["too_long"]["calls"] == 1                    # as without Monday's call
    assert figures["previous"]["too_long"] == {"factor": 2, "calls": 0, "share": 0.0}
    # over both days Shop's average is (525 + 1000) / 6 = 254.2, 2x = 508.3: only Monday's
    # 1000 s call is over it
    both = summarize(columns, date(2024, 5, 6), TUESDAY, 0, too_long_factor=2)
    assert both["too_long"] == {"factor": 2, "calls": 1, "share": round(1 / 7, 4)}


def test_dst_days_and_calls_after_midnight(cfg):
    autumn = [  # 27 October 2024: 02:00-02:59 happens twice in Warsaw
        te.inbound(te.at(2024, 10, 27, 2, 30), te.MOBILE, ring=3, talk=50, by="101"),
        te.inbound(te.at(2024, 10, 27, 2, 30, fold=1), te.MOBILE2, ring=3, talk=50, by="102"),
        te.inbound(te.at(2024, 10, 27, 23, 59, 50), te.FIXED, ring=5, talk=400, by="101"),
        # just after midnight: Monday 28 October, hour 0
        te.inbound(te.at(2024, 10, 28, 0, 0, 20), "+48501777777", ring=3, talk=30, by="102"),
    ]
    spring = [  # 31 March 2024: there is no 02:xx in Warsaw
        te.inbound(te.at(2024, 3, 31, 1, 59), te.MOBILE, ring=3, talk=60, by="101"),
        te.inbound(te.at(2024, 3, 31, 3, 1), te.FIXED, ring=3, talk=60, by="101"),
    ]
    columns = columns_of(te.pure_records(cfg, *autumn, *spring), te.WARSAW)
    sunday = summarize(columns, date(2024, 10, 27), date(2024, 10, 27), 0, too_long_factor=2)
    # both 02:30 calls in hour 2; the 23:59:50 call on Sunday though it ended on Monday
    assert hours_of(sunday["answered_by_hour"]) == {"101": {2: 1, 23: 1}, "102": {2: 1}}
    # Shop on Sunday: 50, 50, 400: average 166.7, 2x = 333.3: the 400 s call is too long
    assert sunday["too_long"] == {"factor": 2, "calls": 1, "share": round(1 / 3, 4)}
    monday = summarize(columns, date(2024, 10, 28), date(2024, 10, 28), 0, too_long_factor=2)
    assert hours_of(monday["answered_by_hour"]) == {"102": {0: 1}}
    assert monday["too_long"]["calls"] == 0
    assert hours_of(monday["previous"]["answered_by_hour"]) == hours_of(
        sunday["answered_by_hour"])
    spring_day = summarize(columns, date(2024, 3, 31), date(2024, 3, 31), 0)
    assert hours_of(spring_day["answered_by_hour"]) == {"101": {1: 1, 3: 1}}


def test_the_report_counts_the_same_calls_as_the_summary(cfg):
    records = te.pure_records(cfg, *tuesday())
    summary = summarize(columns_of(records, te.WARSAW), TUESDAY, TUESDAY, 0,
                        too_long_factor=2)
    calls = [to_api(r, te.WARSAW) for r in records]
    result = reports.duration_outliers(calls, 10, 600, 2)
    assert sum(p["over_average"] for p in result["people"]) == summary["too_long"]["calls"]
    # the 900 s outbound call is over the fixed limit only; the 300 s Shop call over the
    # average only (2 x 105)
    assert [(c["started_at"][11:16], c["kind"], c["person"], c["times_average"])
            for c in result["calls"]] == [("11:00", "average", "101", 2.9),
                                          ("14:00", "long", "101", None)]
    assert result["campaigns"] == [
        {"campaign": "Shop window", "answered": 5, "average": 105.0, "limit": 210.0,
         "over_average": 1},
        {"campaign": "Newspaper", "answered": 1, "average": 100.0, "limit": 200.0,
         "over_average": 0}]
    people = {p["extension"]: p for p in result["people"]}
    assert (people["101"]["answered"], people["101"]["long"], people["101"]["over_average"]) \
        == (4, 1, 1)
    assert people["101"]["over_average_pct"] == 0.25
    # per person per hour in the report: the per-person table's answered calls (claimed)
    assert reports.answered_by_hour(calls) == {
        "101": [0] * 9 + [1, 1, 1] + [0] * 12, "102": [0] * 9 + [1, 0, 1] + [0] * 12}


def test_pure_figures_on_columns():
    col = {"answered": [1, 1, 0, 1], "missed": [0, 0, 1, 0], "hour": [8, 8, 9, 23],
           "answered_by": ["101", "101", None, "102"], "campaign": ["A", "A", "A", "B"],
           "talk": [10.0, 50.0, 0.0, 5.0]}
    assert answered_by_hour(col) == [
        {"extension": "101", "calls": [0] * 8 + [2] + [0] * 15},
        {"extension": "102", "calls": [0] * 23 + [1]}]
    # A: average 30, 1.5x = 45: the 50 s call; B's one call is its own average
    assert too_long(col, 1.5) == {"factor": 1.5, "calls": 1, "share": round(1 / 3, 4)}


def with_factor(value: str):
    return parse_config(te.CONFIG_TOML.replace(
        "unique_window_days = 30", f"unique_window_days = 30\ntoo_long_factor = {value}"))


def test_the_factor_in_the_config():
    assert te.config().tracking.too_long_factor == 3.0
    assert with_factor("2.5").tracking.too_long_factor == 2.5
    assert with_factor("0").tracking.too_long_factor == 0
    for bad in ("0.5", "-1", "101", '"x"'):
        with pytest.raises(ConfigError) as error:
            with_factor(bad)
        assert "tracking.too_long_factor" in str(error.value)


def test_the_tracker_uses_the_configs_factor(make_tracker):
    tracker = make_tracker(with_factor("2"))
    te.feed(tracker, *tuesday())
    figures = tracker.summary(TUESDAY, TUESDAY)
    assert figures["too_long"] == {"factor": 2, "calls": 1, "share": round(1 / 6, 4)}
    assert hours_of(figures["answered_by_hour"]) == {
        "101": {9: 1, 10: 1, 11: 1}, "102": {9: 1, 11: 1}, "": {13: 1}}


def test_the_reports_read_dst_days_and_calls_after_midnight_by_local_time(cfg):
    """The reports read the local hour from `started_at` (ISO with the day's offset): both
    02:30s of the autumn DST day are hour 2, the call at 23:59:50 stays on Sunday at 23."""
    autumn = [
        te.inbound(te.at(2024, 10, 27, 2, 30), te.MOBILE, ring=3, talk=50, by="101"),
        te.inbound(te.at(2024, 10, 27, 2, 30, fold=1), te.MOBILE2, ring=3, talk=50, by="102"),
        te.inbound(te.at(2024, 10, 27, 23, 59, 50), te.FIXED, ring=5, talk=400, by="101"),
    ]
    records = te.pure_records(cfg, *autumn)
    calls = [to_api(r, te.WARSAW) for r in records]
    assert [c["started_at"] for c in calls] == ["2024-10-27T02:30:00+02:00",
                                                "2024-10-27T02:30:00+01:00",
                                                "2024-10-27T23:59:50+01:00"]
    by_hour = reports.answered_by_hour(calls)
    assert {ext: {h: n for h, n in enumerate(hours) if n} for ext, hours in by_hour.items()} \
        == {"101": {2: 1, 23: 1}, "102": {2: 1}}
    # Shop: 50, 50, 400 s, average 166.7; 2x = 333.3: the late call, as in the summary
    result = reports.duration_outliers(calls, 10, 600, 2)
    summary = summarize(columns_of(records, te.WARSAW), date(2024, 10, 27), date(2024, 10, 27),
                        0, too_long_factor=2)
    assert [(c["started_at"][11:16], c["kind"]) for c in result["calls"]] == [
        ("23:59", "average")]
    assert summary["too_long"]["calls"] == 1
