"""Where a caller is from: phonenumbers' geocoder, in English, for the `caller_regions` figure.

Pure (no I/O, no clock). The geocoder is slow for a year of calls: `description_for_number`
costs ~70 us a number, most of it in `phonenumbers.parse` and in working out the line type.
So this reuses what the record already holds: the number in E.164 (split into country code and
national number directly, no parsing) and its line type, decided once when the call was
recorded. Only geographic numbers (fixed lines, and mobiles in the few countries whose mobile
numbers have areas) need the geocoder's prefix look-up; every other known type is the number's
country. About 11 us a number. Start-up passes a `cache` dict (callers call again) and drops
it once the history is loaded, so nothing per number stays in memory.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumber, geocoder
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

UNKNOWN = ""          # no region: not a phone number, or a number phonenumbers cannot place
LANGUAGE = "en"       # /api/* is language-neutral: English names, as the contract says

_TYPES = {name.lower(): value for name, value in vars(phonenumbers.PhoneNumberType).items()
          if name.isupper() and isinstance(value, int)}


def caller_region(number: str, line_type: str | None, cache: dict | None = None) -> str:
    """The region (a city, or the country) of an E.164 `number` of `line_type`, else ""."""
    if cache is not None:
        found = cache.get(number)
        if found is None:
            found = cache[number] = _region(number, line_type or "unknown")
        return found
    return _region(number, line_type or "unknown")


def _region(number: str, line_type: str) -> str:
    parsed = e164_number(number)
    if parsed is None:
        return UNKNOWN
    kind = _TYPES.get(line_type)
    if kind is None or kind == phonenumbers.PhoneNumberType.UNKNOWN:
        # A record without a line type (older, or hand-written): ask the geocoder in full.
        return geocoder.description_for_number(parsed, LANGUAGE)
    if phonenumbers.is_number_type_geographical(kind, parsed.country_code):
        return geocoder.description_for_valid_number(parsed, LANGUAGE)
    return geocoder.country_name_for_number(parsed, LANGUAGE)


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
