"""Filters for the call list and the summary period, parsed from query-string arguments.

Pure: the web panel hands us its request args, we hand back frozen values or a BadInput that
names the field, so every bad request gets the same 400 and nothing else happens.
"""

from __future__ import annotations

import time
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Mapping

from firmware.config import Config, normalise_number
from firmware.tracker.callrecord import as_record
from firmware.tracker.errors import BadInput
from firmware.tracker.records import DIRECTIONS, INTERNAL, STATUSES

MAX_VALUE_LENGTH = 100
MAX_PERIOD_DAYS = 3660        # ten years: value_over_time has one entry per day


@dataclass(frozen=True)
class CallFilter:
    start: date | None = None
    end: date | None = None
    campaign: str | None = None
    source: str | None = None
    status: str | None = None       # "answered" | "missed" (| "unanswered": outbound, internal)
    extension: str | None = None
    number: str | None = None       # E.164
    direction: str | None = None    # "inbound" | "outbound" | "internal"


def box_tz(config: Config) -> tzinfo:
    return zoneinfo.ZoneInfo(config.box.timezone)


def today(config: Config, now: float | None = None) -> date:
    """The local date in the box's time zone."""
    return datetime.fromtimestamp(time.time() if now is None else now, box_tz(config)).date()


def parse_call_filter(args: Mapping[str, str], config: Config) -> CallFilter:
    """A CallFilter from /api/calls args; empty values mean "any"; BadInput on junk."""
    start = _date(args, "from")
    end = _date(args, "to")
    if start and end and start > end:
        raise BadInput("from", "must not be after 'to'")
    status = _text(args, "status")
    if status is not None and status not in STATUSES:
        raise BadInput("status", f"must be one of {', '.join(STATUSES)}")
    direction = _text(args, "direction")
    if direction is not None and direction not in DIRECTIONS:
        raise BadInput("direction", f"must be one of {', '.join(DIRECTIONS)}")
    extension = _text(args, "extension")
    if extension is not None and not (extension.isdigit() and len(extension) <= 6):
        raise BadInput("extension", "must be an extension number, like 101")
    number = _text(args, "number")
    if number is not None:
        normalised = normalise_number(number, config.box.country)
        if normalised is None:
            raise BadInput("number", "not a phone number")
        number = normalised
    return CallFilter(start, end, _text(args, "campaign"), _text(args, "source"), status,
                      extension, number, direction)


def parse_period(args: Mapping[str, str], config: Config, default_days: int = 7,
                 *, now: float | None = None) -> tuple[date, date]:
    """(from, to) for /api/summary: by default the last `default_days` days up to today."""
    start = _date(args, "from")
    end = _date(args, "to")
    if end is None:
        end = today(config, now) if start is None or start <= today(config, now) else start
    if start is None:
        start = end - timedelta(days=default_days - 1)
    if start > end:
        raise BadInput("from", "must not be after 'to'")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise BadInput("from", f"the period must be shorter than {MAX_PERIOD_DAYS} days")
    return start, end


def day_bounds(start: date | None, end: date | None, tz: tzinfo) -> tuple[float, float]:
    """Epoch bounds [low, high) of local days start..end (inclusive); DST-aware."""
    low = _midnight(start, tz) if start else float("-inf")
    high = _midnight(end + timedelta(days=1), tz) if end else float("inf")
    return low, high


def matches(record: Mapping[str, Any], flt: CallFilter) -> bool:
    """Whether a record passes the filter's non-date conditions (dates go by day_bounds)."""
    r = as_record(record)
    if flt.campaign is not None and r.campaign != flt.campaign:
        return False
    if flt.source is not None and r.source != flt.source:
        return False
    if flt.status is not None and r.status != flt.status:
        return False
    if flt.direction is not None and r.direction != flt.direction:
        return False
    if flt.number is not None and flt.number not in (r.caller, r.callee):
        return False
    if flt.extension is not None:
        ext = flt.extension
        involved = (r.answered_by == ext or r.extension == ext or ext in r.rang
                    or (r.direction == INTERNAL and r.callee == ext))
        if not involved:
            return False
    return True


def _midnight(day: date, tz: tzinfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def _text(args: Mapping[str, str], field: str) -> str | None:
    value = args.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(field, "must be text")
    value = value.strip()
    if len(value) > MAX_VALUE_LENGTH:
        raise BadInput(field, f"must be at most {MAX_VALUE_LENGTH} characters")
    return value or None


def _date(args: Mapping[str, str], field: str) -> date | None:
    value = _text(args, field)
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(field, "must be a date as YYYY-MM-DD") from None
