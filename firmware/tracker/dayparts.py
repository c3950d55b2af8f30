"""The dashboard's additive figures, one local day at a time (the box's rollups).

Most of /api/summary adds up over days: counts, sums, per-name and per-hour tallies. The
tracker keeps each past day's part (`CallIndex.day_parts`), drops a day's part whenever a
call of that day is added, changed or removed, and a year's dashboard merges 366 small parts
instead of passing over 100k calls (the central keeps the same rollups in PostgreSQL,
firmware/central/rollup.py). What does not add up over days -- money not recovered (the last
miss per number, and who was called since) and too long against the period's own average --
is still computed over the period's calls (stats._summarize).

`part_of` and `merge` are the one definition: `stats.summarize` without kept parts cuts its
columns by day and goes through them too, so the kept and the fresh figures are the same.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections import Counter
from itertools import compress
from typing import Any, Iterable, Mapping, Sequence

# the stat columns a day's part is made of (stats.COLUMNS less what is not additive)
PART_COLUMNS = ("answered", "missed", "wait", "target", "first_time", "campaign", "source",
                "value", "line_type", "recovered", "missed_reason", "region", "answered_by",
                "hour")
COUNTERS = ("hours", "line_types", "missed_reasons", "regions", "answered_by_hour")


def _frozen(counts: Counter) -> tuple[tuple, array]:
    """A tally as (keys, counts): a kept day costs a tenth of a dict's bytes (366 days of
    Counters took 3.5 MB with 100k calls a year; the 80 MB idle budget has no room)."""
    return tuple(counts), array("I", counts.values())


def _frozen_pairs(counts: Counter) -> tuple[tuple, bytes, array]:
    """{(who, hour): calls} as (who..., hours, counts): no tuple object kept per key."""
    return (tuple(who for who, _ in counts), bytes(hour for _, hour in counts),
            array("I", counts.values()))


def _named(names: Sequence[str], values: Sequence[float]) -> dict[str, list]:
    """{name: [calls, value]} in the order names first appear (values of 0 not added)."""
    out: dict[str, list] = {name: [count, 0.0] for name, count in Counter(names).items()}
    for name, amount in zip(compress(names, values), compress(values, values)):
        out[name][1] += amount
    return out


def part_of(col: Mapping[str, Sequence], within: float) -> dict[str, Any]:
    """The additive figures of the counted calls in `col` (one local day's stat columns);
    `within` is `[tracking] answer_within_seconds`."""
    answered, missed, values = col["answered"], col["missed"], col["value"]
    return {
        "calls": len(answered), "answered": sum(answered), "missed": sum(missed),
        "wait": math.fsum(col["wait"]), "target": sum(col["target"]),
        "first_time": sum(col["first_time"]), "recovered": sum(col["recovered"]),
        "value": math.fsum(values),
        "fast": sum(map(float(within).__ge__, compress(col["wait"], answered))),
        "campaigns": _named(col["campaign"], values), "sources": _named(col["source"], values),
        "hours": _frozen(Counter(col["hour"])),
        "line_types": _frozen(Counter(col["line_type"])),
        "missed_reasons": _frozen(Counter(compress(col["missed_reason"], missed))),
        "regions": _frozen(Counter(col["region"])),
        "answered_by_hour": _frozen_pairs(Counter(zip(compress(col["answered_by"], answered),
                                                      compress(col["hour"], answered)))),
    }


def parts_by_day(col: Mapping[str, Sequence], first: int, last: int,
                 within: float) -> dict[int, dict]:
    """{day ordinal: part} for the days first..last that have calls in `col` (sorted by
    start, so by local day)."""
    days = col["day"]
    parts, at = {}, 0
    end = len(days)
    while at < end:
        day = days[at]
        upto = bisect_right(days, day, at)
        if first <= day <= last:
            parts[day] = part_of({name: col[name][at:upto] for name in PART_COLUMNS}, within)
        at = upto
    return parts


def merge(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One part for many days (given in day order, so ties keep the order of first
    appearance as a single pass over the calls would)."""
    sums: dict[str, list] = {"wait": [], "value": []}
    total = dict.fromkeys(("calls", "answered", "missed", "target", "first_time",
                           "recovered", "fast"), 0)
    counters = {name: Counter() for name in COUNTERS}
    named: dict[str, dict[str, list]] = {"campaigns": {}, "sources": {}}
    for part in parts:
        for name in total:
            total[name] += part[name]
        sums["wait"].append(part["wait"])
        sums["value"].append(part["value"])
        for name in COUNTERS[:-1]:
            tally, get = counters[name], counters[name].get
            keys, counts = part[name]
            for key, count in zip(keys, counts):
                tally[key] = get(key, 0) + count
        tally, get = counters["answered_by_hour"], counters["answered_by_hour"].get
        who, hours, counts = part["answered_by_hour"]
        for key, count in zip(zip(who, hours), counts):
            tally[key] = get(key, 0) + count
        for name, table in named.items():
            for key, (calls, value) in part[name].items():
                entry = table.get(key)
                if entry is None:
                    table[key] = [calls, [value]]
                else:
                    entry[0] += calls
                    entry[1].append(value)
    merged: dict[str, Any] = {**total, **counters, "wait": math.fsum(sums["wait"]),
                              "value": math.fsum(sums["value"])}
    for name, table in named.items():
        merged[name] = {key: [calls, math.fsum(values)] for key, (calls, values) in
                        table.items()}
    return merged
