"""Reading contact spreadsheets: headers in four languages, several phone columns, row numbers,
and hostile files refused whole."""

import io
import zipfile

import pytest
from openpyxl import Workbook

from firmware.tracker import contact_import
from firmware.tracker.contact_import import field_of, read_sheet
from firmware.tracker.errors import BadInput


def xlsx(*rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("header, field", [
    ("Name", "name"), ("IMIĘ I NAZWISKO", "name"), ("ФИО", "name"), ("Име", "name"),
    ("Firma", "company"), ("Компания", "company"), ("Фирма", "company"),
    ("Phone 2", "phone"), ("Telefon:", "phone"), ("Телефон", "phone"), ("Мобилен", "phone"),
    ("E-mail", "email"), ("Эл. почта", "email"), ("Имейл", "email"),
    ("Uwagi", "notes"), ("Примечание", "notes"), ("Бележки", "notes"),
    ("Favourite colour", None), (None, None), (42, None),
])
def test_headers_in_four_languages(header, field):
    assert field_of(header) == field


def test_rows_keep_their_spreadsheet_numbers_and_every_phone_column():
    sheet = read_sheet(xlsx(
        ("Imię", "Firma", "Telefon", "Telefon 2", "E-mail", "Kolor"),
        ("Anna", "Zdrój", 501234567, "22 111 11 11; 22 222 22 22", "a@example.com", "red"),
        (None, None, None, None, None, None),
        ("Bob", None, "+48601234567", None, None, None),
    ))
    assert sheet.columns == [("Imię", "name"), ("Firma", "company"), ("Telefon", "phone"),
                             ("Telefon 2", "phone"), ("E-mail", "email"), ("Kolor", None)]
    assert [(r.row, r.fields, r.numbers) for r in sheet.rows] == [
        (2, {"name": "Anna", "company": "Zdrój", "email": "a@example.com"},
         ["501234567", "22 111 11 11", "22 222 22 22"]),
        (4, {"name": "Bob"}, ["+48601234567"])]


def test_a_formula_is_never_taken_as_text():
    sheet = read_sheet(xlsx(("Name", "Phone"), ('=HYPERLINK("http://evil","x")', "501234567")))
    assert sheet.rows[0].fields == {} and sheet.rows[0].numbers == ["501234567"]


@pytest.mark.parametrize("data, why", [
    (b"not a spreadsheet", "not a readable"),
    (b"PK\x03\x04" + b"\x00" * 100, "not a readable"),
    (xlsx(("Colour", "Size"), ("red", 1)), "no column headed"),
    (xlsx(), "the sheet is empty"),
])
def test_unreadable_files_are_refused(data, why):
    with pytest.raises(BadInput) as caught:
        read_sheet(data)
    assert caught.value.field == "file" and why in caught.value.message


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(BadInput, match="not a readable"):
        read_sheet(out.getvalue())


def test_a_zip_bomb_is_refused_before_parsing(monkeypatch):
    data = xlsx(("Name",), *[("x" * 100,)] * 200)
    monkeypatch.setattr(contact_import, "MAX_UNZIPPED_BYTES", 20_000)
    with pytest.raises(BadInput, match="unpacks to more than"):
        read_sheet(data)


def test_too_many_rows_refuses_the_whole_file(monkeypatch):
    monkeypatch.setattr(contact_import, "MAX_ROWS", 50)
    with pytest.raises(BadInput, match="more than 50 rows"):
        read_sheet(xlsx(("Name",), *[(f"n{n}",) for n in range(51)]))
    assert len(read_sheet(xlsx(("Name",), *[(f"n{n}",) for n in range(50)])).rows) == 50


def test_a_huge_file_is_refused(monkeypatch):
    monkeypatch.setattr(contact_import, "MAX_FILE_BYTES", 1000)
    with pytest.raises(BadInput, match="larger than"):
        read_sheet(b"x" * 1001)
