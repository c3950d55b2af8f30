"""The funnel report as CSV and XLSX, like the other reports: one table, a row per group.

Rows: `section` (stage, campaign, source, person, lost reason, cycle), `name`, `contacts`,
`won`, `lost`, `value`. Free text is written as text, never as a formula (exports._safe_text).
"""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from firmware.webui.exports import _safe_text

COLUMNS = ("section", "name", "contacts", "won", "lost", "value")


def rows(figures: dict) -> list[list]:
    out: list[list] = [["stage", stage, count, None, None, None]
                       for stage, count in figures["stages"].items()]
    for section, key in (("campaign", "by_campaign"), ("source", "by_source"),
                         ("person", "by_owner")):
        out += [[section, r["name"], r["contacts"], r["won"], r["lost"], r["value"]]
                for r in figures[key]]
    out += [["lost reason", r["reason"], r["count"], None, None, None]
            for r in figures["lost_reasons"]]
    out.append(["avg days to won", "", figures["won_contacts"], None, None,
                figures["avg_days_to_won"]])
    return out


def to_csv(figures: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows(figures):
        writer.writerow(["" if v is None else _safe_text(v) for v in row])
    return out.getvalue()


def to_xlsx(figures: dict) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Funnel")
    sheet.append(list(COLUMNS))
    for row in rows(figures):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value)
            if isinstance(value, str) and value:
                cell.data_type = "s"       # never a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
