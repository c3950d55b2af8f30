"""The panel's languages: gettext catalogs through Babel, and figures in CLDR's conventions.

English text is the message id; `translations/<lang>/LC_MESSAGES/messages.po` holds each
language (docs/i18n.md: how to add a string, extract, update, compile, add a language). The
`.mo` files are compiled when the package is built (`make catalogs`, setup.py); a missing or
older `.mo` is read from its `.po` instead, so a fresh checkout still speaks every language.

Who reads decides the language (`choose_language`): the user's own choice stored on their
account, else the browser's (Accept-Language, or the footer switch's cookie before sign-in),
else the box's country. The box decides the currency and the time zone, whatever the language,
so everyone reads the same amounts and times, each in their own language's way of writing them.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
from babel import Locale, UnknownLocaleError, localedata
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import NumberFormatError, format_currency, format_decimal, parse_decimal
from babel.support import NullTranslations, Translations
from flask import g, has_request_context, request

logger = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).parent / "translations"
DOMAIN = "messages"
LANGUAGES = {"en": "English", "pl": "Polski", "ru": "Русский", "bg": "Български"}
COUNTRY_LANGUAGES = {"PL": "pl", "RU": "ru", "BY": "ru", "KZ": "ru", "BG": "bg"}
NBSP = "\u00a0"
DASH = "–"

_forced: ContextVar[str | None] = ContextVar("callbox_language", default=None)


def N_(message: str) -> str:
    """Marks `message` for `pybabel extract` where it is defined (a constant, a stored word);
    it is translated where it is shown, with `_(message)`."""
    return message


def country_language(country: str | None) -> str:
    """The language a box in `country` speaks before anyone chooses: PL pl, RU/BY/KZ ru, BG bg."""
    return COUNTRY_LANGUAGES.get((country or "").upper(), "en")


def browser_language() -> str | None:
    """The footer switch's cookie, else the best of Accept-Language; None when neither says."""
    chosen = request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES))


def choose_language(country: str, user_language: str | None = None) -> str:
    """The language of this request: the signed-in user's own, else the browser's, else the
    box country's."""
    if user_language in LANGUAGES:
        return user_language
    return browser_language() or country_language(country)


def current_language() -> str:
    forced = _forced.get()
    if forced:
        return forced
    return g.get("lang", "en") if has_request_context() else "en"


@contextmanager
def using_language(lang: str | None):
    """Texts made inside (an e-mail, an SMS, a file) are in `lang`, whoever asked."""
    token = _forced.set(lang if lang in LANGUAGES else "en")
    try:
        yield
    finally:
        _forced.reset(token)


@lru_cache(maxsize=None)
def translations(lang: str) -> NullTranslations:
    """`lang`'s catalog: the compiled .mo, or its .po when the .mo is missing or older."""
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if lang == "en" or not po.exists():
        catalog = NullTranslations()
    elif mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as handle:
            catalog = Translations(handle, DOMAIN)
    else:
        logger.info("%s is not compiled (make catalogs); reading %s", mo, po.name)
        catalog = Translations(_compile(po), DOMAIN)
    if lang == "pl":
        _merge_legacy_polish(catalog)
    return catalog


def _compile(po: Path):
    import io

    with po.open("rb") as handle:
        messages = read_po(handle, locale=po.parent.parent.name)
    buffer = io.BytesIO()
    write_mo(buffer, messages)
    buffer.seek(0)
    return buffer


def _merge_legacy_polish(catalog: NullTranslations) -> None:
    """Polish still kept in Python dictionaries on other branches (`i18n_pl_*.py`, dicts named
    in capitals) fills messages the catalog lacks, until the lead converts them into pl's .po
    with scripts/i18n_dicts_to_po.py (docs/i18n.md, "Old dictionaries")."""
    import importlib

    table = getattr(catalog, "_catalog", None)
    if table is None:
        return
    for path in sorted(Path(__file__).parent.glob("i18n_pl_*.py")):
        module = importlib.import_module(f"firmware.webui.{path.stem}")
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, dict):
                for english, polish in value.items():
                    if isinstance(english, str) and isinstance(polish, str):
                        table.setdefault(english, polish)


def gettext(message: str, **values) -> str:
    """`message` in the request's language, with `%(name)s` values filled in."""
    text = translations(current_language()).ugettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, num: int, **values) -> str:
    """The form of `singular`/`plural` for `num` in the request's language (`%(num)s` is set;
    pass a formatted `count=` for display)."""
    values.setdefault("num", num)
    return translations(current_language()).ungettext(singular, plural, num) % values


def pgettext(context: str, message: str, **values) -> str:
    """`message` as meant in `context`: one English word can need two translations (a call's
    status "Answered" is singular in ru/bg, the dashboard's "Answered" calls plural)."""
    text = translations(current_language()).upgettext(context, message)
    return text % values if values else text


_ = gettext


def in_box_language(make):
    """Texts that `make(config, ...)` writes for the box's people rather than for one reader
    (the summary e-mails, the SMS alerts) are in box.country's language."""
    from functools import wraps

    @wraps(make)
    def made(config, *args, **kwargs):
        with using_language(country_language(config.box.country)):
            return make(config, *args, **kwargs)

    return made


def babel_locale(lang: str, country: str | None = None) -> Locale:
    """The CLDR locale for a reader of `lang` on a box in `country` (en_GB, en_US, pl, ...)."""
    for name in (f"{lang}_{(country or '').upper()}", lang):
        if localedata.exists(name):
            try:
                return Locale.parse(name)
            except (UnknownLocaleError, ValueError):
                continue
    return Locale.parse("en")


def parse_amount(text: str, lang: str | None = None, country: str | None = None) -> Decimal:
    """An amount of money as people type it: 300, 300.50, 300,50, 1 250,50, 1,250.50.

    The box's one amount parser (settings forms, wrap-ups, contacts). Babel's parse_decimal
    reads it in the reader's convention first; what that refuses is read the other way round,
    since people type both marks on either keyboard: with both marks the last is the decimal
    one, and a lone mark before one or two final digits is decimal too. ValueError otherwise.
    """
    value = "".join((text or "").split()).replace("\u202f", "")   # grouping spaces
    if not re.fullmatch(r"\d[\d.,]*", value) or value[-1] in ".,":
        raise ValueError(f"not an amount: {text!r}")
    try:
        return parse_decimal(value, locale=babel_locale(lang or current_language(), country),
                             strict=True)
    except (NumberFormatError, InvalidOperation):
        pass
    match = _AMOUNT.fullmatch(value)
    if not match or (match["group"] and match["group"] == match["mark"]):
        raise ValueError(f"not an amount: {text!r}")
    whole = match["whole"].replace(".", "").replace(",", "")
    return Decimal(f"{whole}.{match['fraction']}" if match["mark"] else whole)


_AMOUNT = re.compile(r"(?P<whole>\d{1,3}(?:(?P<group>[.,])\d{3})+|\d+)"
                     r"(?:(?P<mark>[.,])(?P<fraction>\d{1,2}))?")


class Formatter:
    """Formats figures for one reader (language) on one box (country, currency, time zone)."""

    def __init__(self, country: str, currency: str, timezone: str, language: str | None = None):
        self.country = country
        self.currency = currency
        self.language = language or current_language()
        self.locale = babel_locale(self.language, country)
        self.tz = ZoneInfo(timezone)

    def number(self, value: float | int | None, decimals: int = 0) -> str:
        if value is None:
            return DASH
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def amount(self, value: float | int | None) -> str:
        """An amount as a form shows it for editing: no grouping, decimals only when needed."""
        if value is None or value == "":
            return ""
        decimals = 0 if float(value).is_integer() else 2
        return format_decimal(value, format="0" + (".00" if decimals else ""),
                              locale=self.locale)

    def money(self, value: float | int | None) -> str:
        if value is None:
            return DASH
        pattern = self.locale.currency_formats["standard"].pattern.split(";")[0]
        if float(value).is_integer():
            pattern = re.sub(r"\.0+", "", pattern)
        return format_currency(value, self.currency, format=pattern, locale=self.locale,
                               currency_digits=False)

    def _day(self, value: date | str) -> date:
        return date.fromisoformat(value[:10]) if isinstance(value, str) else value

    def date(self, value: date | str | None) -> str:
        if not value:
            return DASH
        return format_skeleton("yMd", self._day(value), locale=self.locale)

    def short_date(self, value: date | str) -> str:
        return format_skeleton("Md", self._day(value), locale=self.locale)

    def local(self, value: str | datetime | None) -> datetime | None:
        if not value:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(self.tz)

    def _clock(self, moment: datetime) -> str:
        return f"{moment:%H:%M}"

    def datetime(self, value: str | datetime | None) -> str:
        moment = self.local(value)
        if moment is None:
            return DASH
        return f"{self.date(moment.date())} {self._clock(moment)}"

    def when(self, value: str | datetime | None) -> str:
        """A call's start, compact: day and month (and year when not this year), time."""
        moment = self.local(value)
        if moment is None:
            return DASH
        if moment.year == datetime.now(self.tz).year:
            return f"{self.short_date(moment.date())} {self._clock(moment)}"
        return self.datetime(moment)

    def time(self, value: str | datetime | None) -> str:
        moment = self.local(value)
        return DASH if moment is None else self._clock(moment)

    def elapsed(self, value: str | datetime | None, now: datetime | None = None) -> str:
        """How long ago: "45 min", "3 h 05 min", "2 d 4 h"."""
        moment = self.local(value)
        if moment is None:
            return DASH
        minutes = max(0, int(((now or datetime.now(self.tz)) - moment).total_seconds() // 60))
        if minutes < 60:
            return _("%(minutes)s\u00a0min", minutes=minutes)
        hours, minutes = divmod(minutes, 60)
        if hours < 24:
            return _("%(hours)s\u00a0h %(minutes)s\u00a0min", hours=hours,
                     minutes=f"{minutes:02d}")
        days, hours = divmod(hours, 24)
        return _("%(days)s\u00a0d %(hours)s\u00a0h", days=days, hours=hours)

    def phone(self, number: str | None) -> str:
        """"+48 501 234 567": E.164 grouped as people write it; anything else as it is."""
        if not number or not number.startswith("+"):
            return number or DASH
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            return number
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def seconds(self, value: float | int | None) -> str:
        """A duration: "42 s", "3:05", "1:02:03"."""
        if value is None:
            return DASH
        total = int(round(value))
        if total < 60:
            return _("%(seconds)s\u00a0s", seconds=total)
        hours, rest = divmod(total, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def line_type_label(kind: str) -> str:
    labels = {"mobile": _("Mobile"), "fixed_line": _("Landline"),
              "fixed_line_or_mobile": _("Landline or mobile"), "toll_free": _("Toll-free"),
              "voip": _("VoIP"), "premium_rate": _("Premium rate"), "unknown": _("Unknown")}
    return labels.get(kind, kind.replace("_", " ").capitalize())


def status_label(status: str) -> str:
    """One call's status (a badge, a table cell, a filter choice): singular where the
    language tells singular from plural, unlike the dashboard's figure names."""
    labels = {"answered": pgettext("call status", "Answered"),
              "missed": pgettext("call status", "Missed"),
              "unanswered": pgettext("call status", "Unanswered"),
              "ringing": pgettext("call status", "Ringing"),
              "in_progress": pgettext("call status", "In progress"),
              "failed": pgettext("call status", "Failed"),
              "busy": pgettext("call status", "Busy")}
    return labels.get(status, status.replace("_", " ").capitalize())


def direction_label(direction: str) -> str:
    labels = {"inbound": _("Inbound"), "outbound": _("Outbound"), "internal": _("Internal")}
    return labels.get(direction, direction)


def trunk_state_label(state: str | None) -> str:
    """A trunk's registration state (firmware/pbx/trunk.py) as the settings page shows it."""
    labels = {"unregistered": _("not registered"), "registering": _("registering"),
              "registered": _("registered"), "failed": _("registration failed"),
              "ip-auth": _("by address")}
    return labels.get(state or "", state or DASH)


def init_babel(app, locale_of=current_language, timezone_of=None) -> None:
    """Flask-Babel on `app`: its locale is the request's language (`g.lang`), its time zone the
    box's; the templates' `_()` / `ngettext()` are this module's, so Python and templates read
    the same catalogs (Flask-Babel's own filters then format in the same locale)."""
    from flask_babel import Babel

    Babel(app, locale_selector=locale_of, timezone_selector=timezone_of,
          default_translation_directories=str(TRANSLATIONS), default_domain=DOMAIN)
    install_template_globals(app)


def install_template_globals(app) -> None:
    """The templates' translation functions (the box's panel and the central share them)."""
    from firmware.webui.config_words import translate_message
    from firmware.webui.figure_modules import missed_reason_label

    app.jinja_env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext, N_=N_,
                                 trunk_state_label=trunk_state_label,
                                 missed_reason_label=missed_reason_label,
                                 problem_text=translate_message)
