"""The funnel report as CSV and XLSX, like the other reports: one table, a row per group.

Rows: `section` (stage, campaign, source, person, lost reason, cycle), `name`, `contacts`,
`won`, `lost`, `value`. Free text is written as text, never as a formula (exports._safe_text).
"""

from __future__ import annotations

import csv
import io


from firmware.webui.exports import _safe_text
from firmware.webui.i18n import N_
from firmware.webui.i18n import gettext as _

# The reader's language, like the funnel page (lower case, as the English has always been).
COLUMNS = (N_("section"), N_("name"), N_("contacts"), N_("won"), N_("lost"), N_("value"))


def header() -> list[str]:
    return [_(column) for column in COLUMNS]


def rows(figures: dict) -> list[list]:
    from firmware.webui.contacts import stage_label

    out: list[list] = [[_("stage"), stage_label(stage), count, None, None, None]
                       for stage, count in figures["stages"].items()]
    for section, key in ((N_("campaign"), "by_campaign"), (N_("source"), "by_source"),
                         (N_("person"), "by_owner")):
        out += [[_(section), r["name"], r["contacts"], r["won"], r["lost"], r["value"]]
                for r in figures[key]]
    out += [[_("lost reason"), _(r["reason"]), r["count"], None, None, None]
            for r in figures["lost_reasons"]]
    out.append([_("avg days to won"), "", figures["won_contacts"], None, None,
                figures["avg_days_to_won"]])
    return out


def to_csv(figures: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header())
    for row in rows(figures):
        writer.writerow(["" if v is None else _safe_text(v) for v in row])
    return out.getvalue()


def to_xlsx(figures: dict) -> bytes:
    from openpyxl import Workbook              # only when a file is asked for: 10 MB idle
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Funnel"))
    sheet.append(header())
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
