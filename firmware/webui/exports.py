"""The call list as CSV and XLSX: one row per call, the wrap-up spread over its own columns.

Spreadsheet programs run text that starts with = + - @ as a formula, so free text (names,
comments, tags) that starts so is written as plain text: CSV cells get a leading apostrophe,
XLSX cells are typed as strings. Phone numbers ("+48...") are left as they are.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

COLUMNS = ("id", "started_at", "direction", "caller", "callee", "campaign", "source", "status",
           "wait_seconds", "talk_seconds", "answered_by", "target", "first_time", "line_type",
           "value", "rating", "tags", "category", "comment", "contact")
_PHONE = re.compile(r"^\+[0-9]{2,17}$")
_RISKY = ("=", "+", "-", "@", "\t", "\r")


def rows(calls: list[dict]) -> list[list]:
    """Cells per call in COLUMNS order (values as in the API, tags joined with "; ")."""
    result = []
    for call in calls:
        wrap = call.get("wrapup") or {}
        row = [call.get(name) for name in COLUMNS[:14]]
        row += [call.get("value"), wrap.get("rating"), "; ".join(wrap.get("tags") or ()),
                wrap.get("category") or "", wrap.get("comment") or "",
                (call.get("contact") or {}).get("name") or ""]
        result.append(row)
    return result


def _safe_text(value):
    if isinstance(value, str) and value.startswith(_RISKY) and not _PHONE.match(value):
        return "'" + value
    return value


def to_csv(calls: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows(calls):
        writer.writerow(["" if v is None else _safe_text(v) for v in row])
    return out.getvalue()


def to_xlsx(calls: list[dict]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Calls")
    sheet.append(list(COLUMNS))
    for row in rows(calls):
        cells = []
        for index, value in enumerate(row):
            if COLUMNS[index] == "started_at" and value:
                # Excel has no time zones: the local wall time, as the box shows it.
                value = datetime.fromisoformat(value).replace(tzinfo=None)
                cell = WriteOnlyCell(sheet, value)
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            else:
                cell = WriteOnlyCell(sheet, value)
                if isinstance(value, str) and value:
                    cell.data_type = "s"   # never a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
