"""The call list as CSV and XLSX: one row per call, the wrap-up spread over its own columns.

Spreadsheet programs run text that starts with = + - @ as a formula, so free text (names,
comments, tags) that starts so is written as plain text: CSV cells get a leading apostrophe,
XLSX cells are typed as strings. Phone numbers ("+48...") are left as they are. Spreadsheets
skip leading blanks before a formula too (" =1+1"), so the check looks past them, and at the
full-width forms of the four signs.

Control characters (a caller ID or comment from the wire) are written visibly as \\xNN: XLSX
cannot hold them at all (openpyxl refuses the whole file) and in a CSV they are traps.
Tab, line feed and carriage return stay in free text (comments have lines).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime


COLUMNS = ("id", "started_at", "direction", "caller", "callee", "campaign", "source", "status",
           "wait_seconds", "talk_seconds", "answered_by", "target", "first_time", "line_type",
           "value", "rating", "tags", "category", "comment", "contact")
_PHONE = re.compile(r"^\+[0-9]{2,17}$")
_RISKY = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_BLANKS = " \t\r\n\u00a0\u3000"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


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


def _visible(value):
    """Control characters (but tab and line ends) as \\xNN text."""
    if isinstance(value, str) and _CONTROL.search(value):
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def _safe_text(value):
    value = _visible(value)
    if isinstance(value, str) and value.lstrip(_BLANKS).startswith(_RISKY) \
            and not _PHONE.match(value):
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
    from openpyxl import Workbook              # only when a file is asked for: 10 MB idle
    from openpyxl.cell import WriteOnlyCell

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
                cell = WriteOnlyCell(sheet, _visible(value))
                if isinstance(value, str) and value:
                    cell.data_type = "s"   # never a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
