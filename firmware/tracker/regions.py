"""Where a caller is from, in English, for the `caller_regions` figure: cities of the box's own
country, the country for everyone else. The panel shows them in its language (`localized`).

Why not `phonenumbers.geocoder` in the box: importing it loads every prefix of every country in
every language, about 100 MB of memory for the life of the process (a Pi has 1 GB, the box
idles at 50 MB). So the names are taken out of phonenumbers' data once, by a short-lived child
process (`extract`, 3-6 s), and kept as a small table (`RegionNames`: English country names,
and the prefixes of the box's own country, 50 for Poland); `load_names` caches that table as
JSON in the data folder, keyed by the phonenumbers version, so later start-ups read a file.

`caller_region` is pure over a table: the number in E.164 (split into country code and national
number directly: `phonenumbers.parse` costs ~18 us) and its line type, decided when the call
was recorded. Geographic numbers of the home country (fixed lines, and mobiles where mobile
numbers have areas) get the longest matching prefix's place, as the geocoder does; every other
number gets its country's name. Callers from abroad are named by country, not city.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumber
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from firmware.atomic import atomic_write

logger = logging.getLogger(__name__)

UNKNOWN = ""          # no region: not a phone number, or a number phonenumbers cannot place
EXTRACT_TIMEOUT = 120.0

_TYPES = {name.lower(): value for name, value in vars(phonenumbers.PhoneNumberType).items()
          if name.isupper() and isinstance(value, int)}


@dataclass(frozen=True)
class RegionNames:
    """English names: `countries` by region code ("PL": "Poland"), `places` by prefix of
    country code and national number ("4822": "Warsaw") for the country code `home`;
    `local`: the panel's other languages, English name -> that language's name where one is
    known (countries from Babel's CLDR, places from phonenumbers: "pl": {"Warsaw": "Warszawa",
    "Germany": "Niemcy"})."""

    countries: dict[str, str] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)
    home: int = 0
    local: dict[str, dict[str, str]] = field(default_factory=dict)


EMPTY = RegionNames()
_current: RegionNames = EMPTY


def use(names: RegionNames) -> None:
    """Make `names` the table `caller_region` uses by default (the tracker does, at start)."""
    global _current
    _current = names


def localized(region: str, language: str, names: RegionNames | None = None) -> str:
    """`region` (an English name, as the records and the API keep it) in `language`, for the
    panel; the English name where no other is known."""
    return (names or _current).local.get(language, {}).get(region, region)


def caller_region(number: str, line_type: str | None, cache: dict | None = None,
                  names: RegionNames | None = None) -> str:
    """The region (a city, or the country) of an E.164 `number` of `line_type`, else "".

    `cache` (number -> region) saves the look-ups while many rows are built at once."""
    if cache is not None:
        found = cache.get(number)
        if found is None:
            found = cache[number] = region_of(number, line_type, names or _current)
        return found
    return region_of(number, line_type, names or _current)


def region_of(number: str, line_type: str | None, names: RegionNames) -> str:
    parsed = e164_number(number)
    if parsed is None:
        return UNKNOWN
    code = parsed.country_code
    if code == names.home and names.places:
        kind = _TYPES.get(line_type or "unknown", phonenumbers.PhoneNumberType.UNKNOWN)
        if phonenumbers.is_number_type_geographical(kind, code):
            digits = number[1:]
            for size in range(len(digits), len(str(code)), -1):
                place = names.places.get(digits[:size])
                if place is not None:
                    return place
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    region = regions[0] if len(regions) == 1 else phonenumbers.region_code_for_number(parsed)
    return names.countries.get(region or "", UNKNOWN)


def e164_number(number: str) -> PhoneNumber | None:
    """A PhoneNumber of "+<country code><national number>", or None when it is not one."""
    if len(number) < 4 or number[0] != "+" or not number[1:].isdigit() or len(number) > 18:
        return None
    digits = number[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            rest = digits[size:]
            if not rest:
                return None
            parsed = PhoneNumber(country_code=code, national_number=int(rest))
            zeros = len(rest) - len(rest.lstrip("0"))
            if zeros:                               # Italy and the like keep leading zeros
                parsed.italian_leading_zero = True
                if zeros > 1:
                    parsed.number_of_leading_zeros = zeros
            return parsed
    return None


# -- the table, out of phonenumbers' data ------------------------------------------------------

_EXTRACT = r"""
import json, sys
from phonenumbers.geodata import GEOCODE_DATA
from phonenumbers.geodata.locale import LOCALE_DATA

def named(names, language):
    name = names.get(language)
    while isinstance(name, str) and name.startswith("*"):
        name = names.get(name[1:])
    return name

home = sys.argv[1]
languages = sys.argv[2].split(",") if len(sys.argv) > 2 and sys.argv[2] else []
home_places = {prefix: names for prefix, names in GEOCODE_DATA.items()
               if home and prefix.startswith(home)}
tables = [*LOCALE_DATA.values(), *home_places.values()]
countries = {region: named(names, "en") for region, names in LOCALE_DATA.items()}
places = {prefix: named(names, "en") for prefix, names in home_places.items()}
try:                                   # country names: Babel's CLDR has every language
    from babel import Locale
    territories = {language: Locale.parse(language).territories for language in languages}
except Exception:
    territories = {}
local = {}
for language in languages:
    mapping = local.setdefault(language, {})
    for region, english in countries.items():
        own = territories.get(language, {}).get(region)
        if english and own and own != english:
            mapping[english] = own
    for names in tables:                # places, and countries Babel did not name
        english, own = named(names, "en"), named(names, language)
        if english and own and own != english:
            mapping.setdefault(english, own)
json.dump({"countries": {k: v for k, v in countries.items() if v},
           "places": {k: v for k, v in places.items() if v}, "local": local}, sys.stdout)
"""
LANGUAGES = ("pl", "ru", "bg")          # the panel's languages besides English (webui/i18n.py)
CACHE_FORMAT = 2                        # 2: with `local`


def extract(country: str) -> RegionNames:
    """The table for box country `country` ("PL"), from phonenumbers' data in a child process
    (its 100 MB go with it). RuntimeError when the child fails."""
    home = phonenumbers.country_code_for_region(country) if country else 0
    try:
        child = subprocess.Popen([sys.executable, "-c", _EXTRACT, str(home or ""),
                                  ",".join(LANGUAGES)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            # lowest priority: it runs while SIP and the panel start, and must not slow them
            os.setpriority(os.PRIO_PROCESS, child.pid, 19)
        except OSError:
            pass                                  # already gone, or not allowed: no matter
        try:
            out, err = child.communicate(timeout=EXTRACT_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise
        if child.returncode:
            raise subprocess.SubprocessError(err.decode(errors="replace").strip()[-300:])
        data = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise RuntimeError(f"cannot read phonenumbers' region names: {exc}") from exc
    return RegionNames(data["countries"], data["places"] if home else {}, home,
                       data.get("local", {}))


_loaded: dict[str, RegionNames] = {}       # one extraction per country per process


def load_names(country: str, folder: Path | None) -> RegionNames:
    """The table for `country`, from `folder`'s cache file when there is one, else extracted
    (and cached there); EMPTY, with a log line, when it cannot be had."""
    if country in _loaded:
        return _loaded[country]
    names = _load(country, folder)
    if names is not EMPTY:
        _loaded[country] = names
    return names


def _load(country: str, folder: Path | None) -> RegionNames:
    path = None
    if folder is not None:
        path = Path(folder) / (f"regions-{country or 'none'}-{phonenumbers.__version__}"
                               f"-{CACHE_FORMAT}.json")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return RegionNames(data["countries"], data["places"], data["home"],
                               data["local"])
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("%s: unreadable (%s); reading the names again", path.name, exc)
    try:
        names = extract(country)
    except RuntimeError as exc:
        logger.error("%s; callers' regions show as unknown", exc)
        return EMPTY
    if path is not None:
        try:
            atomic_write(path, json.dumps({"countries": names.countries, "places": names.places,
                                           "home": names.home, "local": names.local}).encode(),
                         0o640)
        except OSError as exc:
            logger.warning("cannot cache region names in %s: %s", path, exc)
        for stale in path.parent.glob("regions-*.json"):   # an older phonenumbers or format
            if stale != path:
                stale.unlink(missing_ok=True)
    return names
