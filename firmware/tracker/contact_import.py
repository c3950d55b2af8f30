"""Reading a contacts spreadsheet (.xlsx) into rows, within limits that a hostile file cannot
get past: pure, no store, so the panel can show a preview before anything is written.

What we read: the first sheet; row 1 holds the headers, recognised case-insensitively in
English, Polish, Russian and Bulgarian (HEADERS); any number of phone columns. Cell values are
read as the spreadsheet last computed them (`data_only`), so a formula is never evaluated by
us and never stored as a formula: only its cached value, as text.

Limits (docs/api.md): MAX_FILE_BYTES uploaded, MAX_UNZIPPED_BYTES once unzipped (a zip bomb is
refused before a single row is parsed), MAX_ROWS data rows (the 20,001st makes the whole file
refused: nothing half-imported), MAX_COLUMNS columns read. openpyxl parses in read-only
(streaming) mode, so memory stays flat whatever the sheet claims its size is.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from xml.etree.ElementTree import ParseError


from firmware.tracker.contact_store import ImportRow
from firmware.tracker.errors import BadInput

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ZIP_ENTRIES = 1000
MAX_ROWS = 20_000
MAX_COLUMNS = 50
MAX_CELL = 5000

# Normalised header -> field. Normalised: lower case, single spaces, no trailing digits or
# punctuation ("Phone 2", "Telefon:", "E-mail." all count).
HEADERS: dict[str, str] = {}
for _field, _names in {
    "name": ["name", "full name", "contact", "contact name", "person", "client", "customer",
             "imię", "imie", "imię i nazwisko", "imie i nazwisko", "nazwisko", "klient",
             "kontakt", "osoba",
             "имя", "фио", "имя и фамилия", "контакт", "клиент", "контактное лицо",
             "име", "име и фамилия", "клиент", "лице за контакт"],
    "company": ["company", "company name", "organisation", "organization", "business", "firm",
                "firma", "nazwa firmy", "przedsiębiorstwo", "organizacja",
                "компания", "организация", "фирма", "название компании",
                "фирма", "компания", "организация"],
    "phone": ["phone", "phone number", "telephone", "tel", "mobile", "mobile phone", "cell",
              "number", "phone no",
              "telefon", "nr telefonu", "numer telefonu", "numer", "komórka", "komorka",
              "tel kom", "telefon komórkowy",
              "телефон", "номер", "номер телефона", "мобильный", "мобильный телефон", "тел",
              "телефонен номер", "мобилен", "мобилен телефон", "gsm"],
    "email": ["email", "e-mail", "e mail", "mail", "email address", "e-mail address",
              "adres e-mail", "adres email", "poczta",
              "почта", "эл почта", "электронная почта", "емейл", "имейл", "и-мейл",
              "ел поща", "електронна поща", "е-поща"],
    "notes": ["notes", "note", "comment", "comments", "remarks",
              "uwagi", "notatki", "notatka", "komentarz", "opis",
              "примечание", "примечания", "заметки", "комментарий",
              "бележки", "бележка", "коментар", "забележка"],
}.items():
    for _name in _names:
        HEADERS[_name] = _field

_TRAILING = re.compile(r"[\s#:.\d_-]+$")
_SPLIT = re.compile(r"[,;/\n]+")


def field_of(header: Any) -> str | None:
    """The field a header names (see HEADERS), else None."""
    if not isinstance(header, str):
        return None
    text = " ".join(header.replace("_", " ").replace(".", " ").split()).casefold()
    return HEADERS.get(text) or HEADERS.get(_TRAILING.sub("", text))


@dataclass
class Sheet:
    """What a file holds: its columns (header, recognised field or None) and its rows."""

    columns: list[tuple[str, str | None]] = field(default_factory=list)
    rows: list[ImportRow] = field(default_factory=list)

    def to_api(self, sample: int = 10) -> dict[str, Any]:
        return {"columns": [{"header": h, "field": f} for h, f in self.columns],
                "rows": len(self.rows),
                "sample": [{"row": r.row, **r.fields, "numbers": r.numbers}
                           for r in self.rows[:sample]]}


def read_sheet(data: bytes) -> Sheet:
    """The rows of an .xlsx file; BadInput("file", why) when it cannot or must not be read."""
    if len(data) > MAX_FILE_BYTES:
        raise BadInput("file", f"the file is larger than {MAX_FILE_BYTES // 1024 // 1024} MB")
    _check_zip(data)
    from openpyxl import load_workbook     # only when a file is imported: 10 MB idle
    from openpyxl.utils.exceptions import InvalidFileException
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError,
            ParseError, OSError, IndexError) as exc:
        logger.info("import: unreadable spreadsheet: %r", exc)
        raise BadInput("file", "not a readable .xlsx spreadsheet") from None
    try:
        return _read_rows(book.worksheets[0] if book.worksheets else None)
    except BadInput:
        raise
    except (KeyError, ValueError, TypeError, ParseError, OSError, IndexError,
            AttributeError, zipfile.BadZipFile) as exc:
        logger.info("import: spreadsheet broke while reading: %r", exc)
        raise BadInput("file", "not a readable .xlsx spreadsheet") from None
    finally:
        book.close()


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise BadInput("file", "not a readable .xlsx spreadsheet") from None
    if len(entries) > MAX_ZIP_ENTRIES or \
            sum(e.file_size for e in entries) > MAX_UNZIPPED_BYTES:
        raise BadInput("file", "the spreadsheet unpacks to more than "
                               f"{MAX_UNZIPPED_BYTES // 1024 // 1024} MB")


def _read_rows(sheet) -> Sheet:
    if sheet is None:
        raise BadInput("file", "the spreadsheet has no sheet")
    rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    header = next(rows, None)
    if header is None:
        raise BadInput("file", "the sheet is empty: row 1 must hold the column headers")
    result = Sheet()
    fields: list[str | None] = []
    for cell in header:
        text = _text(cell)
        fields.append(field_of(text))
        result.columns.append((text, fields[-1]))
    while result.columns and not result.columns[-1][0]:
        result.columns.pop()
    if not any(f in ("name", "company", "phone") for f in fields):
        raise BadInput("file", "no column headed name, company or phone in row 1")
    for number, values in enumerate(rows, 2):
        if number - 1 > MAX_ROWS:
            raise BadInput("file", f"more than {MAX_ROWS} rows; split the file")
        texts = {}
        numbers: list[str] = []
        for name, value in zip(fields, values):
            if name is None or value is None:
                continue
            text = _text(value)
            if not text:
                continue
            if name == "phone":
                numbers += [p.strip() for p in _SPLIT.split(text) if p.strip()]
            elif name in texts:
                texts[name] = f"{texts[name]} {text}" if name != "notes" else \
                    f"{texts[name]}\n{text}"
            else:
                texts[name] = text
        if texts or numbers:
            result.rows.append(ImportRow(row=number, fields=texts, numbers=numbers))
    return result


def _text(value: Any) -> str:
    """A cell as text: whole numbers without ".0" (a phone typed as a number), dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (datetime, date, time)):
        value = value.isoformat()
    return str(value).strip()[:MAX_CELL]
