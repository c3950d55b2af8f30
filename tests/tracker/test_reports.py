"""The report figures (firmware/tracker/reports.py) on small hand-built call sets, with every
expected table written out. Calls are in the /api/calls shape, times in Warsaw (+02:00 in
June 2024); 2024-06-03 is a Monday."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pytest

from firmware.tracker import report_select as sel
from firmware.tracker import reports as r
from firmware.tracker.errors import BadInput

SHOP, PAPER = "+48221234567", "+48221234568"
ANNA, BOB, CEZ = "+48501000001", "+48501000002", "+48501000003"
_ids = iter(range(1, 10_000))


def call(when: str, *, direction: str = "inbound", number: str = ANNA, campaign: str = "Shop",
         status: str = "answered", wait: float = 5, talk: float = 60, by: str | None = "101",
         ext: str = "", rang: tuple = ("101", "102"), target: bool = False,
         first_time: bool = False, value: float | None = None, wrapup: dict | None = None,
         callback: dict | None = None) -> dict:
    """A call as Tracker.calls() gives it; `when` is "YYYY-MM-DD HH:MM" local (+02:00)."""
    inbound = direction == "inbound"
    answered = status == "answered"
    return {
        "id": f"c{next(_ids)}", "started_at": when.replace(" ", "T") + ":00+02:00",
        "direction": direction, "caller": number if inbound else ext,
        "callee": (SHOP if campaign == "Shop" else PAPER) if inbound else number,
        "campaign": campaign if inbound else "", "source": {"Shop": "Outdoor",
                                                             "Paper": "Print"}.get(campaign, ""),
        "status": status, "wait_seconds": wait, "talk_seconds": talk if answered else 0.0,
        "answered_by": by if inbound and answered else None, "extension": ext,
        "rang": list(rang) if inbound else [], "target": target, "first_time": first_time,
        "line_type": "mobile", "wrapup": wrapup,
        "value": value if value is not None else (300.0 if inbound and answered else 0.0),
        "callback": callback,
    }


CAMPAIGNS = [SimpleNamespace(name="Shop", source="Outdoor", cost_per_month=3000.0),
             SimpleNamespace(name="Paper", source="Print", cost_per_month=0.0),
             SimpleNamespace(name="Radio", source="Radio", cost_per_month=600.0)]
JUNE_1_15 = (date(2024, 6, 1), date(2024, 6, 15))


# -- calls from campaigns ------------------------------------------------------------------

def test_prorated_cost_by_the_contracts_30_day_month():
    assert r.prorated_cost(3000, date(2024, 6, 1), date(2024, 6, 30)) == 3000
    assert r.prorated_cost(3000, *JUNE_1_15) == 1500
    # 22 days, whatever months they fall in (as /api/campaigns counts them)
    assert r.prorated_cost(3100, date(2024, 5, 20), date(2024, 6, 10)) == 2273.33
    assert r.prorated_cost(3100, date(2024, 5, 1), date(2024, 5, 31)) == 3203.33
    assert r.prorated_cost(0, *JUNE_1_15) == 0


def test_campaigns_report():
    calls = [
        call("2024-06-03 09:00", target=True, first_time=True),
        call("2024-06-03 10:00", number=BOB, status="missed", by=None, talk=0,
             first_time=True),
        call("2024-06-04 11:00", number=CEZ, target=True, value=1000.0),
        call("2024-06-04 12:00", campaign="Paper", value=100.0, first_time=True),
        call("2024-06-05 12:00", campaign="Paper", status="missed", by=None),
        call("2024-06-05 13:00", direction="outbound", number=BOB, ext="101"),  # not counted
        call("2024-06-05 14:00", campaign="", number=CEZ),                      # no campaign
    ]
    result = r.campaigns_report(calls, CAMPAIGNS, *JUNE_1_15)
    table = [(x["name"], x["source"], x["calls"], x["answered"], x["missed"], x["missed_pct"],
              x["target_calls"], x["first_time"], x["value"], x["cost"], x["cost_per_call"],
              x["cost_per_target"]) for x in (*result["rows"], result["total"])]
    assert table == [
        # name   source     calls ans miss %miss   tgt new  value   cost   /call   /target
        ("Shop", "Outdoor", 3,    2,  1,   0.3333, 2,  2,   1300.0, 1500.0, 500.0, 750.0),
        ("Paper", "Print",  2,    1,  1,   0.5,    0,  1,   100.0,  0.0,    0.0,   None),
        ("Radio", "Radio",  0,    0,  0,   None,   0,  0,   0.0,    300.0,  None,  None),
        ("", "",            5,    3,  2,   0.4,    2,  3,   1400.0, 1800.0, 360.0, 900.0),
    ]


# -- new campaign check -----------------------------------------------------------------------

def test_new_campaign_check():
    calls = [
        call("2024-06-03 09:10", campaign="Paper"),       # Paper starts on Monday 3 June
        call("2024-06-03 15:00", campaign="Paper"),
        call("2024-06-05 11:00", campaign="Paper"),
        call("2024-06-09 18:30", campaign="Paper"),
        call("2024-06-10 08:00", campaign="Shop"),
        call("2024-05-31 10:00", campaign="Shop"),        # before the period: ignored
    ]
    rows = r.new_campaign_check(calls, ["Shop", "Paper", "Radio"], date(2024, 6, 1),
                                date(2024, 6, 10))
    assert rows == [
        {"name": "Shop", "started": "2024-06-10", "first_call": "2024-06-10T08:00:00+02:00",
         "last_call": "2024-06-10T08:00:00+02:00", "calls": 1, "days": 1, "days_without": 0,
         "quiet_days": []},
        {"name": "Paper", "started": "2024-06-03", "first_call": "2024-06-03T09:10:00+02:00",
         "last_call": "2024-06-09T18:30:00+02:00", "calls": 4, "days": 8, "days_without": 5,
         "quiet_days": ["2024-06-04", "2024-06-06", "2024-06-07", "2024-06-08",
                        "2024-06-10"]},
        {"name": "Radio", "started": None, "first_call": None, "last_call": None, "calls": 0,
         "days": 0, "days_without": 0, "quiet_days": []},
    ]


# -- missed calls not yet called back ----------------------------------------------------------

def test_not_called_back_longest_waiting_first():
    entries = [
        {"number": ANNA, "campaign": "Shop", "missed_calls": 1,
         "first_missed_at": "2024-06-05T11:00:00+02:00",
         "last_missed_at": "2024-06-05T11:00:00+02:00", "attempts": 0, "last_attempt_at": None},
        {"number": BOB, "campaign": "Paper", "missed_calls": 3,
         "first_missed_at": "2024-06-04T16:30:00+02:00",
         "last_missed_at": "2024-06-05T09:00:00+02:00", "attempts": 2,
         "last_attempt_at": "2024-06-05T10:00:00+02:00"},
    ]
    now = datetime.fromisoformat("2024-06-05T12:00:00+02:00")
    rows = r.not_called_back(entries, now)
    assert [(x["number"], x["campaign"], x["missed_calls"], x["waiting_seconds"],
             x["attempts"]) for x in rows] == [
        (BOB, "Paper", 3, 70200.0, 2),        # 19 h 30 min
        (ANNA, "Shop", 1, 3600.0, 0),
    ]
    assert [x["number"] for x in r.not_called_back(entries, now, "Shop")] == [ANNA]


# -- per person ----------------------------------------------------------------------------

def test_working_time_defaults_to_8_hours_on_weekdays():
    assert r.working_seconds(date(2024, 6, 3), date(2024, 6, 9)) == 40 * 3600   # Mon-Sun
    assert r.working_seconds(date(2024, 6, 8), date(2024, 6, 9)) == 0          # a weekend
    assert r.working_seconds(date(2024, 6, 7), date(2024, 6, 10)) == 16 * 3600  # Fri-Mon
    assert r.working_seconds(*JUNE_1_15) == 80 * 3600
    week = (9, 9, 9, 9, 9, 4, 0)
    assert r.working_seconds(date(2024, 6, 3), date(2024, 6, 16), week) == 2 * 49 * 3600


def test_working_time_from_opening_hours():
    assert r.working_week(None) == r.DEFAULT_WORKING_WEEK
    opening = (((480, 1080),),) * 5 + (((540, 720), (780, 840)), ())   # Sat 9-12 and 13-14
    week = r.working_week(opening)
    assert week == (10.0, 10.0, 10.0, 10.0, 10.0, 4.0, 0.0)
    assert r.working_seconds(date(2024, 6, 3), date(2024, 6, 9), week) == 54 * 3600


def test_per_person():
    calls = [
        call("2024-06-03 09:00", by="101", wait=4, talk=120),
        call("2024-06-03 09:30", by="101", wait=8, talk=240),
        call("2024-06-03 10:00", by="102", wait=12, talk=600, rang=("101", "102")),
        call("2024-06-03 11:00", status="missed", by=None, rang=("101", "102")),
        call("2024-06-03 11:30", status="missed", by=None, rang=("101",)),
        call("2024-06-03 12:00", status="missed", by=None, rang=()),   # nobody available
        call("2024-06-03 13:00", direction="outbound", ext="102", number=ANNA, talk=300),
        call("2024-06-03 13:30", direction="outbound", ext="102", number=BOB,
             status="unanswered"),
        call("2024-06-03 14:00", direction="internal", ext="101", number="102", talk=999),
        call("2024-06-03 15:00", by="103", wait=6, talk=60),           # not a desk phone
    ]
    result = r.per_person(calls, [("101", "Reception"), ("102", "Sales"), ("104", "")],
                          date(2024, 6, 3), date(2024, 6, 9))
    assert result["working_seconds"] == 144000
    table = [(x["extension"], x["name"], x["answered"], x["missed"], x["missed_pct"],
              x["avg_answer"], x["avg_talk"], x["total_talk"], x["utilisation"], x["outgoing"],
              x["avg_outgoing"], x["outgoing_talk"]) for x in result["rows"]]
    assert table == [
        # ext  name         ans miss %miss   answer talk   total  util    out  avg   out talk
        ("101", "Reception", 2, 2,   0.5,    6.0,   180.0, 360.0, 0.0025, 0,   None, 0.0),
        ("102", "Sales",     1, 1,   0.5,    12.0,  600.0, 600.0, 0.0063, 2,   300.0, 300.0),
        ("103", "",          1, 0,   0.0,    6.0,   60.0,  60.0,  0.0004, 0,   None, 0.0),
        ("104", "",          0, 0,   None,   None,  None,  0.0,   0.0,    0,   None, 0.0),
    ]


# -- load ------------------------------------------------------------------------------------

def test_load_map_counts_and_averages_per_weekday():
    calls = [call("2024-06-03 09:05"), call("2024-06-03 09:55"), call("2024-06-10 09:15"),
             call("2024-06-04 17:59"), call("2024-06-09 23:00"),
             call("2024-06-05 09:00", direction="outbound", ext="101")]   # outbound: no load
    # 3-16 June: two of each weekday
    result = r.load_map(calls, date(2024, 6, 3), date(2024, 6, 16))
    assert result["days"] == [2, 2, 2, 2, 2, 2, 2] and result["total"] == 5
    nonzero = {(w, h): (n, result["averages"][w][h])
               for w, row in enumerate(result["counts"]) for h, n in enumerate(row) if n}
    assert nonzero == {(0, 9): (3, 1.5), (1, 17): (1, 0.5), (6, 23): (1, 0.5)}
    # 1-10 June: Saturday 1 June to Monday 10 June, so two Saturdays, Sundays and Mondays
    assert r.load_map([], date(2024, 6, 1), date(2024, 6, 10))["days"] == [2, 1, 1, 1, 1, 2, 2]


# -- too short and too long ------------------------------------------------------------------

def test_duration_outliers():
    calls = [
        call("2024-06-03 09:00", by="101", talk=4),
        call("2024-06-03 10:00", by="101", talk=10),      # exactly the threshold: not short
        call("2024-06-03 11:00", by="102", talk=900),
        call("2024-06-03 12:00", by="102", talk=601),
        call("2024-06-03 13:00", direction="outbound", ext="101", number=BOB, talk=2),
        call("2024-06-03 14:00", status="missed", by=None),
        call("2024-06-03 15:00", direction="internal", ext="101", number="102", talk=1),
    ]
    result = r.duration_outliers(calls, 10, 600)
    assert [(x["started_at"][11:16], x["kind"], x["number"], x["person"], x["talk_seconds"])
            for x in result["calls"]] == [
        ("09:00", "short", ANNA, "101", 4),
        ("11:00", "long", ANNA, "102", 900),
        ("12:00", "long", ANNA, "102", 601),
        ("13:00", "short", BOB, "101", 2),
    ]
    assert result["people"] == [
        {"extension": "101", "answered": 3, "short": 2, "long": 0, "over_average": 0,
         "short_pct": 0.6667, "long_pct": 0.0, "over_average_pct": 0.0},
        {"extension": "102", "answered": 2, "short": 0, "long": 2, "over_average": 0,
         "short_pct": 0.0, "long_pct": 1.0, "over_average_pct": 0.0},
    ]
    # factor 0: the average rule is off; the campaign's average is still shown
    assert result["campaigns"] == [{"campaign": "Shop", "answered": 4, "average": 378.8,
                                    "limit": None, "over_average": 0}]
    with pytest.raises(BadInput):
        r.duration_outliers(calls, 60, 30)


def test_thresholds_from_the_form():
    assert r.parse_thresholds({}) == (10.0, 600.0, 0.0)
    assert r.parse_thresholds({}, 3.0) == (10.0, 600.0, 3.0)          # the config's factor
    assert r.parse_thresholds({"short": "5", "long": "300", "factor": "2,5"}, 3.0) == \
        (5.0, 300.0, 2.5)
    assert r.parse_thresholds({"factor": "0"}, 3.0) == (10.0, 600.0, 0.0)      # off
    for bad in ({"short": "x"}, {"short": "700"}, {"long": "-1"}, {"factor": "0.5"},
                {"factor": "101"}, {"factor": "x"}):
        with pytest.raises(BadInput):
            r.parse_thresholds(bad)


# -- categories by campaign ------------------------------------------------------------------

def test_categories_by_campaign():
    def wrap(category):
        return {"category": category, "rating": 4}

    calls = [call("2024-06-03 09:00", wrapup=wrap("Sale")),
             call("2024-06-03 09:10", wrapup=wrap("Sale")),
             call("2024-06-03 09:20", wrapup=wrap("Question")),
             call("2024-06-03 09:30"),
             call("2024-06-03 09:40", campaign="Paper", wrapup=wrap("Question")),
             call("2024-06-03 09:50", campaign="Paper", wrapup=wrap("Booking")),
             call("2024-06-03 10:00", campaign="Paper", status="missed", by=None),  # missed
             call("2024-06-03 10:10", campaign="", wrapup=wrap("Sale"))]
    result = r.categories_by_campaign(calls)
    assert result["categories"] == ["Sale", "Question", "Booking", ""]
    assert [(x["campaign"], x["counts"], x["total"]) for x in result["rows"]] == [
        ("Shop", {"Sale": 2, "Question": 1, "": 1}, 4),
        ("Paper", {"Question": 1, "Booking": 1}, 2),
        ("", {"Sale": 1}, 1),
    ]
    assert result["total"]["counts"] == {"Sale": 3, "Question": 2, "": 1, "Booking": 1}
    assert result["total"]["total"] == 7


# -- missed-call recovery ----------------------------------------------------------------------

def entry(first: str, campaign: str = "Shop", how: str | None = None, cleared: str = "",
          by: str = "", call_id: str = "") -> dict:
    found = {"number": ANNA, "campaign": campaign, "missed_calls": 1,
             "first_missed_at": first + ":00+02:00", "last_missed_at": first + ":00+02:00"}
    if how:
        found.update(how=how, cleared_at=cleared + ":00+02:00", cleared_by=by)
        if call_id:
            found["call_id"] = call_id
    return found


def test_recovery_by_campaign_and_person():
    back = call("2024-06-03T09:40", direction="outbound", ext="101", number=ANNA, value=800.0,
                callback={"how": "called_back"})
    entries = [
        entry("2024-06-03T09:00", how="called_back", cleared="2024-06-03T09:40", by="101",
              call_id=back["id"]),                                        # 40 min, 800
        entry("2024-06-03T10:00", how="called_back", cleared="2024-06-03T13:00", by="101",
              call_id="gone"),                                            # 3 h, lead 300
        entry("2024-06-03T20:00", how="called_again", cleared="2024-06-04T08:00", by="102"),
        entry("2024-06-04T11:00", campaign="Paper", how="called_back",
              cleared="2024-06-04T11:30", by="102"),                      # 30 min, lead 100
        entry("2024-06-04T12:00", campaign="Paper", how="dismissed",
              cleared="2024-06-04T12:05", by="olga"),
        entry("2024-06-05T09:00"),                                        # still waiting
        entry("2024-05-31T09:00", how="called_back", cleared="2024-06-03T09:00", by="101"),
    ]
    result = r.recovery(entries, [back], *JUNE_1_15, {"Shop": 300.0, "Paper": 100.0})

    def rows(items):
        return [(x["name"], x["missed"], x["recovered"], x["recovered_pct"],
                 x["median_seconds"], x["within_hour_pct"], x["same_day_pct"], x["value"],
                 x["waiting"], x["dismissed"]) for x in items]

    assert rows(result["campaigns"]) == [
        # name   missed rec %rec    median  <1h     same    value   wait dism
        ("Shop", 4,     3,  0.75,   10800,  0.25,   0.5,    1400.0, 1,   0),
        ("Paper", 2,    1,  0.5,    1800,   0.5,    0.5,    100.0,  0,   1),
    ]
    assert rows([result["total"]]) == [("", 6, 4, 0.6667, 6600, 0.3333, 0.5, 1500.0, 1, 1)]
    # by person (who cleared them) the shares are of their own recoveries
    assert [(x["name"], x["recovered"], x["median_seconds"], x["within_hour_pct"],
             x["same_day_pct"], x["value"]) for x in result["people"]] == [
        ("101", 2, 6600, 0.5, 1.0, 1100.0),
        ("102", 2, 22500, 0.5, 0.5, 400.0),
    ]


# -- the report builder ------------------------------------------------------------------------

def test_builder_filters():
    def wrap(category, rating, tags):
        return {"category": category, "rating": rating, "tags": tags}

    a = call("2024-06-03 09:00", talk=20, target=False, first_time=True,
             wrapup=wrap("Sale", 5, ["VIP", "parking"]))
    b = call("2024-06-03 10:00", talk=200, target=True, wrapup=wrap("Question", 2, ["price"]))
    c = call("2024-06-03 11:00", talk=90, target=True, first_time=True)
    calls = [a, b, c]

    def ids(**args):
        return [calls[row]["id"] for row in sel.select(calls, sel.parse_report_filter(args))]

    assert ids() == [a["id"], b["id"], c["id"]]
    assert ids(category="Sale") == [a["id"]]
    assert ids(tag="vip") == [a["id"]]                      # tags match in any case
    assert ids(rating_min="3") == [a["id"]]                 # unrated calls never match
    assert ids(rating_max="2") == [b["id"]]
    assert ids(talk_min="60", talk_max="120") == [c["id"]]
    assert ids(target="1") == [b["id"], c["id"]]
    assert ids(first_time="1", target="1") == [c["id"]]
    assert ids(first_time="") == [a["id"], b["id"], c["id"]]
    for bad in ({"rating_min": "6"}, {"rating_min": "x"}, {"talk_min": "-1"},
                {"rating_min": "4", "rating_max": "2"}, {"talk_min": "9", "talk_max": "3"},
                {"target": "maybe"}, {"tag": "x" * 101}):
        with pytest.raises(BadInput) as caught:
            sel.parse_report_filter(bad)
        assert caught.value.field in bad


def test_builder_columns_and_rows():
    assert sel.parse_columns([]) == sel.DEFAULT_COLUMNS
    assert sel.parse_columns(["tags", "started_at", ""]) == ("started_at", "tags")
    with pytest.raises(BadInput):
        sel.parse_columns(["started_at", "password"])
    inbound = call("2024-06-03 09:00", wrapup={"rating": 4, "tags": ["a", "b"],
                                               "category": "Sale"},
                   callback={"how": "called_again"})
    outbound = call("2024-06-03 10:00", direction="outbound", ext="102", number=BOB)
    columns = ("started_at", "number", "person", "rating", "tags", "category", "callback")
    assert sel.builder_rows([inbound, outbound], columns) == [
        {"started_at": "2024-06-03T09:00:00+02:00", "number": ANNA, "person": "101",
         "rating": 4, "tags": "a; b", "category": "Sale", "callback": "called_again"},
        {"started_at": "2024-06-03T10:00:00+02:00", "number": BOB, "person": "102",
         "rating": None, "tags": "", "category": None, "callback": None},
    ]


def test_the_bench_runs_every_report_on_generated_calls():
    """benchmarks/bench_reports.py on a small year (nothing timed here; `make bench` times)."""
    from benchmarks import bench_reports

    rows = bench_reports.run(2000, 1)
    assert [row["report"] for row in rows] == list(bench_reports.reports([], []))
    assert all(row["calls"] == 2000 and row["measured"].endswith(" ms") for row in rows)
