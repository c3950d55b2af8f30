"""CSV and XLSX exports: the call list, safe to open in a spreadsheet."""

import csv
import io

import pytest
from openpyxl import load_workbook

from firmware.tracker.query import CallFilter
from firmware.webui import exports

CALL = {"id": "a1", "started_at": "2024-05-01T12:00:00+02:00", "direction": "inbound",
        "caller": "+48501234567", "callee": "+48221234567", "campaign": "=HYPERLINK(\"x\")",
        "source": "@evil", "status": "answered", "wait_seconds": 4.0, "talk_seconds": 60.0,
        "answered_by": "101", "target": True, "first_time": True, "line_type": "mobile",
        "value": 300.0, "wrapup": {"rating": 5, "tags": ["-1+1", "vip"], "category": "Sale",
                                   "comment": "+SUM(A1)"}}


def test_csv_neutralises_formulas_but_keeps_numbers():
    rows = list(csv.DictReader(io.StringIO(exports.to_csv([CALL]))))
    row = rows[0]
    assert row["caller"] == "+48501234567"
    assert row["campaign"] == "'=HYPERLINK(\"x\")" and row["source"] == "'@evil"
    assert row["comment"] == "'+SUM(A1)" and row["tags"] == "'-1+1; vip"
    assert row["rating"] == "5" and row["value"] == "300.0"


def test_xlsx_cells_are_never_formulas():
    sheet = load_workbook(io.BytesIO(exports.to_xlsx([CALL]))).active
    header, row = list(sheet.values)
    cells = dict(zip(header, row))
    assert cells["campaign"] == '=HYPERLINK("x")'          # shown as text, not run
    assert all(c.data_type != "f" for c in sheet[2])
    assert cells["started_at"].isoformat() == "2024-05-01T12:00:00"
    assert cells["value"] == 300 and cells["caller"] == "+48501234567"


def test_empty_exports_have_headers():
    assert exports.to_csv([]).splitlines() == [",".join(exports.COLUMNS)]
    sheet = load_workbook(io.BytesIO(exports.to_xlsx([]))).active
    assert list(sheet.values) == [exports.COLUMNS]


# -- issue 14.13 ---------------------------------------------------------------------------------
def test_control_characters_are_written_visibly_and_never_break_the_xlsx():
    call = dict(CALL, caller="+4850\x001234567", campaign="Shop\x1b[31m",
                wrapup={"comment": "line one\nline two\x0b\x01", "tags": ["a\x07"]})
    sheet = load_workbook(io.BytesIO(exports.to_xlsx([call]))).active
    header, row = list(sheet.values)
    cells = dict(zip(header, row))
    assert cells["caller"] == "+4850\\x001234567"
    assert cells["campaign"] == "Shop\\x1b[31m"
    assert cells["comment"] == "line one\nline two\\x0b\\x01" and cells["tags"] == "a\\x07"
    row = next(csv.DictReader(io.StringIO(exports.to_csv([call]))))
    assert row["campaign"] == "Shop\\x1b[31m" and row["comment"] == "line one\nline two\\x0b\\x01"


@pytest.mark.parametrize("text", [" =1+1", "  +SUM(A1)", "\u00a0-2+3", "\n@cmd", "\uff1dcmd"])
def test_the_csv_guard_looks_past_leading_blanks(text):
    call = dict(CALL, wrapup={"comment": text})
    row = next(csv.DictReader(io.StringIO(exports.to_csv([call]))))
    assert row["comment"] == "'" + text


def test_an_export_of_a_call_with_control_characters_is_200(client, seeded):
    import webui_helpers as h
    call = next(c for c in seeded.calls(CallFilter()) if c["answered_by"] == "101")
    answer = client.post(f"/api/calls/{call['id']}/wrapup", headers=h.basic(h.OWNER, h.OWNER_PW),
                         json={"comment": "\x01 =cmd|' /C calc'!A0\x00"})
    assert answer.status_code == 200                    # stored as given
    for path in ("/api/calls.xlsx", "/api/calls.csv"):
        assert client.get(path, headers=h.basic(h.OWNER, h.OWNER_PW)).status_code == 200
