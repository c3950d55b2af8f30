"""The figures an owner acts on, in Chromium: the dashboard's added figures and trends equal
/api/summary, the missed-reason and region modules, the weekly summary. A fixed fortnight of
May 2024 (never today). Screenshots go to test-artifacts/screenshots/figures-*.png."""

from __future__ import annotations

import re

import webui_helpers as h
from test_api_figures import CALLER3, at, outbound
import pytest
from test_browser import CHROMIUM, LAPTOP, Live, clean, new_page, shot, sign_in

from firmware.config import parse_config
from firmware.pbx import events as ev
from firmware.tracker.query import CallFilter

WEEK = "from=2024-05-06&to=2024-05-12"


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright     # test_browser skips without it
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        yield browser
        browser.close()


def missed(start, caller, dialled, reason):
    call_id = f"m{int(start)}"
    return [ev.CallOffered(call_id, dialled, caller, start, "provider"),
            ev.CallRinging(call_id, "101", start + 0.5), ev.CallEnded(call_id, reason, start + 30)]


def fortnight(tracker):
    """Two weeks: the second has more calls, more answered in time, some lost."""
    calls = []
    for back in range(7, 0, -1):                 # 29 April .. 5 May: the week before
        calls.append(h.inbound(at(6, 9) - back * 86400, f"+4850{back:07d}", h.SHOP, ring=14,
                               talk=90))
    for n, day in enumerate(range(6, 13)):
        # Sunday's Shop call talks 580 s: Shop's average is (6 x 120 + 580) / 7 = 185.7 s,
        # and 580 s is over 3x that (557 s; too long, though under the fixed 600 s); Sales
        # (102) takes the Newspaper calls
        calls.append(h.inbound(at(day, 9), f"+4860{day:07d}", h.SHOP, ring=4,
                               talk=580 if day == 12 else 120))
        calls.append(h.inbound(at(day, 11), f"+48221{day:06d}", h.PAPER, ring=6, talk=50,
                               by="102"))
        if n % 2:
            calls.append(h.inbound(at(day, 15), f"+4812{day:07d}", h.SHOP, ring=9,
                                   talk=None))
    calls.append(missed(at(7, 13), CALLER3, h.PAPER, ev.RING_TIMEOUT))
    calls.append(missed(at(8, 13), "+48581234567", h.SHOP, ev.NOBODY_AVAILABLE))
    calls.append(outbound(at(9, 10), CALLER3))
    h.feed(tracker, *calls)


@pytest.fixture
def live(tmp_path, monkeypatch):
    # Shop window costs 900 a month: 210 for the week (the contract's 30-day month)
    costly = h.CONFIG.replace("lead_value = 300\n", "lead_value = 300\ncost_per_month = 900\n")
    monkeypatch.setattr(h, "CONFIG", costly)
    monkeypatch.setattr(h, "config", lambda: parse_config(costly, "<test>"))
    box = Live(tmp_path)
    box.users.set_password(h.OWNER, h.OWNER_PW, "owner")
    fortnight(box.tracker)
    yield box
    box.close()


def figures_on(page) -> dict[str, str]:
    return {el.get_attribute("data-figure"): el.inner_text().replace("\u00a0", " ")
            for el in page.locator("[data-figure]").all()}


def test_dashboard_shows_the_added_figures_with_trends(live, chromium):
    page = new_page(chromium, viewport=LAPTOP, locale="en-GB")
    sign_in(page, live, h.OWNER, h.OWNER_PW)
    page.wait_for_url(live.url + "/")
    page.goto(f"{live.url}/?{WEEK}")
    summary = page.request.get(f"{live.url}/api/summary?{WEEK}").json()
    shown = figures_on(page)
    assert shown["answered"] == str(summary["answered"]) == "14"
    assert shown["missed"] == str(summary["missed"]) == "5"
    assert shown["answered_within"] == f"{round(100 * summary['answered_within']['share'])}%"
    assert shown["value"].replace(" ", "") == "2.800PLN"   # PLN (the box), en_PL (the reader)
    # 7 Shop leads (300) and 7 Newspaper leads (100); lost: three Shop callers who gave up
    # and one nobody could take (300 each); CALLER3 was called back
    assert summary["value"] == 7 * 300 + 7 * 100 and summary["unrecovered_value"] == 1200
    assert summary["previous"]["answered"] == 7
    trends = {el.inner_text() for el in page.locator(".trend").all()}
    assert "▲ 100%" in trends                        # answered: 14 against 7
    assert page.locator(".figure.answered .trend.good").count() == 1
    assert page.locator(".figure.missed .trend.bad").count() == 1
    assert page.locator(".figure.wait .trend.good").count() == 1      # shorter wait
    reasons = page.locator("#m-reasons").inner_text()
    assert "Caller gave up while ringing" in reasons and "Nobody available" in reasons
    assert "Warsaw" in page.locator("#m-regions").inner_text()
    assert page.locator("#m-per_day rect.bar.missed").count() == 4     # 7, 8, 9, 11 May
    assert page.locator("#m-per_day rect.bar.answered").count() == 7
    # too long against the average: Sunday's 580 s Shop call, none the week before
    assert summary["too_long"] == {"factor": 3.0, "calls": 1, "share": round(1 / 14, 4)}
    assert shown["too_long"] == "1"
    assert page.locator(".figure.long .trend.bad").count() == 1
    assert page.locator(".figure.long .label").text_content() == "Too long (over 3× average)"
    # calls per person per hour: the heat map's cells are the summary's counts
    assert heat_cells(page, "#m-people_hours") == summary_cells(summary)
    assert summary_cells(summary) == {("101 · Reception", 9): 7, ("102 · Sales", 11): 7}
    # what each campaign costs per call and per target call, against its value: the table
    # equals /api/campaigns
    campaigns = page.request.get(f"{live.url}/api/campaigns?{WEEK}").json()["campaigns"]
    assert [(c["name"], c["calls"], c["target_calls"], c["value"], c["cost"],
             c["cost_per_call"], c["cost_per_target_call"]) for c in campaigns] == [
        ("Shop window", 11, 7, 2100, 210, 19.09, 30), ("Newspaper", 8, 7, 700, 0, 0, 0)]
    for c in campaigns:
        row = page.locator(f'.campaign-costs tr[data-campaign="{c["name"]}"]')
        cells = {key: row.locator(f"[data-key={key}]").inner_text()
                 for key in ("calls", "target_calls", "value", "cost", "cost_per_call",
                             "cost_per_target_call")}
        assert (int(cells["calls"]), int(cells["target_calls"])) == (c["calls"],
                                                                   c["target_calls"])
        for key in ("value", "cost", "cost_per_call", "cost_per_target_call"):
            assert money(cells[key]) == c[key], key
    assert page.locator(".campaign-costs td.over").count() == 0      # leads worth more
    shot(page, "figures-01-dashboard")
    page.goto(f"{live.url}/dashboard/people_hours?{WEEK}")
    assert heat_cells(page, "#m-people_hours") == summary_cells(summary)
    assert "7 answered · most at 09:00–09:59" in page.locator("table.data").inner_text()
    shot(page, "figures-08-module-people-hours")
    page.goto(f"{live.url}/dashboard/reasons?{WEEK}")
    shot(page, "figures-02-module-reasons")
    page.goto(f"{live.url}/dashboard/regions?{WEEK}")
    assert "Poland" in page.locator("table.data").inner_text()
    shot(page, "figures-03-module-regions")
    page.goto(f"{live.url}/language/pl?next=/dashboard/regions?{WEEK.replace('&', '%26')}")
    assert "Warszawa" in page.locator("table.data").inner_text()      # the reader's language
    shot(page, "figures-03-module-regions-pl")
    page.goto(f"{live.url}/language/en?next=/")
    page.goto(f"{live.url}/reports/weekly?week=2024-05-06")
    weekly = figures_on(page)
    assert weekly["answered_within"] == shown["answered_within"]
    assert weekly["unrecovered_value"] == shown["unrecovered_value"]
    shot(page, "figures-04-weekly")
    assert clean(page) == []
    page.context.close()


def money(text: str) -> float:
    """A Polish box's money as an English reader sees it ("2.100,50 PLN", en_PL) as a number."""
    from babel.numbers import parse_decimal

    bare = text.replace("PLN", "").replace("zł", "")
    for space in ("\u00a0", "\u202f", " "):
        bare = bare.replace(space, "")
    return float(parse_decimal(bare, locale="en_PL"))


def heat_cells(page, where: str) -> dict[tuple[str, int], int]:
    """{(row, hour): calls} read from a heat map's cell titles ("101 · Reception,
    09:00–09:59: 7 calls answered"), the empty cells left out."""
    cells = {}
    titles = page.locator(f"{where} svg.heat g > title").evaluate_all(
        "els => els.map(e => e.textContent)")
    for title in titles:
        match = re.fullmatch(r"(.+), (\d\d):00–\d\d:59: (\d+) calls answered", title)
        assert match, title
        if int(match[3]):
            cells[(match[1], int(match[2]))] = int(match[3])
    return cells


def summary_cells(summary: dict) -> dict[tuple[str, int], int]:
    names = {"101": "Reception", "102": "Sales"}
    return {(f"{p['extension']} · {names[p['extension']]}", hour): n
            for p in summary["answered_by_hour"] for hour, n in enumerate(p["calls"]) if n}


def test_reports_show_calls_per_person_per_hour_and_too_long_calls(live, chromium):
    page = new_page(chromium, viewport=LAPTOP, locale="en-GB")
    sign_in(page, live, h.OWNER, h.OWNER_PW)
    page.wait_for_url(live.url + "/")
    summary = page.request.get(f"{live.url}/api/summary?{WEEK}").json()
    page.goto(f"{live.url}/reports/people?{WEEK}")
    assert page.locator(".heat-card h2").inner_text() == "Calls per person per hour"
    # the report counts every answered inbound call; this week all were campaign calls
    assert heat_cells(page, ".heat-card") == summary_cells(summary)
    shot(page, "figures-09-report-people-heat")
    page.goto(f"{live.url}/reports/durations?{WEEK}")
    assert page.locator("input[name=factor]").input_value() == "3"      # the config's
    tables = page.locator(".report-tables").inner_text()
    # 580 / 185.7 = 3.1 times the average (in the Polish box's numbers)
    assert "Too long (3× average)" in tables and "\t3,1" in tables
    assert "OVER 3× AVERAGE" in tables            # a column head (in capitals by CSS)
    shot(page, "figures-10-report-too-long")
    page.fill("input[name=factor]", "0")
    page.click("form.custom button[type=submit]")
    page.wait_for_load_state()
    assert "factor=0" in page.url
    assert "Too long (" not in page.locator(".report-tables").inner_text()
    assert clean(page) == []
    page.context.close()


def test_staff_claim_a_forwarded_call_and_see_the_rating_scale(live, chromium):
    live.users.set_password(h.STAFF, h.STAFF_PW, "staff", "101")
    start = at(10, 20)
    h.feed(live.tracker, [ev.CallOffered("fwd1", h.SHOP, h.MOBILE, start, "provider"),
                          ev.CallAnswered("fwd1", "", start + 6),
                          ev.CallEnded("fwd1", ev.COMPLETED, start + 200)])
    page = new_page(chromium, viewport=LAPTOP, locale="en-GB")
    sign_in(page, live, h.STAFF, h.STAFF_PW)
    page.wait_for_load_state()
    call = next(c for c in live.tracker.calls(CallFilter()) if c["started_at"][8:13] == "10T20")
    page.goto(f"{live.url}/calls/{call['id']}")
    assert page.locator("label[title='5: ready to sign']").count() == 1
    page.check("label.claim input")
    page.click("label[title='4: likely to buy']")
    shot(page, "figures-05-claim-forwarded-call")
    page.click("form.wrapup button.primary")
    page.wait_for_load_state()
    assert live.tracker.call(call["id"])["answered_by"] == "101"
    assert live.tracker.call(call["id"])["wrapup"]["rating"] == 4
    shot(page, "figures-06-claimed")
    assert clean(page) == []
    page.context.close()


def test_monthly_summary(live, chromium):
    page = new_page(chromium, viewport=LAPTOP, locale="en-GB")
    sign_in(page, live, h.OWNER, h.OWNER_PW)
    page.wait_for_url(live.url + "/")
    page.goto(f"{live.url}/reports")
    page.click("text=Monthly summary")
    page.wait_for_load_state()
    page.goto(f"{live.url}/reports/monthly?month=2024-05")
    summary = page.request.get(f"{live.url}/api/summary?from=2024-05-01&to=2024-05-31").json()
    shown = figures_on(page)
    assert shown["answered"] == str(summary["answered"]) == "19"
    assert shown["unrecovered_value"].replace(" ", "") == "1.200PLN"
    assert "Why calls were missed" in page.locator(".modules").inner_text()
    shot(page, "figures-07-monthly")
    page.click("text=Month before")
    page.wait_for_load_state()
    assert page.url.endswith("month=2024-04")
    assert figures_on(page)["answered"] == "2"          # 29 and 30 April
    assert page.request.get(f"{live.url}/reports/monthly?month=2024-5").status == 400
    assert clean(page) == []
    page.context.close()
