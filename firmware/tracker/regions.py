"""Where a caller is from: phonenumbers' geocoder, in English, for the `caller_regions` figure.

Pure (no I/O, no clock). The geocoder is slow for a figure over a year of calls (a full
`description_for_number` costs ~70 us: parsing and working out the line type), so this reuses
what the record already holds: the number in E.164 and its line type, decided once when the
call was recorded. Only geographic numbers (fixed lines, and mobiles in the few countries
whose mobile numbers have areas) need the prefix look-up; every other known type is the
number's country. An LRU cache keeps the numbers seen lately (callers call again) without
holding one entry per number of the whole history.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import geocoder

UNKNOWN = ""          # no region: not a phone number, or a number phonenumbers cannot place
LANGUAGE = "en"       # /api/* is language-neutral: English names, as the contract says
CACHE_SIZE = 8192

_TYPES = {name.lower(): value for name, value in vars(phonenumbers.PhoneNumberType).items()
          if name.isupper() and isinstance(value, int)}


def caller_region(number: str, line_type: str | None) -> str:
    """The region (a city, or the country) of an E.164 `number` of `line_type`, else ""."""
    if len(number) < 3 or number[0] != "+" or not number[1:].isdigit():
        return UNKNOWN
    return _region(number, line_type or "unknown")


@lru_cache(maxsize=CACHE_SIZE)
def _region(number: str, line_type: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return UNKNOWN
    kind = _TYPES.get(line_type)
    if kind is None or kind == phonenumbers.PhoneNumberType.UNKNOWN:
        # A record without a line type (older, or hand-written): ask the geocoder in full.
        return geocoder.description_for_number(parsed, LANGUAGE)
    if phonenumbers.is_number_type_geographical(kind, parsed.country_code):
        return geocoder.description_for_valid_number(parsed, LANGUAGE)
    return geocoder.country_name_for_number(parsed, LANGUAGE)
