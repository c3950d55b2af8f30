"""The second wave's summary figures against hand-computed cases (CONTRACT.md "Figures added to
/api/summary"): pure over columns, and through the Tracker (outbound call-backs, stored calls
recomputed, DST days, calls after midnight, future periods)."""

from datetime import date

import pytest

import tracker_events as te
from firmware.config import parse_config
from firmware.pbx import events as ev
from firmware.tracker import journal, regions
from firmware.tracker.figures import campaign_figures, period_cost
from firmware.tracker.query import CallFilter
from firmware.tracker.regions import caller_region
from firmware.tracker.stats import columns_of, summarize
from firmware.tracker.store import file_name, month_of

CALLER3 = "+48221231234"        # a Warsaw fixed line
MONDAY = date(2024, 5, 6)


def costly_config():
    """The test config with Shop window costing 300 a month (10 a day by the 30-day month)."""
    return parse_config(te.CONFIG_TOML.replace("lead_value = 300\n",
                                               "lead_value = 300\ncost_per_month = 300\n"))


def monday_calls(d=te.at(2024, 5, 6, 9)):
    """Monday 2024-05-06 from 09:00, one call an hour (see the test for what each is)."""
    return [
        te.inbound(d, te.MOBILE, ring=4, talk=120),                             # 09 Shop
        te.inbound(d + 3600, te.FIXED, ring=10, talk=None),                     # 10 Shop
        te.inbound(d + 7200, te.MOBILE2, dialled=te.PAPER, ring=12, talk=60),   # 11 Paper
        te.inbound(d + 10800, te.MOBILE, ring=3, talk=40),                      # 12 Shop
        te.inbound(d + 14400, CALLER3, dialled=te.PAPER, ring=30, talk=None,
                   reason=ev.RING_TIMEOUT),                                     # 13 Paper
        te.outbound(d + 18000, CALLER3, talk=30),                               # 14 call-back
        te.inbound(d + 21600, te.MOBILE2, ring=5, talk=None),                   # 15 Shop
        te.inbound(d + 25200, te.MOBILE, ring=2, talk=4),                       # 16 Shop
    ]


def test_the_new_figures_by_hand(cfg):
    records = te.pure_records(cfg, *monday_calls())
    figures = summarize(columns_of(records, te.WARSAW), MONDAY, MONDAY, 2,
                        answered_at={CALLER3: te.at(2024, 5, 6, 14)})
    # answered with wait <= 10 s: 09 (4 s), 12 (3 s), 16 (2 s) of 7 counted calls; 10:00
    # waited exactly 10 s but was missed
    assert figures["answered_within"] == {"seconds": 10, "share": round(3 / 7, 4)}
    assert figures["missed_by_reason"] == {"caller_hangup": 2, "ring_timeout": 1}
    # FIXED (Shop) and MOBILE2 (its 15:00 Shop miss came after its 11:00 answer) are still
    # lost; CALLER3 was called back at 14:00
    assert figures["unrecovered_value"] == 600
    assert figures["caller_regions"] == [{"region": "Poland", "calls": 5},
                                         {"region": "Warsaw", "calls": 2}]
    # value counts leads: 09 (target, 300) and 11 (target, 100); the 12:00 repeat and the
    # 4-second 16:00 call bring nothing
    assert figures["value"] == 400
    assert figures["value_over_time"] == [{"date": "2024-05-06", "value": 400}]
    assert figures["top_campaigns"][0] == {"name": "Shop window", "calls": 5, "value": 300}
    assert figures["calls_over_time"] == [{"date": "2024-05-06", "answered": 4, "missed": 3}]


def test_answer_within_follows_the_setting_and_is_0_over_nothing(cfg):
    records = te.pure_records(cfg, *monday_calls())
    columns = columns_of(records, te.WARSAW)
    figures = summarize(columns, MONDAY, MONDAY, 0, answer_within_seconds=12)
    assert figures["answered_within"] == {"seconds": 12, "share": round(4 / 7, 4)}
    empty = summarize(columns, date(2024, 5, 8), date(2024, 5, 8), 0)
    assert empty["answered_within"] == {"seconds": 10, "share": 0}
    assert empty["missed_by_reason"] == {} and empty["unrecovered_value"] == 0
    assert empty["caller_regions"] == []


def test_without_the_trackers_answers_only_inbound_answers_recover(cfg):
    records = te.pure_records(cfg, *monday_calls())
    figures = summarize(columns_of(records, te.WARSAW), MONDAY, MONDAY, 0)
    assert figures["unrecovered_value"] == 300 + 100 + 300      # CALLER3 too (Paper, 100)


def test_previous_is_the_same_length_just_before(cfg):
    sunday_late = te.inbound(te.at(2024, 5, 5, 23, 59, 50), te.FIXED, ring=5, talk=100)
    tuesday_early = te.inbound(te.at(2024, 5, 7, 0, 0, 10), te.FIXED, talk=None)
    records = te.pure_records(cfg, *monday_calls(), sunday_late, tuesday_early)
    columns = columns_of(records, te.WARSAW)
    figures = summarize(columns, MONDAY, MONDAY, 0)
    previous = figures["previous"]
    assert "previous" not in previous
    # the call at 23:59:50 on Sunday counts on Sunday, though it ended on Monday
    assert (previous["answered"], previous["missed"], previous["value"]) == (1, 0, 300)
    assert previous["calls_by_hour"][23] == 1
    assert previous["value_over_time"] == [{"date": "2024-05-05", "value": 300}]
    assert previous["answered_within"] == {"seconds": 10, "share": 1.0}
    # Monday's own figures do not see the call just after midnight on Tuesday
    assert (figures["answered"], figures["missed"]) == (4, 3)
    week = summarize(columns, date(2024, 5, 6), date(2024, 5, 12), 0)
    assert [d["date"] for d in week["previous"]["value_over_time"]] == [
        "2024-04-29", "2024-04-30", "2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04",
        "2024-05-05"]
    assert week["previous"]["answered"] == 1 and week["answered"] == 4 and week["missed"] == 4
    assert [(d["answered"], d["missed"]) for d in week["calls_over_time"]] == [
        (4, 3), (0, 1), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)]


def test_dst_days_count_by_local_time(cfg):
    spring = [te.inbound(te.at(2024, 3, 31, 1, 30), te.FIXED, ring=3, talk=40),   # +01:00
              te.inbound(te.at(2024, 3, 31, 3, 30), te.MOBILE, talk=None)]        # +02:00
    autumn = [te.inbound(te.at(2024, 10, 27, 2, 30), te.MOBILE2, ring=3, talk=40),
              te.inbound(te.at(2024, 10, 27, 2, 30, fold=1), te.MOBILE2, ring=20,
                         talk=None)]
    columns = columns_of(te.pure_records(cfg, *spring, *autumn), te.WARSAW)
    day = summarize(columns, date(2024, 3, 31), date(2024, 3, 31), 0)
    assert (day["answered"], day["missed"]) == (1, 1)
    assert day["calls_by_hour"][1] == 1 and day["calls_by_hour"][3] == 1
    assert day["answered_within"]["share"] == 0.5
    assert day["unrecovered_value"] == 300 and day["previous"]["answered"] == 0
    autumn_day = summarize(columns, date(2024, 10, 27), date(2024, 10, 27), 0)
    assert autumn_day["calls_by_hour"][2] == 2
    assert autumn_day["missed_by_reason"] == {"caller_hangup": 1}
    # the same number answered at the first 02:30 and missed at the second: still lost
    assert autumn_day["unrecovered_value"] == 300


def test_campaign_figures_by_hand():
    config = costly_config()
    records = te.pure_records(config, *monday_calls())
    entries = campaign_figures(columns_of(records, te.WARSAW), config.campaigns, MONDAY,
                               MONDAY)
    assert entries == [
        {"name": "Shop window", "source": "Outdoor", "calls": 5, "answered": 3, "missed": 2,
         "target_calls": 1, "first_time_callers": 2, "value": 300, "cost": 10.0,
         "cost_per_call": 2.0, "cost_per_target_call": 10.0},
        {"name": "Newspaper", "source": "Print", "calls": 2, "answered": 1, "missed": 1,
         "target_calls": 1, "first_time_callers": 2, "value": 100, "cost": 0.0,
         "cost_per_call": 0.0, "cost_per_target_call": 0.0},
    ]


def test_campaigns_without_calls_and_campaigns_gone_from_the_config(cfg):
    config = costly_config()
    records = te.pure_records(cfg, te.inbound(te.at(2024, 5, 6, 9), talk=100))
    records[0]["campaign"] = "Old flyer"
    entries = campaign_figures(columns_of(records, te.WARSAW), config.campaigns,
                               date(2024, 6, 1), date(2024, 6, 30))
    assert [e["name"] for e in entries] == ["Shop window", "Newspaper"]
    assert entries[0]["cost"] == 300 and entries[0]["cost_per_call"] is None
    assert entries[0]["cost_per_target_call"] is None
    entries = campaign_figures(columns_of(records, te.WARSAW), config.campaigns, MONDAY,
                               MONDAY)
    assert [(e["name"], e["calls"], e["cost"]) for e in entries] == [
        ("Shop window", 0, 10.0), ("Newspaper", 0, 0.0), ("Old flyer", 1, 0.0)]


@pytest.mark.parametrize("start, end, cost", [
    (date(2024, 2, 1), date(2024, 2, 29), 290.0),      # 29 days of a 30-day month
    (date(2024, 5, 6), date(2024, 5, 12), 70.0),
    (date(2024, 1, 1), date(2024, 12, 31), 3660.0),
])
def test_period_cost_spreads_a_30_day_month(start, end, cost):
    assert period_cost(300, start, end) == cost
    assert period_cost(0, start, end) == 0


@pytest.fixture(autouse=True)
def polish_region_names():
    """The table a Polish box uses (the tracker loads it at start; pure tests set it)."""
    regions.use(regions.load_names("PL", None))


@pytest.mark.parametrize("number, line_type, region", [
    ("+48221111111", "fixed_line", "Warsaw"),
    ("+48581234567", "fixed_line", "Gdańsk"),
    ("+48501234567", "mobile", "Poland"),
    ("+4930123456", "fixed_line", "Germany"),        # callers from abroad: the country
    ("+12125551234", "fixed_line_or_mobile", "United States"),
    ("+16135550123", "fixed_line", "Canada"),
    ("+48221111111", None, "Poland"),                # no line type stored: the country
    ("anonymous", None, ""),
    ("", "unknown", ""),
])
def test_caller_regions_in_english(number, line_type, region):
    assert caller_region(number, line_type) == region


def test_region_names_come_from_a_cached_table_not_the_geocoder(tmp_path):
    import subprocess
    import sys
    regions._loaded.clear()
    (tmp_path / "regions-PL-8.13.0.json").write_text("{}")     # an older cache: replaced
    names = regions.load_names("PL", tmp_path)
    assert names.places["4822"] == "Warsaw" and names.countries["DE"] == "Germany"
    assert names.local["pl"]["Warsaw"] == "Warszawa" and names.local["bg"]["Germany"] == \
        "Германия"
    [cached] = tmp_path.glob("regions-PL-*.json")
    regions._loaded.clear()
    assert regions.load_names("PL", tmp_path) == names          # read back from the file
    cached.write_text("{not json")
    regions._loaded.clear()
    assert regions.load_names("PL", tmp_path) == names          # unreadable: read again
    # the box never imports phonenumbers' geocoder (100 MB of names in every language)
    probe = subprocess.run([sys.executable, "-c", (
        "import sys; from firmware.tracker import stats, service; "
        "print(any(m.startswith('phonenumbers.geo') for m in sys.modules))")],
        capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "False"


# -- through the Tracker ---------------------------------------------------------------------

def test_tracker_summary_sees_call_backs_after_the_period(make_tracker):
    tracker = make_tracker()
    te.feed(tracker, *monday_calls(), te.outbound(te.at(2024, 5, 8, 10), te.FIXED))
    figures = tracker.summary(MONDAY, MONDAY)
    # FIXED was called back on Wednesday: only MOBILE2's Shop miss is still lost
    assert figures["unrecovered_value"] == 300
    assert figures["answered_within"] == {"seconds": 10, "share": round(3 / 7, 4)}
    assert figures["previous"]["answered"] == 0
    assert figures["previous"]["to_call_back"] == figures["to_call_back"] == 1


def test_tracker_answer_within_setting(make_tracker):
    config = parse_config(te.CONFIG_TOML.replace(
        "unique_window_days = 30", "unique_window_days = 30\nanswer_within_seconds = 3"))
    tracker = make_tracker(config)
    te.feed(tracker, *monday_calls())
    assert tracker.summary(MONDAY, MONDAY)["answered_within"] == {
        "seconds": 3, "share": round(2 / 7, 4)}


def test_future_periods_have_empty_days(make_tracker):
    tracker = make_tracker()
    te.feed(tracker, *monday_calls())
    figures = tracker.summary(date(2099, 1, 1), date(2099, 1, 3))
    assert figures["answered"] == figures["missed"] == 0
    assert [d["value"] for d in figures["value_over_time"]] == [0, 0, 0]
    assert figures["answered_within"]["share"] == 0 and figures["previous"]["answered"] == 0
    partly = tracker.summary(date(2024, 5, 6), date(2099, 1, 3))
    assert partly["answered"] == 4 and partly["previous"]["answered"] == 0
    assert [e["calls"] for e in tracker.campaigns(date(2099, 1, 1), date(2099, 1, 3))] == [0, 0]


def test_stored_calls_are_recomputed_by_the_lead_rule(tmp_path, make_tracker, cfg):
    """A journal from before "value counts leads": every answered call carried lead value."""
    records = te.pure_records(cfg, *monday_calls())
    for record in records:
        if record["direction"] == "inbound" and record["status"] == "answered":
            record["value"] = record["lead_value"]
    folder = tmp_path / "calls"
    folder.mkdir()
    (folder / file_name(month_of(records[0]["offered_at"]))).write_bytes(
        b"".join(journal.encode(r) for r in records))
    before = (folder / file_name(month_of(records[0]["offered_at"]))).read_bytes()
    tracker = make_tracker()
    assert tracker.summary(MONDAY, MONDAY)["value"] == 400
    values = {c["started_at"][11:13]: c["value"]
              for c in tracker.calls(CallFilter(start=MONDAY, end=MONDAY))}
    assert values == {"09": 300, "10": 0, "11": 100, "12": 0, "13": 0, "14": 0, "15": 0,
                      "16": 0}
    assert sum(e["value"] for e in tracker.campaigns(MONDAY, MONDAY)) == 400
    # a wrap-up value still wins over the rule
    repeat = next(c for c in tracker.calls(CallFilter(start=MONDAY, end=MONDAY))
                  if c["started_at"][11:13] == "12")
    assert tracker.wrapup(repeat["id"], {"value": 50})["value"] == 50
    assert tracker.summary(MONDAY, MONDAY)["value"] == 450
    assert (folder / file_name(month_of(records[0]["offered_at"]))).read_bytes().startswith(
        before)


@pytest.mark.parametrize("value, problem", [
    ("-1", "tracking.answer_within_seconds: must be between 0 and 600"),
    ('"ten"', "tracking.answer_within_seconds: must be a whole number"),
])
def test_answer_within_seconds_is_checked(value, problem):
    from firmware.config import ConfigError
    with pytest.raises(ConfigError) as caught:
        parse_config(te.CONFIG_TOML.replace(
            "unique_window_days = 30", f"unique_window_days = 30\nanswer_within_seconds = {value}"))
    assert problem in caught.value.problems
    assert te.config().tracking.answer_within_seconds == 10


def options_config(lines):
    return parse_config(te.CONFIG_TOML.replace("unique_window_days = 30",
                                               "unique_window_days = 30\n" + lines))


def test_first_time_can_mean_the_numbers_first_call_ever():
    calls = [te.inbound(te.at(2024, 1, 10), te.MOBILE, talk=100),
             te.inbound(te.at(2024, 5, 6, 9), te.MOBILE, talk=100)]      # 117 days later
    default = te.pure_records(te.config(), *calls)
    assert [r["first_time"] for r in default] == [True, True]      # outside the 30-day window
    ever = te.pure_records(options_config("first_time_window_days = 0"), *calls)
    assert [r["first_time"] for r in ever] == [True, False]
    longer = te.pure_records(options_config("first_time_window_days = 200"), *calls)
    assert [r["first_time"] for r in longer] == [True, False]
    # the target rule keeps its own window
    assert [r["target"] for r in ever] == [True, True]


def test_target_uniqueness_can_be_switched_off():
    calls = [te.inbound(te.at(2024, 5, 6, 9), te.MOBILE, talk=100),
             te.inbound(te.at(2024, 5, 6, 12), te.MOBILE, talk=100)]
    assert [r["target"] for r in te.pure_records(te.config(), *calls)] == [True, False]
    every = te.pure_records(options_config("target_unique = false"), *calls)
    assert [r["target"] for r in every] == [True, True]
    assert [r["value"] for r in every] == [300, 300]


@pytest.mark.parametrize("line, problem", [
    ("first_time_window_days = -1", "tracking.first_time_window_days: must be between 0 and 3650"),
    ("target_unique = 1", "tracking.target_unique: must be true or false"),
])
def test_options_are_checked(line, problem):
    from firmware.config import ConfigError
    with pytest.raises(ConfigError) as caught:
        options_config(line)
    assert problem in caught.value.problems


def test_without_region_names_callers_are_unknown_and_nothing_fails(monkeypatch, caplog):
    monkeypatch.setattr(regions, "_EXTRACT", "import sys; sys.exit('no data')")
    monkeypatch.setattr(regions, "_loaded", {})
    assert regions.load_names("PL", None) is regions.EMPTY
    assert "cannot read phonenumbers' region names" in caplog.text
    assert caller_region("+48221111111", "fixed_line", names=regions.EMPTY) == ""
    records = te.pure_records(te.config(), *monday_calls())
    regions.use(regions.EMPTY)
    figures = summarize(columns_of(records, te.WARSAW), MONDAY, MONDAY, 0)
    assert figures["caller_regions"] == [{"region": "unknown", "calls": 7}]


def test_kept_day_figures_follow_every_change_of_their_day(make_tracker):
    """The dashboard keeps each day's additive figures (dayparts.py); a wrap-up, a call
    added to a day already summed, or a new day must give what a fresh pass over the calls
    gives."""
    from firmware.tracker.service import day_bounds
    from firmware.tracker.stats import summarize as fresh_summarize

    tracker = make_tracker()
    te.feed(tracker, *monday_calls())
    week = (MONDAY, date(2024, 5, 12))

    def fresh():
        low, high = day_bounds(date(2024, 4, 29), week[1], tracker._tz)
        columns = tracker._index.stats_between(low, high)
        figures = fresh_summarize(columns, *week, len(tracker._queue),
                                  answered_at=tracker._answered_at(columns))
        figures["currency"] = tracker._config.box.currency
        return figures

    first = tracker.summary(*week)
    assert first == fresh() and first["answered"] == 4
    call = next(c for c in tracker.calls(CallFilter(start=MONDAY, end=MONDAY))
                if c["status"] == "answered")
    tracker.wrapup(call["id"], {"value": 1234})
    after_wrapup = tracker.summary(*week)
    assert after_wrapup == fresh() and after_wrapup["value"] == first["value"] - call["value"] + 1234
    te.feed(tracker, te.inbound(te.at(2024, 5, 6, 20), te.FIXED, ring=2, talk=50),
            te.inbound(te.at(2024, 5, 9, 9), te.MOBILE2, ring=3, talk=None))
    later = tracker.summary(*week)
    assert later == fresh()
    assert (later["answered"], later["missed"]) == (5, after_wrapup["missed"] + 1)


def test_region_names_are_kept_in_every_language_of_the_panel():
    from firmware.webui.i18n import LANGUAGES
    assert set(regions.LANGUAGES) == set(LANGUAGES) - {"en"}
