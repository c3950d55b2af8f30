"""The toll-fraud guard: which external numbers a desk phone may call, and how many at once.

A stolen extension password is worth money only through the trunk: a burst of calls to
premium-rate or far-away numbers, many at once, usually at night. So an outbound call (from
an authenticated extension: the B2BUA has checked that) goes out only when
- fewer than `security.max_outbound_calls` outbound calls are up already,
- the number starts with one of `security.allowed_prefixes` (default: the box's country), and
- it is a valid number that is not premium-rate or shared-cost (phonenumbers' metadata).
Pure: `check_dial` is a decision from its arguments; `guard` turns it into a routing value.
"""

from __future__ import annotations

import logging

import phonenumbers
from phonenumbers import PhoneNumberType

from firmware.config import Config
from firmware.pbx import events
from firmware.pbx.routing import DialTrunk, Reject, Route

logger = logging.getLogger(__name__)

REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.UNKNOWN: "not a valid number",
}


def allowed_prefixes(config: Config) -> tuple[str, ...]:
    """The configured prefixes, or the box's own country calling code ("+48" for PL)."""
    prefixes = config.security.allowed_prefixes
    if prefixes is None:
        return (f"+{phonenumbers.country_code_for_region(config.box.country)}",)
    return prefixes


def check_dial(number: str, config: Config, active_outbound: int) -> str | None:
    """Why `number` (E.164) may not be dialled out now, or None when it may."""
    limit = config.security.max_outbound_calls
    if active_outbound >= limit:
        return f"{active_outbound} outbound call(s) up already, the limit is {limit}"
    if not any(number.startswith(prefix) for prefix in allowed_prefixes(config)):
        return "not under security.allowed_prefixes"
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return "not a valid number"
    return REFUSED_TYPES.get(phonenumbers.number_type(parsed))


def guard(extension: str, route: Route, config: Config, active_outbound: int) -> Route:
    """`route` itself, or a 403 when it dials the trunk and `check_dial` refuses the number."""
    if not isinstance(route, DialTrunk) or route.emergency:
        return route
    reason = check_dial(route.number, config, active_outbound)
    if reason is None:
        return route
    logger.warning("toll-fraud guard: %s may not call %s: %s", extension, route.number, reason)
    return Reject(403, "Forbidden", events.FAILED)
