"""English and Polish for the panel, and dates and money in the box's conventions.

A tiny gettext: English text is the message id; `i18n_pl.CATALOG` maps it to Polish. The
language is the `lang` cookie when set (the switch in the footer), else the browser's
Accept-Language, else the box's country. Numbers, money and dates follow the box's country
(config `box.country`, `box.currency`), whatever the language, so everyone reads the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from flask import g, has_request_context, request

from firmware.webui.i18n_pl import CATALOG as _PL

LANGUAGES = {"en": "English", "pl": "Polski"}
CATALOGS = {"pl": _PL}
NBSP = "\u00a0"


def choose_language(country: str) -> str:
    chosen = request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(list(LANGUAGES))
    if best:
        return best
    return "pl" if country == "PL" else "en"


def current_language() -> str:
    return g.get("lang", "en") if has_request_context() else "en"


def gettext(message: str, **values) -> str:
    """`message` in the request's language, with `%(name)s` values filled in."""
    text = CATALOGS.get(current_language(), {}).get(message, message)
    return text % values if values else text


_ = gettext


@dataclass(frozen=True)
class Conventions:
    decimal: str
    group: str
    date: str           # strftime pattern
    short_date: str     # day and month, for chart labels
    money_before: bool  # "$12" rather than "12 zł"


_COUNTRIES = {
    "PL": Conventions(",", NBSP, "%d.%m.%Y", "%d.%m", False),
    "DE": Conventions(",", ".", "%d.%m.%Y", "%d.%m", False),
    "AT": Conventions(",", NBSP, "%d.%m.%Y", "%d.%m", False),
    "CZ": Conventions(",", NBSP, "%d.%m.%Y", "%d.%m", False),
    "FR": Conventions(",", NBSP, "%d/%m/%Y", "%d/%m", False),
    "GB": Conventions(".", ",", "%d/%m/%Y", "%d/%m", True),
    "IE": Conventions(".", ",", "%d/%m/%Y", "%d/%m", True),
    "US": Conventions(".", ",", "%m/%d/%Y", "%m/%d", True),
}
_DEFAULT = Conventions(".", ",", "%Y-%m-%d", "%m-%d", False)
_SYMBOLS = {"PLN": "zł", "EUR": "€", "GBP": "£", "USD": "$", "CZK": "Kč", "CHF": "CHF"}


class Formatter:
    """Formats figures for one box (country, currency, time zone)."""

    def __init__(self, country: str, currency: str, timezone: str):
        self.conv = _COUNTRIES.get(country, _DEFAULT)
        self.currency = currency
        self.symbol = _SYMBOLS.get(currency, currency)
        self.tz = ZoneInfo(timezone)

    def number(self, value: float | int | None, decimals: int = 0) -> str:
        if value is None:
            return "–"
        text = f"{value:,.{decimals}f}"
        return text.replace(",", "\0").replace(".", self.conv.decimal).replace(
            "\0", self.conv.group)

    def money(self, value: float | int | None) -> str:
        if value is None:
            return "–"
        decimals = 0 if float(value).is_integer() else 2
        amount = self.number(value, decimals)
        if self.conv.money_before:
            return f"{self.symbol}{amount}"
        return f"{amount}{NBSP}{self.symbol}"

    def date(self, value: date | str | None) -> str:
        if not value:
            return "–"
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        return value.strftime(self.conv.date)

    def short_date(self, value: date | str) -> str:
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        return value.strftime(self.conv.short_date)

    def local(self, value: str | datetime | None) -> datetime | None:
        if not value:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(self.tz)

    def datetime(self, value: str | datetime | None) -> str:
        moment = self.local(value)
        if moment is None:
            return "–"
        return f"{moment.strftime(self.conv.date)} {moment:%H:%M}"

    def when(self, value: str | datetime | None) -> str:
        """A call's start, compact: day and month (and year when not this year), time."""
        moment = self.local(value)
        if moment is None:
            return "–"
        if moment.year == datetime.now(self.tz).year:
            return f"{moment.strftime(self.conv.short_date)} {moment:%H:%M}"
        return self.datetime(moment)

    def time(self, value: str | datetime | None) -> str:
        moment = self.local(value)
        return "–" if moment is None else f"{moment:%H:%M}"

    def elapsed(self, value: str | datetime | None, now: datetime | None = None) -> str:
        """How long ago: "45 min", "3 h 05 min", "2 d 4 h"."""
        moment = self.local(value)
        if moment is None:
            return "–"
        minutes = max(0, int(((now or datetime.now(self.tz)) - moment).total_seconds() // 60))
        if minutes < 60:
            return f"{minutes}{NBSP}min"
        hours, minutes = divmod(minutes, 60)
        if hours < 24:
            return f"{hours}{NBSP}h {minutes:02d}{NBSP}min"
        days, hours = divmod(hours, 24)
        return f"{days}{NBSP}{_('d')} {hours}{NBSP}h"

    def phone(self, number: str | None) -> str:
        """"+48 501 234 567": E.164 grouped as people write it; anything else as it is."""
        if not number or not number.startswith("+"):
            return number or "–"
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            return number
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def seconds(self, value: float | int | None) -> str:
        """A duration: "42 s", "3:05", "1:02:03"."""
        if value is None:
            return "–"
        total = int(round(value))
        if total < 60:
            return f"{total}{NBSP}s"
        hours, rest = divmod(total, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def line_type_label(kind: str) -> str:
    labels = {"mobile": _("Mobile"), "fixed_line": _("Landline"),
              "fixed_line_or_mobile": _("Landline or mobile"), "toll_free": _("Toll-free"),
              "voip": _("VoIP"), "premium_rate": _("Premium rate"), "unknown": _("Unknown")}
    return labels.get(kind, kind.replace("_", " ").capitalize())


def status_label(status: str) -> str:
    labels = {"answered": _("Answered"), "missed": _("Missed"), "unanswered": _("Unanswered"),
              "ringing": _("Ringing"),
              "in_progress": _("In progress"), "failed": _("Failed"), "busy": _("Busy")}
    return labels.get(status, status.replace("_", " ").capitalize())


def direction_label(direction: str) -> str:
    labels = {"inbound": _("Inbound"), "outbound": _("Outbound"), "internal": _("Internal")}
    return labels.get(direction, direction)
