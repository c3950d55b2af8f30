"""The second wave's figures through the API: /api/summary's added keys, /api/campaigns, and
value counting leads in the call list and the exports. A fixed week of May 2024 (never today)."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

import webui_helpers as h
from firmware.pbx import events as ev

OWNER = h.basic(h.OWNER, h.OWNER_PW)
STAFF = h.basic(h.STAFF, h.STAFF_PW)
WARSAW = ZoneInfo("Europe/Warsaw")
CALLER3 = "+48221231234"
ADDED = {"answered_within", "missed_by_reason", "unrecovered_value", "previous",
         "caller_regions"}


def at(day, hour, minute=0):
    return datetime(2024, 5, day, hour, minute, tzinfo=WARSAW).timestamp()


def outbound(start, number, talk=30):
    call_id = f"o{int(start)}"
    return [ev.DialledOut(call_id, "101", number, start), ev.CallRinging(call_id, "", start + 1),
            ev.CallAnswered(call_id, "", start + 5),
            ev.CallEnded(call_id, ev.COMPLETED, start + 5 + talk)]


@pytest.fixture
def week(tracker):
    """Monday 6 May: five Shop/Paper calls; the week before: two (so FIXED and MOBILE2 are
    no first-time callers on Monday); a call-back on Wednesday."""
    h.feed(tracker,
           h.inbound(at(6, 9), h.MOBILE, h.SHOP, ring=4, talk=120),         # target, 300
           h.inbound(at(6, 10), h.FIXED, h.SHOP, ring=12, talk=None),       # missed
           h.inbound(at(6, 11), h.MOBILE, h.SHOP, ring=3, talk=60),         # repeat: 0
           h.inbound(at(6, 12), h.MOBILE2, h.PAPER, ring=8, talk=5),        # too short: 0
           h.inbound(at(6, 13), CALLER3, h.PAPER, ring=20, talk=None),      # missed
           outbound(at(8, 10), CALLER3),                                    # called back
           h.inbound(at(1, 9), h.FIXED, h.PAPER, ring=2, talk=50),          # the week before
           h.inbound(at(2, 9), h.MOBILE2, h.SHOP, ring=15, talk=None))
    return tracker


def test_summary_has_the_added_figures(client, week):
    s = client.get("/api/summary?from=2024-05-06&to=2024-05-12", headers=OWNER).get_json()
    assert ADDED <= set(s)
    assert s["answered_within"] == {"seconds": 10, "share": round(3 / 5, 4)}
    assert s["missed_by_reason"] == {"caller_hangup": 2}
    assert s["unrecovered_value"] == 300              # FIXED on Shop; CALLER3 called back
    assert s["caller_regions"] == [{"region": "Poland", "calls": 3},
                                   {"region": "Warsaw", "calls": 2}]
    assert s["value"] == 300 and sum(p["value"] for p in s["value_over_time"]) == 300
    previous = s["previous"]
    assert "previous" not in previous and set(previous) >= ADDED - {"previous"}
    assert [p["date"] for p in previous["value_over_time"]][::6] == ["2024-04-29",
                                                                     "2024-05-05"]
    assert (previous["answered"], previous["missed"], previous["value"]) == (1, 1, 100)
    # MOBILE2's miss on 2 May was answered on 6 May: recovered, though after that period
    assert previous["unrecovered_value"] == 0 and previous["answered_within"]["share"] == 0.5
    # the extensions (docs/api.md): everyone answered by 101 at 9, 11 and 12; nothing too
    # long (Shop talked 120 and 60 s, average 90 s, 3x = 270; Paper's one call is its
    # own average)
    assert s["answered_by_hour"] == [{"extension": "101", "calls": [
        0] * 9 + [1, 0, 1, 1] + [0] * 11}]
    assert s["too_long"] == {"factor": 3.0, "calls": 0, "share": 0.0}
    assert previous["answered_by_hour"] == [{"extension": "101", "calls": [0] * 9 + [1] +
                                             [0] * 14}]


def test_campaigns(client, week):
    answer = client.get("/api/campaigns?from=2024-05-06&to=2024-05-12", headers=OWNER)
    assert answer.status_code == 200
    assert answer.get_json() == {"campaigns": [
        {"name": "Shop window", "source": "Outdoor", "calls": 3, "answered": 2, "missed": 1,
         "target_calls": 1, "first_time_callers": 1, "value": 300, "cost": 0.0,
         "cost_per_call": 0.0, "cost_per_target_call": 0.0},
        {"name": "Newspaper", "source": "Print", "calls": 2, "answered": 1, "missed": 1,
         "target_calls": 0, "first_time_callers": 1, "value": 0, "cost": 0.0,
         "cost_per_call": 0.0, "cost_per_target_call": None},
    ]}


def test_value_agrees_in_the_list_the_exports_and_the_figures(client, week):
    period = "from=2024-05-06&to=2024-05-12"
    calls = client.get(f"/api/calls?{period}", headers=OWNER).get_json()["calls"]
    listed = sum(c["value"] for c in calls)
    exported = list(csv.DictReader(io.StringIO(
        client.get(f"/api/calls.csv?{period}", headers=OWNER).get_data(as_text=True))))
    summary = client.get(f"/api/summary?{period}", headers=OWNER).get_json()
    campaigns = client.get(f"/api/campaigns?{period}", headers=OWNER).get_json()["campaigns"]
    assert listed == sum(float(row["value"]) for row in exported) == summary["value"] == \
        sum(c["value"] for c in campaigns) == 300
    # the campaigns report and its exports, for a signed-in owner
    h.sign_in(client, h.OWNER, h.OWNER_PW)
    report = list(csv.reader(io.StringIO(
        client.get(f"/reports/campaigns/export.csv?{period}").get_data(as_text=True))))
    header = next(row for row in report if "Value" in row)
    total = next(row for row in report if row and row[0] == "Total")
    assert float(total[header.index("Value")]) == 300
    sheet = load_workbook(io.BytesIO(client.get(
        f"/reports/campaigns/export.xlsx?{period}").data)).active
    rows = list(sheet.values)
    column = rows[0].index("Value")
    assert next(r for r in rows if r[0] == "Total")[column] == 300


def test_future_periods(client, week):
    s = client.get("/api/summary?from=2099-01-01&to=2099-01-07", headers=OWNER)
    assert s.status_code == 200
    assert s.get_json()["answered"] == 0 and len(s.get_json()["value_over_time"]) == 7
    partly = client.get("/api/summary?from=2024-05-06&to=2030-01-07", headers=OWNER)
    assert partly.status_code == 200 and partly.get_json()["answered"] == 3
    c = client.get("/api/campaigns?from=2099-01-01&to=2099-01-07", headers=OWNER).get_json()
    assert [e["calls"] for e in c["campaigns"]] == [0, 0]


@pytest.mark.parametrize("query, field", [("from=2024-05-07&to=2024-05-06", "from"),
                                          ("from=yesterday", "from"), ("to=2024-13-01", "to")])
def test_campaigns_bad_input(client, week, query, field):
    answer = client.get(f"/api/campaigns?{query}", headers=OWNER)
    assert answer.status_code == 400 and answer.get_json()["field"] == field


def test_campaigns_are_for_the_owner(client, week):
    assert client.get("/api/campaigns").status_code == 401
    assert client.get("/api/campaigns", headers=STAFF).status_code == 403


def test_the_panel_names_callers_regions_in_the_readers_language(owner, week):
    """The API keeps the English names (stable keys); the panel shows the reader's."""
    page = "/dashboard/regions?from=2024-05-06&to=2024-05-12"
    english = owner.get(page).get_data(as_text=True)
    assert ">Warsaw<" in english and ">Poland<" in english
    owner.get("/language/pl?next=/")
    polish = owner.get(page).get_data(as_text=True)
    assert "Warszawa" in polish and "Polska" in polish and ">Warsaw<" not in polish
    owner.get("/language/bg?next=/")
    assert "Полша" in owner.get(page).get_data(as_text=True)
