"""Languages: figures in CLDR's conventions for the reader, the box's currency and time zone,
one amount parser, plurals from the catalogs, and the language each reader gets."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from firmware.webui import i18n
from firmware.webui.i18n import Formatter, parse_amount, using_language
from firmware.webui.prefs import MAX_CATEGORIES, MAX_CATEGORY, clean_categories
from firmware.webui.users import UserError, UserStore

NB = "\u00a0"


@pytest.mark.parametrize("lang, country, currency, money, day", [
    ("pl", "PL", "PLN", f"1{NB}234,50{NB}zł", "1.05.2024"),
    ("en", "GB", "GBP", "£1,234.50", "01/05/2024"),
    ("en", "US", "USD", "$1,234.50", "5/1/2024"),
    ("ru", "RU", "RUB", f"1{NB}234,50{NB}₽", "01.05.2024"),
    ("bg", "BG", "EUR", f"1{NB}234,50{NB}€", "1.05.2024\u202fг."),
])
def test_figures_in_the_readers_language(lang, country, currency, money, day):
    fmt = Formatter(country, currency, "Europe/Warsaw", lang)
    assert fmt.money(1234.5) == money
    assert fmt.date(date(2024, 5, 1)) == day


def test_the_currency_and_time_zone_follow_the_box_whoever_reads():
    moment = "2024-05-01T10:05:00+00:00"
    polish = Formatter("PL", "PLN", "Europe/Warsaw", "pl")
    russian = Formatter("PL", "PLN", "Europe/Warsaw", "ru")
    assert polish.money(300) == f"300{NB}zł" and russian.money(300) == f"300{NB}PLN"
    assert polish.datetime(moment) == "1.05.2024 12:05"
    assert russian.datetime(moment) == "01.05.2024 12:05"


def test_money_decimals_only_when_needed():
    fmt = Formatter("PL", "PLN", "Europe/Warsaw", "pl")
    assert fmt.money(300) == f"300{NB}zł" and fmt.money(12.5) == f"12,50{NB}zł"
    assert fmt.money(None) == "–"


def test_the_formatter_takes_the_requests_language_when_not_told():
    with using_language("pl"):
        assert Formatter("PL", "PLN", "UTC").number(1234567) == f"1{NB}234{NB}567"
    assert Formatter("US", "USD", "UTC").number(1234567) == "1,234,567"


@pytest.mark.parametrize("seconds, text", [(0, f"0{NB}s"), (42.4, f"42{NB}s"), (185, "3:05"),
                                           (3723, "1:02:03"), (None, "–")])
def test_durations(seconds, text):
    assert Formatter("PL", "PLN", "UTC", "pl").seconds(seconds) == text


def test_elapsed_time_is_translated():
    now = datetime(2024, 5, 3, 12, 0, tzinfo=timezone.utc)
    fmt = Formatter("PL", "PLN", "UTC", "en")
    assert fmt.elapsed("2024-05-03T11:15:00+00:00", now) == f"45{NB}min"
    assert fmt.elapsed("2024-05-03T08:55:00+00:00", now) == f"3{NB}h 05{NB}min"
    assert fmt.elapsed("2024-05-01T08:00:00+00:00", now) == f"2{NB}d 4{NB}h"


def test_phone_numbers_grouped():
    fmt = Formatter("PL", "PLN", "UTC")
    assert fmt.phone("+48501234567") == "+48 501 234 567"
    assert fmt.phone("101") == "101" and fmt.phone("anonymous") == "anonymous"
    assert fmt.phone("") == "–"


@pytest.mark.parametrize("typed, value", [
    ("300", "300"), ("300.50", "300.50"), ("300,50", "300.50"), ("1 250,50", "1250.50"),
    (f"1{NB}250,50", "1250.50"), ("1,250.50", "1250.50"), ("1.250,50", "1250.50"),
    ("1.234.567,89", "1234567.89"), ("12,5", "12.5"), ("1,250", "1250")])
def test_one_amount_parser(typed, value):
    assert parse_amount(typed, "en") == Decimal(value)


def test_amounts_read_in_the_readers_convention_first():
    assert parse_amount("1,250", "en") == Decimal("1250")
    assert parse_amount("1,250", "pl") == Decimal("1.250")


@pytest.mark.parametrize("typed", ["", "lots", "1,2,3", "12.", "1,250,5", "-5", "1e9", "1.2.3,4,5"])
def test_what_is_not_an_amount(typed):
    with pytest.raises(ValueError):
        parse_amount(typed, "en")


def test_the_wrapup_and_the_settings_read_amounts_alike():
    from firmware.webui.settings_forms import _amount
    from firmware.webui.wrapup import parse_amount as wrapup_amount
    for typed in ("300", "1 250,50", "1,250.50", "1.250,50", "12,5"):
        assert wrapup_amount(typed) == _amount("lead_value", typed)


@pytest.mark.parametrize("count, polish", [(1, "1 połączenie"), (2, "2 połączenia"),
                                            (4, "4 połączenia"), (5, "5 połączeń"),
                                            (12, "12 połączeń"), (22, "22 połączenia"),
                                            (25, "25 połączeń")])
def test_polish_plurals_come_from_the_catalog(count, polish):
    with using_language("pl"):
        text = i18n.ngettext("%(count)s call, %(avg)s per day", "%(count)s calls, %(avg)s per day",
                             count, count=count, avg=1)
    assert text == f"{polish}, 1 dziennie"


@pytest.mark.parametrize("country, lang", [("PL", "pl"), ("RU", "ru"), ("BY", "ru"),
                                           ("KZ", "ru"), ("BG", "bg"), ("DE", "en"), ("", "en")])
def test_a_boxs_country_gives_its_language(country, lang):
    assert i18n.country_language(country) == lang


def test_user_errors_carry_placeholders_not_constants(tmp_path):
    store = UserStore(tmp_path)
    errors = []
    for args in (("a b", "long-password"), ("anna", "short"), ("anna", "x" * 201)):
        with pytest.raises(UserError) as caught:
            store.set_password(*args)
        errors.append(caught.value)
    for lines in (["x" * (MAX_CATEGORY + 1)], [f"c{n}" for n in range(MAX_CATEGORIES + 1)]):
        with pytest.raises(UserError) as caught:
            clean_categories(lines)
        errors.append(caught.value)
    assert str(errors[1]) == "the password needs at least 8 characters"
    with using_language("pl"):
        texts = [error.text() for error in errors]
    assert texts[1] == "hasło musi mieć co najmniej 8 znaków"
    assert texts[3] == f"kategoria może mieć najwyżej {MAX_CATEGORY} znaków"
    assert not [error.message for error, text in zip(errors, texts) if text == error.message]


def test_the_language_is_stored_on_the_account(tmp_path):
    store = UserStore(tmp_path)
    store.set_password("anna", "long-password", "owner", language="bg")
    assert store.get("anna").language == "bg"
    store.set_password("anna", "other-password", "owner")      # a new password keeps it
    assert store.get("anna").language == "bg"
    store.set_language("anna", "pl")
    assert store.get("anna").language == "pl" and store.get("anna").generation == 2
    with pytest.raises(UserError):
        store.set_language("anna", "xx")
    store.set_language("anna", None)
    assert store.get("anna").language is None


def test_a_polish_dictionary_left_on_another_branch_still_works():
    """docs/i18n.md, "Old dictionaries": a merged i18n_pl_<name>.py fills missing Polish."""
    module = i18n.TRANSLATIONS.parent / "i18n_pl_zz_left_over.py"
    module.write_text('LEFT = {"A message only a dictionary knows": "Tylko słownik to zna"}\n')
    i18n.translations.cache_clear()
    try:
        with using_language("pl"):
            assert i18n.gettext("A message only a dictionary knows") == "Tylko słownik to zna"
            assert i18n.gettext("Dashboard") == "Pulpit"            # the catalog still wins
    finally:
        module.unlink()
        i18n.translations.cache_clear()
