"""English and Polish: every message has its translation; figures in the box's conventions."""

import re
from datetime import date
from pathlib import Path

import pytest

from firmware.webui import i18n
from firmware.webui.i18n_pl import CATALOG
from firmware.webui.prefs import MAX_CATEGORIES, MAX_CATEGORY, clean_categories
from firmware.webui.users import UserError, UserStore

WEBUI = Path(i18n.__file__).parent
MESSAGE = re.compile(r'''_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')''')


def messages() -> set[str]:
    found = set()
    for path in [*WEBUI.glob("templates/*.html"), *WEBUI.glob("*.py")]:
        for match in MESSAGE.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) if match.group(1) is not None else match.group(2))
    return found


def test_every_message_has_polish():
    missing = sorted(messages() - set(CATALOG))
    assert not missing, missing


def test_placeholders_match():
    for english, polish in CATALOG.items():
        assert re.findall(r"%\(\w+\)s", english) == re.findall(r"%\(\w+\)s", polish), english


def test_user_errors_shown_in_the_panel_have_polish(tmp_path):
    store = UserStore(tmp_path)
    texts = []
    for args in (("a b", "long-password"), ("anna", "short"), ("anna", "x" * 201)):
        with pytest.raises(UserError) as caught:
            store.set_password(*args)
        texts.append(caught.value.message)
    for lines in (["x" * (MAX_CATEGORY + 1)], [f"c{n}" for n in range(MAX_CATEGORIES + 1)]):
        with pytest.raises(UserError) as caught:
            clean_categories(lines)
        texts.append(caught.value.message)
    assert [t for t in texts if t not in CATALOG] == []


@pytest.mark.parametrize("country, currency, money, day", [
    ("PL", "PLN", "1\u00a0234,50\u00a0zł", "01.05.2024"),
    ("GB", "GBP", "£1,234.50", "01/05/2024"),
    ("US", "USD", "$1,234.50", "05/01/2024"),
    ("DE", "EUR", "1.234,50\u00a0€", "01.05.2024"),
    ("SE", "SEK", "1,234.50\u00a0SEK", "2024-05-01"),
])
def test_box_conventions(country, currency, money, day):
    fmt = i18n.Formatter(country, currency, "Europe/Warsaw")
    assert fmt.money(1234.5) == money
    assert fmt.date(date(2024, 5, 1)) == day


def test_money_decimals_only_when_needed():
    fmt = i18n.Formatter("PL", "PLN", "Europe/Warsaw")
    assert fmt.money(300) == "300\u00a0zł" and fmt.money(12.5) == "12,50\u00a0zł"
    assert fmt.money(None) == "–"


def test_times_in_the_box_zone():
    fmt = i18n.Formatter("PL", "PLN", "Europe/Warsaw")
    assert fmt.datetime("2024-05-01T10:05:00+00:00") == "01.05.2024 12:05"
    assert fmt.time("2024-01-01T10:05:00+00:00") == "11:05"


@pytest.mark.parametrize("seconds, text", [(0, "0\u00a0s"), (42.4, "42\u00a0s"), (185, "3:05"),
                                           (3723, "1:02:03"), (None, "–")])
def test_durations(seconds, text):
    assert i18n.Formatter("PL", "PLN", "UTC").seconds(seconds) == text


def test_phone_numbers_grouped():
    fmt = i18n.Formatter("PL", "PLN", "UTC")
    assert fmt.phone("+48501234567") == "+48 501 234 567"
    assert fmt.phone("101") == "101" and fmt.phone("anonymous") == "anonymous"
    assert fmt.phone("") == "–"


def test_settings_forms_have_polish():
    """The settings forms' labels and help live in settings_forms.py, not in templates."""
    from firmware.webui import settings_forms as sf
    texts = set()
    for kind in sf.KINDS.values():
        texts |= {kind.title, kind.add, kind.intro, kind.saved_note, *kind.help}
        for field in kind.fields:
            texts |= {field.label, field.hint}
            if field.placeholder.startswith("e.g."):
                texts.add(field.placeholder)
    for _table, field in sf.GENERAL:
        texts |= {field.label, field.hint}
    texts |= {"required", "choose the phones that ring", "not an extension of this box",
              "must be text", "must not contain control characters",
              "an amount like 300 or 300.50", "too large", "a whole number"}
    texts.discard("")
    assert sorted(texts - set(CATALOG)) == []
