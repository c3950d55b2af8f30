"""The report pages through the Flask test client: owner only, every built-in report, the
exports equal the tables on screen (opened with openpyxl), the builder exports its whole
result, saved reports, bad input, the weekly summary."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

import webui_helpers as h
from firmware.config import parse_config
from firmware.tracker.query import CallFilter
from firmware.tracker.service import Tracker
from firmware.webui.app import create_app
from firmware.webui.i18n import Formatter
from firmware.webui.reports import BUILT_IN, PAGE_SIZE
from firmware.webui.users import UserStore
from report_calls import WARSAW, seed_history
from webui_helpers import english_client

FMT = Formatter("PL", "PLN", "Europe/Warsaw")
CONFIG = h.CONFIG.replace("lead_value = 300", "lead_value = 300\ncost_per_month = 1500")


def today() -> date:
    return datetime.now(WARSAW).date()


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    """A tracker with two weeks of calls and its app (shared: the tests here only read,
    except the saved-reports test, which cleans up after itself)."""
    folder = tmp_path_factory.mktemp("report-pages")
    config = parse_config(CONFIG)
    tracker = Tracker(config, folder)
    tracker.start()
    seed_history(tracker)
    users = UserStore(folder, hasher=h.FAST_HASHER)
    users.set_password(h.OWNER, h.OWNER_PW, "owner")
    users.set_password(h.STAFF, h.STAFF_PW, "staff", "101")
    app = create_app(config, tracker, users, secret_key="test-secret", testing=True)
    yield app, tracker, folder
    tracker.stop()


@pytest.fixture(scope="module")
def owner(box):
    client = english_client(box[0])
    assert h.sign_in(client, h.OWNER, h.OWNER_PW).status_code == 302
    return client


# -- reading the page and the files ------------------------------------------------------------

class Tables(HTMLParser):
    """The `table.report`s of a page: per table, (label, kind) per column and rows of texts."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "report" in (attrs.get("class") or ""):
            self._in = True
            self.tables.append({"kinds": [], "head": [], "rows": []})
        elif self._in and tag == "tr":
            self._row = []
        elif self._in and tag in ("th", "td"):
            self._cell = []
            if tag == "th":
                self.tables[-1]["kinds"].append(attrs.get("data-kind"))

    def handle_endtag(self, tag):
        if tag == "table" and self._in:
            self._in = False
        elif self._in and tag in ("th", "td") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif self._in and tag == "tr" and self._row is not None:
            table = self.tables[-1]
            if table["head"]:
                table["rows"].append(self._row)
            else:
                table["head"] = self._row
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def as_shown(value, kind: str) -> str:
    """An XLSX cell as the page should show it (the box is in Poland: PL conventions)."""
    if value is None:
        return "–"
    if kind == "time":
        return f"{FMT.date(value.date())} {value:%H:%M}"
    if kind in ("seconds", "age"):
        seconds = value.total_seconds()
        if kind == "age" and seconds >= 86400:
            return f"{int(seconds // 86400)}\u00a0d {int(seconds % 86400 // 3600)}\u00a0h"
        return FMT.seconds(seconds)
    if kind == "pct":
        return FMT.number(100 * value, 1) + "%"
    if kind == "int":
        return FMT.number(value)
    if kind == "decimal":
        return FMT.number(value, 1)
    if kind == "money":
        return FMT.money(value)
    if kind == "phone":
        return FMT.phone(value)
    if kind == "date":
        return FMT.date(value)
    return str(value)


def sheets(body: bytes) -> list[list[tuple]]:
    book = load_workbook(io.BytesIO(body))
    return [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets]


def assert_export_equals_screen(html: str, xlsx: bytes, *, rows: int | None = None) -> None:
    shown = Tables(html).tables
    files = sheets(xlsx)
    assert len(shown) == len(files) >= 1
    for table, sheet in zip(shown, files):
        assert list(sheet[0]) == table["head"]
        body = sheet[1:] if rows is None else sheet[1:rows + 1]
        assert len(body) == len(table["rows"])
        for screen_row, file_row in zip(table["rows"], body):
            assert [as_shown(v, k) for v, k in zip(file_row, table["kinds"])] == screen_row


# -- tests -----------------------------------------------------------------------------------

def test_reports_are_for_the_owner_only(box):
    app = box[0]
    anonymous = english_client(app)
    assert anonymous.get("/reports").status_code == 302
    staff = english_client(app)
    assert h.sign_in(staff, h.STAFF, h.STAFF_PW).status_code == 302
    for path in ("/reports", "/reports/campaigns", "/reports/people/export.xlsx",
                 "/reports/builder", "/reports/builder/export.csv", "/reports/weekly"):
        assert staff.get(path).status_code == 403, path
    assert 'href="/reports"' not in staff.get("/calls").get_data(as_text=True)


def test_index_lists_every_report(owner):
    html = owner.get("/reports").get_data(as_text=True)
    for name in BUILT_IN:
        assert f'href="/reports/{name}"' in html
    assert 'href="/reports/builder"' in html and 'href="/reports/weekly"' in html


@pytest.mark.parametrize("name", list(BUILT_IN))
def test_every_export_equals_the_report_on_screen(owner, name):
    period = "from=" + (today() - timedelta(days=20)).isoformat()
    page = owner.get(f"/reports/{name}?{period}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert Tables(html).tables[0]["rows"], "the seeded calls show in every report"
    xlsx = owner.get(f"/reports/{name}/export.xlsx?{period}")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    assert_export_equals_screen(html, xlsx.data)
    text = owner.get(f"/reports/{name}/export.csv?{period}").get_data(as_text=True)
    tables = Tables(html).tables
    titles = 2 * len(tables) - 1 if len(tables) > 1 else 0    # a title, and a blank between
    assert len(list(csv.reader(io.StringIO(text)))) == \
        sum(len(t["rows"]) + 1 for t in tables) + titles


def test_campaign_figures_and_cost(owner, box):
    tracker = box[1]
    start = today() - timedelta(days=6)
    html = owner.get(f"/reports/campaigns?from={start}").get_data(as_text=True)
    [table] = Tables(html).tables
    total = dict(zip(table["head"], table["rows"][-1]))
    summary = tracker.summary(start, today())
    assert total["Campaign"] == "Total"
    assert total["Calls"] == FMT.number(summary["calls"])
    assert total["Missed"] == FMT.number(summary["missed"])
    assert total["Target calls"] == FMT.number(summary["target_calls"])
    shop = dict(zip(table["head"], table["rows"][0]))
    assert shop["Campaign"] == "Shop window"
    cost = 1500 * 7 / 30            # the contract's month: 30 days, as /api/campaigns
    assert shop["Cost"] == FMT.money(round(cost, 2))
    per_call = round(round(cost, 2) / int(shop["Calls"]), 2)
    assert shop["Cost per call"] == FMT.money(per_call)


def test_builder_exports_the_whole_result_not_the_page(owner):
    page = owner.get("/reports/builder?days=30")
    html = page.get_data(as_text=True)
    [table] = Tables(html).tables
    assert len(table["rows"]) == PAGE_SIZE
    xlsx = owner.get("/reports/builder/export.xlsx?days=30").data
    [sheet] = sheets(xlsx)
    total = len(sheet) - 1
    assert total > PAGE_SIZE and f'<small class="muted">{total}</small>' in html
    assert_export_equals_screen(html, xlsx, rows=PAGE_SIZE)
    text = owner.get("/reports/builder/export.csv?days=30").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(text)))) == total + 1
    page2 = owner.get("/reports/builder?days=30&page=2").get_data(as_text=True)
    assert_export_equals_screen(page2, bytes_of_rows(xlsx, PAGE_SIZE), rows=PAGE_SIZE)


def bytes_of_rows(xlsx: bytes, skip: int) -> bytes:
    """The workbook without its first `skip` data rows (to compare with page 2)."""
    book = load_workbook(io.BytesIO(xlsx))
    sheet = book.worksheets[0]
    sheet.delete_rows(2, skip)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_builder_filters_and_columns(owner, box):
    tracker = box[1]
    args = "days=30&status=missed&campaign=Shop+window&columns=started_at&columns=number" \
           "&columns=status&columns=missed_reason"
    [sheet] = sheets(owner.get(f"/reports/builder/export.xlsx?{args}").data)
    assert sheet[0] == ("When", "Number", "Status", "Why missed")
    expected = [c for c in tracker.calls(CallFilter(start=today() - timedelta(days=29)))
                if c["status"] == "missed" and c["campaign"] == "Shop window"]
    assert len(sheet) - 1 == len(expected) > 0
    assert {row[2] for row in sheet[1:]} == {"Missed"}
    assert {row[3] for row in sheet[1:]} == {"Caller hung up"}
    # times are the box's wall time: the newest call first, as in the call list
    first = datetime.fromisoformat(expected[0]["started_at"]).astimezone(WARSAW)
    assert sheet[1][0] == first.replace(tzinfo=None)
    rated = owner.get("/reports/builder/export.csv?days=30&rating_min=5&columns=rating")
    rows = list(csv.reader(io.StringIO(rated.get_data(as_text=True))))
    assert rows[0] == ["Rating"] and len(rows) > 1 and {r[0] for r in rows[1:]} == {"5"}
    tagged = owner.get("/reports/builder/export.csv?days=30&tag=VIP&target=1&columns=tags"
                       "&columns=target").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(tagged)))
    assert rows[0] == ["Target call", "Tags"]          # columns keep the offered order
    assert rows[1:] and all(r[0] == "yes" and "vip" in r[1] for r in rows[1:])


def test_builder_bad_input(owner):
    answer = owner.get("/reports/builder?rating_min=9")
    assert answer.status_code == 400
    assert "rating_min" in answer.get_data(as_text=True)
    assert owner.get("/reports/builder/export.xlsx?columns=password").status_code == 400
    assert owner.get("/reports/builder/export.csv?days=0").status_code == 400
    answer = owner.get("/reports/campaigns?from=junk")
    assert answer.status_code == 400 and "Not understood" in answer.get_data(as_text=True)
    assert owner.get("/reports/campaigns/export.csv?from=junk").status_code == 400
    assert owner.get("/reports/durations?short=90&long=30").status_code == 400
    assert owner.get("/reports/nope").status_code == 404
    assert owner.get("/reports/weekly?week=junk").status_code == 400


def test_saved_reports(owner, box):
    folder = box[2]
    token = h.page_token(owner, "/reports/builder")
    form = {"csrf_token": token, "name": "  Missed   this month ", "days": "30",
            "status": "missed", "columns": ["started_at", "number"]}
    answer = owner.post("/reports/builder/save", data=form)
    assert answer.status_code == 303
    stored = json.loads((folder / "reports.json").read_text())
    assert stored == {"version": 1, "reports": [{"name": "Missed this month", "params": {
        "days": "30", "status": "missed", "columns": ["started_at", "number"]}}]}
    assert "Missed this month" in owner.get("/reports").get_data(as_text=True)
    opened = owner.get("/reports/saved/Missed this month")
    assert opened.status_code == 302
    assert "status=missed" in opened.location and "columns=number" in opened.location
    html = owner.get(opened.location).get_data(as_text=True)
    assert Tables(html).tables[0]["head"] == ["When", "Number"]
    assert owner.post("/reports/builder/save", data={**form, "name": ""}).status_code == 303
    assert owner.post("/reports/builder/save", data={**form, "rating_min": "7"}
                      ).status_code == 303
    assert len(json.loads((folder / "reports.json").read_text())["reports"]) == 1
    assert owner.post("/reports/builder/save", data={"name": "x"}).status_code == 400  # CSRF
    owner.post("/reports/saved/delete", data={"csrf_token": token, "name": "Missed this month"})
    assert json.loads((folder / "reports.json").read_text())["reports"] == []
    assert owner.get("/reports/saved/Missed this month").status_code == 404


def test_weekly_summary_is_last_week(owner, box):
    tracker = box[1]
    monday = today() - timedelta(days=today().weekday() + 7)
    html = owner.get("/reports/weekly").get_data(as_text=True)
    summary = tracker.summary(monday, monday + timedelta(days=6))
    assert f'data-figure="answered">{summary["answered"]}<' in html
    assert f'data-figure="missed">{summary["missed"]}<' in html
    assert FMT.date(monday) in html
    assert [t["head"][0] for t in Tables(html).tables] == ["Campaign", "Person"]
    earlier = owner.get(f"/reports/weekly?week={monday - timedelta(days=3)}")
    assert FMT.date(monday - timedelta(days=7)) in earlier.get_data(as_text=True)


def test_per_person_misses_come_from_the_rung_extensions(owner, box):
    tracker = box[1]
    start = today() - timedelta(days=13)
    calls = tracker.calls(CallFilter(start=start))
    missed = [c for c in calls if c["status"] == "missed"]
    assert missed and all(c["rang"] for c in missed)          # to_api carries `rang`
    html = owner.get(f"/reports/people?from={start}").get_data(as_text=True)
    rows = {row[0]: dict(zip(Tables(html).tables[0]["head"], row))
            for row in Tables(html).tables[0]["rows"]}
    assert rows["101 · Reception"]["Missed"] == str(sum("101" in c["rang"] for c in missed))
    assert rows["102 · Sales"]["Missed"] == str(sum("102" in c["rang"] for c in missed))
    answered_101 = [c for c in calls if c["direction"] == "inbound" and c["answered_by"] == "101"]
    assert rows["101 · Reception"]["Answered"] == str(len(answered_101))


def test_utilisation_over_the_opening_hours(box):
    """With [hours] set, working time is the opening hours of the period's days."""
    app, tracker, folder = box
    config = parse_config(CONFIG + '\n[hours]\nmon = "09:00-17:00"\nsat = "10:00-14:00"\n')
    shop = create_app(config, tracker, UserStore(folder, hasher=h.FAST_HASHER),
                      secret_key="test-secret", testing=True)
    client = english_client(shop)
    assert h.sign_in(client, h.OWNER, h.OWNER_PW).status_code == 302
    html = client.get("/reports/people?from=2024-06-03&to=2024-06-16").get_data(as_text=True)
    assert "over 24 h of working time" in html and "Working time: the opening hours." in html
    plain = english_client(app)
    assert h.sign_in(plain, h.OWNER, h.OWNER_PW).status_code == 302
    html = plain.get("/reports/people?from=2024-06-03&to=2024-06-16").get_data(as_text=True)
    assert "over 80 h of working time" in html and "8 h Monday to Friday" in html
