"""Opening hours: is the box open at a given moment? Pure code, no clock reads.

`[hours]` in the config (docs/config.md, "Opening hours and after-hours routing") gives each
weekday its open ranges in the box's local time; outside them (or in night mode, switched by
hand) a campaign's calls go to its after-hours targets instead (firmware/pbx/routing.py).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:   # config imports this module to parse the ranges
    from firmware.config import Campaign, Hours

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")   # datetime.weekday() order
MINUTES_PER_DAY = 24 * 60

Ranges = tuple[tuple[int, int], ...]   # (start, end) minutes after local midnight, end exclusive

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_day(text: str) -> Ranges:
    """"08:00-18:00" (or "08:00-12:00, 13:00-17:00"; "" is closed) as minute ranges.

    Raises ValueError saying what is wrong. A range ends at or before 24:00 and after it starts:
    a night shift across midnight is two ranges on two days.
    """
    if not text.strip():
        return ()
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        match = _RANGE.match(part)
        if match is None:
            raise ValueError(f"{part.strip()!r} is not a range like 08:00-18:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
            raise ValueError(f"{part.strip()!r} is not a time of day")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            raise ValueError(f"{part.strip()!r} ends before it starts (split it at midnight)")
        ranges.append((start, end))
    ranges.sort()
    for (_, end), (start, _) in zip(ranges, ranges[1:]):
        if start < end:
            raise ValueError(f"ranges overlap in {text.strip()!r}")
    return tuple(ranges)


def is_open(hours: Hours, tz: tzinfo | str, now: float) -> bool:
    """Whether `now` (a Unix time) falls in the opening hours, read in time zone `tz`.

    No weekday set in [hours] (`hours.week` is None): always open.
    """
    if hours.week is None:
        return True
    local = datetime.fromtimestamp(now, ZoneInfo(tz) if isinstance(tz, str) else tz)
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in hours.week[local.weekday()])


def after_hours_targets(hours: Hours, campaign: Campaign) -> tuple[tuple[str, ...],
                                                                  tuple[str, ...]]:
    """(extensions to ring, external numbers to forward to) for a campaign after hours.

    Each of the campaign's own `after_hours_ring` / `after_hours_forward` replaces the [hours]
    default of the same name when the campaign sets it (even to an empty list).
    """
    ring = campaign.after_hours_ring
    forward = campaign.after_hours_forward
    return (hours.after_hours_ring if ring is None else ring,
            hours.after_hours_forward if forward is None else forward)
