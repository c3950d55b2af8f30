"""Report tables: what a report lays out, how the page shows each cell, and the same cells
in CSV and XLSX.

A `Table` holds rows of raw values and columns that name a kind ("int", "money", "pct",
"seconds", "time", ...). The page formats a cell with `show` in the box's conventions; the
files get the raw value with `export_value` (numbers stay numbers, durations are Excel times,
times the box's wall time, labels as on screen), so an export always equals the page.
Formula-looking text is neutralised as in exports.py.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable

from flask import Response

from firmware.webui.exports import _safe_text as safe_text
from firmware.webui.i18n import Formatter, direction_label, line_type_label, status_label
from firmware.webui.i18n import gettext as _


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"   # text int money pct seconds age time date phone bool status
    #                      direction line reason how dates decimal


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[dict]
    total: dict | None = None
    found: int | None = None     # the builder: calls in the whole result when `rows` is a page

    def all_rows(self) -> list[dict]:
        return self.rows + ([self.total] if self.total else [])


def show(value: Any, kind: str, fmt: Formatter) -> str:
    """A cell as the page shows it."""
    if value is None or (value == "" and kind != "text"):
        return "–"
    simple: dict[str, Callable[[Any], str]] = {
        "int": fmt.number, "money": fmt.money, "seconds": fmt.seconds, "time": fmt.datetime,
        "date": fmt.date, "phone": fmt.phone, "status": status_label,
        "direction": direction_label, "line": line_type_label,
        "decimal": lambda v: fmt.number(v, 1),
        "pct": lambda v: f"{fmt.number(100 * v, 1)}%",
        "bool": lambda v: _("yes") if v else _("no"),
        "reason": lambda v: _reasons().get(v, v), "how": lambda v: _hows().get(v, v),
        "dates": lambda v: ", ".join(fmt.short_date(d) for d in v) or "–",
        "age": lambda v: _age(v, fmt),
        "word": lambda v: _(v),    # a stored word (a default category) in the reader's language
    }
    if kind in simple:
        return simple[kind](value)
    return str(value) if value != "" else "–"


def _age(seconds: float, fmt: Formatter) -> str:
    """A long wait: "2 d 4 h" from a day on, else as `seconds` shows it."""
    if seconds < 86400:
        return fmt.seconds(seconds)
    days, rest = divmod(int(seconds), 86400)
    return _("%(days)s\u00a0d %(hours)s\u00a0h", days=days, hours=rest // 3600)


def _reasons() -> dict[str, str]:
    return {"caller_hangup": _("Caller hung up"), "ring_timeout": _("Nobody answered in time"),
            "nobody_available": _("No phone available"), "busy": _("Busy"),
            "failed": _("Failed")}


def _hows() -> dict[str, str]:
    return {"called_back": _("Called back"), "called_again": _("Caller called again"),
            "dismissed": _("Dismissed")}


def export_value(value: Any, kind: str, fmt: Formatter, *, xlsx: bool) -> Any:
    """A cell for the files: numbers stay numbers, times are the box's wall time."""
    if value is None or (value == "" and kind != "text"):
        return None
    if kind in ("int", "money", "decimal", "phone", "text"):
        return value
    if kind == "pct":
        return value if xlsx else round(100 * value, 1)
    if kind in ("seconds", "age"):
        return timedelta(seconds=round(value)) if xlsx else round(value, 1)
    if kind == "time":
        moment = fmt.local(value).replace(tzinfo=None)
        return moment if xlsx else moment.isoformat(sep=" ", timespec="seconds")
    if kind == "date":
        return date.fromisoformat(value) if xlsx else value
    return show(value, kind, fmt)


def to_csv(tables: list[Table], fmt: Formatter) -> str:
    """The tables one after another (a title line before each when there are several)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for number, table in enumerate(tables):
        if len(tables) > 1:
            if number:
                writer.writerow([])
            writer.writerow([safe_text(table.title)])
        writer.writerow([_csv_header(c) for c in table.columns])
        for row in table.all_rows():
            writer.writerow(["" if v is None else safe_text(v) for v in (
                export_value(row.get(c.key), c.kind, fmt, xlsx=False) for c in table.columns)])
    return out.getvalue()


def _csv_header(column: Column) -> str:
    """The label, with the unit the CSV's plain numbers are in."""
    if column.kind in ("seconds", "age"):
        return f"{column.label} (s)"
    if column.kind == "pct" and "%" not in column.label:
        return f"{column.label} (%)"
    return column.label


_XLSX_FORMATS = {"money": "#,##0.00", "pct": "0.0%", "seconds": "[h]:mm:ss",
                 "age": "[h]:mm:ss", "time": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd",
                 "decimal": "0.00"}


def to_xlsx(tables: list[Table], fmt: Formatter) -> bytes:
    """One sheet per table; strings typed as text (never a formula), times local."""
    from openpyxl import Workbook              # only when a file is asked for: 10 MB idle
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    used: set[str] = set()
    for table in tables:
        name = "".join(ch for ch in table.title if ch not in "[]:*?/\\")[:28] or "Report"
        while name in used:
            name += "_"
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append([c.label for c in table.columns])
        for row in table.all_rows():
            cells = []
            for column in table.columns:
                cell = WriteOnlyCell(sheet, export_value(row.get(column.key), column.kind, fmt,
                                                         xlsx=True))
                if isinstance(cell.value, str) and cell.value:
                    cell.data_type = "s"
                elif column.kind in _XLSX_FORMATS and cell.value is not None:
                    cell.number_format = _XLSX_FORMATS[column.kind]
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(tables: list[Table], fmt: Formatter, stem: str, ext: str) -> Response:
    if ext == "csv":
        body, mime = to_csv(tables, fmt), "text/csv"
    else:
        body = to_xlsx(tables, fmt)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mime, headers={
        "Content-Disposition": f'attachment; filename="{stem}.{ext}"'})
