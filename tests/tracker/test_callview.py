"""The reports on the call table's columns (callview.py) against hand-computed figures on the
days that test a clock: the autumn DST change (02:00-02:59 happens twice in Warsaw on Sunday
27 October 2024), the spring one (02:00-02:59 never happens on 31 March 2024) and calls just
after midnight, whose local day is not their UTC day. Each report is also run on the same
calls in the /api/calls shape (the reports' old input) and must give the same figures."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from firmware.tracker import report_select as sel
from firmware.tracker import reports as r
from firmware.tracker.callview import TableView, ViewOfCalls
from firmware.tracker.index import CallIndex, base36
from firmware.tracker.localtime import iso_formatter
from firmware.tracker.records import record_value, to_api

WARSAW = ZoneInfo("Europe/Warsaw")
ANNA, BOB = "+48501000001", "+48501000002"
CAMPAIGNS = [SimpleNamespace(name="Shop", source="Outdoor", cost_per_month=300.0),
             SimpleNamespace(name="Paper", source="Print", cost_per_month=0.0)]


def at(text: str, offset_hours: int) -> float:
    """Epoch of local wall time `text` ("YYYY-MM-DD HH:MM") at a given UTC offset."""
    moment = datetime.fromisoformat(text).replace(tzinfo=timezone(timedelta(hours=offset_hours)))
    return moment.timestamp()


def stored(n: int, start: float, *, campaign: str = "Shop", status: str = "answered",
           by: str | None = "101", talk: float = 60.0, rang=("101", "102"),
           direction: str = "inbound", number: str = ANNA, ext: str = "",
           wrapup: dict | None = None, callback: dict | None = None,
           transfers: list | None = None) -> dict:
    """A stored call record as build_record makes it."""
    answered = status == "answered"
    inbound = direction == "inbound"
    record = {
        "id": base36(int(start * 1000), 9) + base36(n, 2), "direction": direction,
        "caller": number if inbound else ext, "callee": "+48221234567" if inbound else number,
        "campaign": campaign if inbound else "", "source": "Outdoor" if inbound else "",
        "trunk": "provider", "extension": ext, "offered_at": start,
        "answered_at": start + 4.04 if answered else None,
        "ended_at": start + 4.04 + (talk if answered else 0.0), "wait_seconds": 4.04,
        "talk_seconds": talk if answered else 0.0, "status": status,
        "missed_reason": None if answered or not inbound else "caller_hangup",
        "end_reason": "completed", "answered_by": by if answered and inbound else None,
        "rang": list(rang) if inbound else [], "line_type": "mobile",
        "lead_value": 300.0 if inbound else 0.0, "target": answered and talk >= 30,
        "first_time": False, "wrapup": wrapup, "callback": callback,
    }
    if transfers:
        record["transfers"] = transfers
    record["value"] = record_value(record)
    return record


CALLS = [
    # Saturday 30 March, 23:59 (+01:00): a missed Paper call, the day before spring forward
    stored(1, at("2024-03-30 23:59", 1), campaign="Paper", status="missed", by=None,
           rang=("101",)),
    # Sunday 31 March, 03:05 (+02:00): the first hour after 02:00 was skipped; 5 s: short
    stored(2, at("2024-03-31 03:05", 2), campaign="Paper", talk=5.0),
    # Saturday 26 October 23:50 (+02:00), then Sunday 27 October 00:10 (+02:00): after
    # midnight locally, still the 26th in UTC (22:10Z)
    stored(3, at("2024-10-26 23:50", 2), talk=700.0),
    stored(4, at("2024-10-27 00:10", 2), by="102", number=BOB,
           wrapup={"category": "Sale", "rating": 4, "tags": ["VIP"], "value": 50.0}),
    # the hour 02:00-02:59 twice: 02:30 summer time (00:30Z) and 02:15 winter time (01:15Z,
    # later although its wall time is earlier)
    stored(5, at("2024-10-27 02:30", 2), talk=61.06),
    stored(6, at("2024-10-27 02:15", 1), status="missed", by=None),
    # an outbound call-back that cleared the missed caller; talk split by a transfer
    stored(7, at("2024-10-27 02:40", 1), direction="outbound", ext="102", number=ANNA,
           talk=90.0, callback={"how": "called_back", "number": ANNA}),
    stored(8, at("2024-10-27 03:10", 1), talk=100.0,
           transfers=[["102", at("2024-10-27 03:10", 1) + 4.04 + 30.0]]),
]
SPRING = (date(2024, 3, 30), date(2024, 3, 31))
AUTUMN = (date(2024, 10, 26), date(2024, 10, 27))


@pytest.fixture(scope="module")
def index() -> CallIndex:
    index = CallIndex(WARSAW)
    index.load(CALLS)
    return index


def views(index: CallIndex, start: date, end: date):
    """The table's view of local days start..end, and the same calls as /api/calls dicts."""
    low = datetime(start.year, start.month, start.day, tzinfo=WARSAW).timestamp()
    after = end + timedelta(days=1)
    high = datetime(after.year, after.month, after.day, tzinfo=WARSAW).timestamp()
    view = index.view(low, high)
    calls = [to_api(record, WARSAW) for record in index.newest_first(low, high)]
    return view, ViewOfCalls(calls)


def both(index, period, report):
    table, dicts = views(index, *period)
    assert isinstance(table, TableView)
    first, second = report(table), report(dicts)
    assert first == second
    return first


def test_days_and_hours_are_local_across_dst_and_midnight(index):
    table, _ = views(index, date(2024, 3, 1), date(2024, 11, 1))
    days = [date.fromordinal(d).isoformat() for d in table.day]
    assert list(zip(days, table.hour)) == [
        ("2024-03-30", 23), ("2024-03-31", 3), ("2024-10-26", 23), ("2024-10-27", 0),
        ("2024-10-27", 2), ("2024-10-27", 2), ("2024-10-27", 2), ("2024-10-27", 3)]
    # rows in the order the calls began: 02:30 summer time before 02:15 winter time
    assert [table.started_at(row) for row in (4, 5)] == [
        "2024-10-27T02:30:00+02:00", "2024-10-27T02:15:00+01:00"]
    assert table.started_texts(range(8)) == [table.started_at(row) for row in range(8)]
    assert table.ids(range(8)) == [call["id"] for call in CALLS]
    assert list(table.wait) == [4.0] * 8                        # 0.1 s, as /api/calls
    assert list(table.talk) == [0.0, 5.0, 700.0, 60.0, 61.1, 0.0, 90.0, 100.0]


def test_load_map_on_dst_days(index):
    result = both(index, AUTUMN, lambda v: r.load_map(v, *AUTUMN))
    nonzero = {(w, h): n for w, row in enumerate(result["counts"]) for h, n in enumerate(row)
               if n}
    # Saturday 23:00; Sunday 00:00 (after midnight), 02:00 twice (both 02:xx), 03:00
    assert nonzero == {(5, 23): 1, (6, 0): 1, (6, 2): 2, (6, 3): 1}
    assert result["total"] == 5 and result["days"] == [0, 0, 0, 0, 0, 1, 1]
    spring = both(index, SPRING, lambda v: r.load_map(v, *SPRING))
    assert spring["counts"][5][23] == 1 and spring["counts"][6][3] == 1
    assert spring["total"] == 2


def test_new_campaign_check_goes_by_the_moment_not_the_wall_clock(index):
    [shop, paper] = both(index, (date(2024, 10, 27), date(2024, 10, 27)),
                         lambda v: r.new_campaign_check(v, ["Shop", "Paper"],
                                                        date(2024, 10, 27),
                                                        date(2024, 10, 27)))
    # the first call is the one after midnight; the last one the 03:10 call, and the 02:15
    # winter-time call came after the 02:30 summer-time one
    assert shop == {"name": "Shop", "started": "2024-10-27",
                    "first_call": "2024-10-27T00:10:00+02:00",
                    "last_call": "2024-10-27T03:10:00+01:00", "calls": 4, "days": 1,
                    "days_without": 0, "quiet_days": []}
    assert paper["calls"] == 0
    [early] = [row for row in r.new_campaign_check(
        views(index, *AUTUMN)[0], ["Shop"], *AUTUMN)]
    assert (early["first_call"], early["calls"], early["days"]) == \
        ("2024-10-26T23:50:00+02:00", 5, 2)


def test_per_person_and_hours_on_dst_days(index):
    result = both(index, AUTUMN, lambda v: r.per_person(v, [("101", ""), ("102", "")],
                                                       *AUTUMN))
    rows = {x["extension"]: x for x in result["rows"]}
    # 101 answered the 23:50, 02:30 and 03:10 calls; 102 the 00:10 one (and took the 03:10
    # call over after 30 s of it: 70 s of talk); both rang for the missed 02:15 call
    assert (rows["101"]["answered"], rows["101"]["missed"], rows["101"]["total_talk"]) == \
        (3, 1, 791.1)
    assert (rows["102"]["answered"], rows["102"]["missed"], rows["102"]["total_talk"]) == \
        (1, 1, 130.0)
    assert rows["101"]["avg_answer"] == 4.0
    assert (rows["102"]["outgoing"], rows["102"]["outgoing_talk"]) == (1, 90.0)
    hours = both(index, AUTUMN, r.answered_by_hour)
    assert {ext: {h: n for h, n in enumerate(row) if n} for ext, row in hours.items()} == \
        {"101": {23: 1, 2: 1, 3: 1}, "102": {0: 1}}


def test_durations_categories_campaigns_and_recovery(index):
    spring = both(index, SPRING, lambda v: r.duration_outliers(v, 10, 600))
    assert [(x["started_at"], x["kind"], x["talk_seconds"]) for x in spring["calls"]] == \
        [("2024-03-31T03:05:00+02:00", "short", 5.0)]
    autumn = both(index, AUTUMN, lambda v: r.duration_outliers(v, 10, 600, 2))
    # Shop's answered inbound talk: 700, 60, 61.1, 100: average 230.275, limit 460.55
    assert [(x["started_at"], x["kind"]) for x in autumn["calls"]] == \
        [("2024-10-26T23:50:00+02:00", "long")]
    assert autumn["campaigns"] == [{"campaign": "Shop", "answered": 4, "average": 230.3,
                                    "limit": 460.6, "over_average": 1}]
    categories = both(index, AUTUMN, r.categories_by_campaign)
    assert categories["rows"] == [{"campaign": "Shop", "counts": {"": 3, "Sale": 1},
                                   "total": 4}]
    campaigns = both(index, AUTUMN, lambda v: r.campaigns_report(v, CAMPAIGNS, *AUTUMN))
    shop = campaigns["rows"][0]
    # four target calls (answered, talk >= 30 s); value: the wrap-up's 50 for one of them,
    # the lead value for the other three; cost: 300 a month over 2 days of 30
    assert (shop["name"], shop["calls"], shop["missed"], shop["target_calls"],
            shop["value"], shop["cost"]) == ("Shop", 5, 1, 4, 950.0, 20.0)
    entries = [{"number": ANNA, "campaign": "Shop", "missed_calls": 1,
                "first_missed_at": "2024-10-27T02:15:00+01:00",
                "last_missed_at": "2024-10-27T02:15:00+01:00", "how": "called_back",
                "cleared_at": "2024-10-27T02:40:00+01:00", "cleared_by": "102",
                "call_id": CALLS[6]["id"]}]
    recovered = both(index, AUTUMN, lambda v: r.recovery(entries, v, *AUTUMN, {"Shop": 300.0}))
    # the clearing call's value is 0 (an outbound call is no lead): the lead value counts
    assert (recovered["total"]["recovered"], recovered["total"]["median_seconds"],
            recovered["total"]["value"]) == (1, 1500, 300.0)


def test_builder_on_the_table_lists_the_latest_first(index):
    table, dicts = views(index, *AUTUMN)
    flt = sel.ReportFilter(talk_min=60)
    rows = sel.select(table, flt)
    columns = ("started_at", "number", "person", "talk_seconds", "category", "id")
    listed = sel.builder_rows(table, columns, rows)
    assert [(x["started_at"], x["person"], x["talk_seconds"]) for x in listed] == [
        ("2024-10-27T03:10:00+01:00", "101", 100.0),
        ("2024-10-27T02:40:00+01:00", "102", 90.0),
        ("2024-10-27T02:30:00+02:00", "101", 61.1),
        ("2024-10-27T00:10:00+02:00", "102", 60.0),
        ("2024-10-26T23:50:00+02:00", "101", 700.0)]
    # the same rows from the /api/calls dicts (given newest first, kept in that order)
    assert sel.builder_rows(dicts, columns, sel.select(dicts, flt)) == listed
    assert [x["category"] for x in listed] == [None, None, None, "Sale", None]
    # the call list's own filter, checked on the columns
    from firmware.tracker.query import CallFilter
    outbound = sel.select(table, sel.ReportFilter(), CallFilter(direction="outbound"))
    assert table.ids(outbound) == [CALLS[6]["id"]]
    by_ext = sel.select(table, sel.ReportFilter(), CallFilter(extension="102", number=BOB))
    assert table.ids(by_ext) == [CALLS[3]["id"]]


def test_iso_formatter_many_equals_one_at_a_time():
    fmt = iso_formatter(WARSAW)
    start = at("2024-10-27 01:00", 2)
    stamps = [start + n * 599.9999996 for n in range(40)] + [math.floor(start) + 0.25]
    assert fmt.many(stamps) == [fmt(ts) for ts in stamps]


@pytest.mark.parametrize("distinct", [1, 8, 300])
def test_sums_by_name_equal_the_loop_bit_for_bit(distinct):
    import random

    from firmware.tracker.figures import sums_by_name
    rng = random.Random(distinct)
    names = [f"c{rng.randrange(distinct)}" for _ in range(5000)]
    amounts = [rng.uniform(0, 1000) / 7 for _ in names]
    total: dict[str, float] = {}
    for name, amount in zip(names, amounts):
        total[name] = total.get(name, 0.0) + amount
    got = sums_by_name(names, amounts)
    assert {name: tally[0] for name, tally in got.items()} == total     # exact, not approx
    assert sum(count for _total, count in got.values()) == len(names)


def test_recovery_on_the_queues_epoch_times_equals_it_on_iso_text(index):
    """Tracker.callback_entries() keeps epoch seconds; the figures equal those of the
    /api/callbacks text, whole seconds as the text shows them (3600 s here, within the hour,
    although 3599.5 s passed), local days across the DST change and midnight."""
    fmt = iso_formatter(WARSAW)

    def entry(first: float, cleared: float | None, how: str | None, by: str = "101") -> dict:
        found = {"number": ANNA, "campaign": "Shop", "missed_calls": 1,
                 "first_missed_at": first, "last_missed_at": first}
        if how:
            found.update(how=how, cleared_at=cleared, cleared_by=by, call_id="none")
        return found

    raw = [entry(at("2024-10-27 02:15", 1) + 0.7, at("2024-10-27 03:15", 1) + 0.2,
                 "called_back"),                                   # 3600 s as the text shows
           entry(at("2024-10-26 23:30", 2), at("2024-10-27 00:30", 2) + 1, "called_again",
                 "102"),                                           # next day, locally
           entry(at("2024-10-27 02:50", 2), at("2024-10-27 02:10", 1), "called_back"),
           entry(at("2024-10-25 10:00", 2), at("2024-10-27 10:00", 1), "called_back"),
           entry(at("2024-10-27 09:00", 1), None, "dismissed"),
           entry(at("2024-10-27 11:00", 1), None, None)]
    texts = [{**e, **{k: fmt(e[k]) for k in ("first_missed_at", "last_missed_at",
                                               "cleared_at") if e.get(k) is not None}}
             for e in raw]
    view = views(index, *AUTUMN)[0]
    lead = {"Shop": 300.0}
    by_text = r.recovery(texts, view, *AUTUMN, lead)
    by_epoch = r.recovery(raw, view, *AUTUMN, lead, day_of=lambda ts: fmt.day_hour(ts)[0])
    assert by_epoch == by_text
    total = by_epoch["total"]
    assert (total["missed"], total["recovered"], total["waiting"], total["dismissed"],
            total["within_hour"], total["same_day"]) == (5, 3, 1, 1, 2, 2)
