"""The figures an owner acts on (CONTRACT.md "Figures added to /api/summary"): pure functions
over the stat columns of one period (stats.py), no I/O, no clock, no translations.

The figures of /api/summary take the columns already cut to the period (a dict of
equal-length lists sorted by start time, as `stats.summarize` cuts them); `campaign_figures`
cuts them itself, like `summarize`. So the box and a
central panel holding the same columns get the same numbers. They lean on C-level passes
(`Counter`, `compress`, `fsum`) rather than Python loops over every call: a year of 100k calls
must stay well inside the dashboard's 150 ms.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from datetime import date
from itertools import compress
from typing import Any, Iterable, Mapping, Sequence

REGIONS_SHOWN = 10
MONTH_DAYS = 30          # the contract's month, for spreading cost_per_month over a period
UNKNOWN = "unknown"

Columns = Mapping[str, Sequence]


def latest_answered(col: Columns) -> dict[str, float]:
    """The start of the latest answered call per caller among `col` (inbound calls only: the
    stand-in when nobody passes what the tracker knows of both directions)."""
    return dict(zip(compress(col["caller"], col["answered"]),
                    compress(col["started"], col["answered"])))


def unrecovered_value(col: Columns, answered_at: Mapping[str, float]) -> float:
    """For each distinct phone number with a missed call among `col` and no answered call
    with it since (either direction: `answered_at` holds the start of the latest answered
    call per number), the lead value of the campaign of its last missed call; summed.

    "Since" means started after that last missed call started. Withheld and malformed
    callers cannot be called back and are not counted. The lead value is the one the record
    stored when the call was missed (the campaign's at that moment).
    """
    missed = col["missed"]
    # one C-level pass: later calls overwrite earlier ones, so each number keeps its last miss
    last = dict(zip(compress(col["caller"], missed),
                    zip(compress(col["started"], missed), compress(col["lead_value"], missed))))
    since = answered_at.get
    lost = [lead for number, (started, lead) in last.items()
            if number[:1] == "+" and since(number, -math.inf) <= started]
    return round(math.fsum(lost), 2)


def regions_of(counts: Counter) -> list[dict]:
    """Up to REGIONS_SHOWN `{"region", "calls"}` from the callers' region counts, most calls
    first (then by name); callers that cannot be placed count as "unknown" (a copy of
    `counts` is changed, not `counts`)."""
    counts = Counter(counts)
    if "" in counts:
        counts[UNKNOWN] += counts.pop("")
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:REGIONS_SHOWN]
    return [{"region": region, "calls": calls} for region, calls in ranked]


def answered_by_hour(col: Columns) -> list[dict]:
    """Calls per person per hour: `[{"extension", "calls": [24 counts]}]`, the answered calls
    by who answered them and the local hour they came in, one entry per person who answered
    any (by extension; "" for calls nobody has claimed, e.g. forwarded to a mobile, last)."""
    answered = col["answered"]
    return by_person_hour(Counter(zip(compress(col["answered_by"], answered),
                                      compress(col["hour"], answered))))


def by_person_hour(counts: Mapping[tuple, int]) -> list[dict]:
    """`answered_by_hour` from {(who answered, hour): calls}."""
    people = sorted({person for person, _hour in counts}, key=lambda p: (p == "", p))
    return [{"extension": person, "calls": [counts.get((person, h), 0) for h in range(24)]}
            for person in people]


def talk_averages(campaigns: Iterable[str], talks: Iterable[float]) -> dict[str, float]:
    """The mean talk time per campaign over answered calls given as parallel sequences."""
    return {name: total / count
            for name, (total, count) in sums_by_name(campaigns, talks).items()}


def sums_by_name(names: Iterable[Any], amounts: Iterable[float]) -> dict[Any, tuple]:
    """{name: (the sum of its amounts in the order given, how many)}: one loop (faster in
    CPython than a C-level pass per name, measured: 11 ms against 26 ms over 80k calls of
    8 campaigns). The reports' averages add up the same way (reports.duration_outliers)."""
    names = names if isinstance(names, list) else list(names)
    total: dict[Any, float] = {}
    for name, amount in zip(names, amounts):
        total[name] = total.get(name, 0.0) + amount
    count = Counter(names)
    return {name: (total[name], count[name]) for name in total}


def is_too_long(talk: float, average: float | None, factor: float) -> bool:
    """Longer than `factor` times the campaign's average talk (never, with factor 0)."""
    return bool(factor) and average is not None and talk > factor * average


def too_long(col: Columns, factor: float) -> dict:
    """`{"factor": N, "calls": n, "share": x}`: the answered calls that talked longer than N
    times the period's average talk of the answered calls of their own campaign, and their
    share of the answered calls (0 when there are none, or N is 0: switched off)."""
    answered = col["answered"]
    names = list(compress(col["campaign"], answered))
    talks = list(compress(col["talk"], answered))
    long = 0
    if factor:            # is_too_long as one limit per campaign, in one C-level pass
        limits = {name: factor * average
                  for name, average in talk_averages(names, talks).items()}
        long = sum(map(float.__lt__, map(limits.__getitem__, names), map(float, talks)))
    return {"factor": factor, "calls": long,
            "share": round(long / len(talks), 4) if talks else 0}


def period_cost(cost_per_month: float, start: date, end: date) -> float:
    """`cost_per_month` spread over the period's days, a month being MONTH_DAYS days."""
    days = (end - start).days + 1
    return round(cost_per_month * max(days, 0) / MONTH_DAYS, 2) if cost_per_month else 0.0


def period_columns(columns: Columns, start: date, end: date) -> Columns:
    """The columns of the calls whose local day is in [start, end] (two bisects)."""
    days = columns["day"]
    lo, hi = bisect_left(days, start.toordinal()), bisect_right(days, end.toordinal())
    if (lo, hi) == (0, len(days)):
        return columns
    return {name: values[lo:hi] for name, values in columns.items()}


def campaign_figures(columns: Columns, campaigns: Iterable[Any], start: date,
                     end: date) -> list[dict]:
    """The /api/campaigns entries over the calls of local days start..end among `columns`:
    one for every configured campaign (objects with `name`, `source`, `cost_per_month`),
    calls or not, in the config's order; then any campaign that has calls in the period but
    is no longer configured (cost 0), most calls first."""
    col = period_columns(columns, start, end)
    names = col["campaign"]
    calls = Counter(names)
    answered = Counter(compress(names, col["answered"]))
    missed = Counter(compress(names, col["missed"]))
    target = Counter(compress(names, col["target"]))
    first_time = Counter(compress(names, col["first_time"]))
    value: dict[str, list[float]] = {}
    for name, amount in zip(names, col["value"]):
        if amount:
            value.setdefault(name, []).append(amount)
    sources = dict(zip(names, col["source"]))
    tallies = {"calls": calls, "answered": answered, "missed": missed, "target": target,
               "first_time": first_time,
               "value": {name: math.fsum(amounts) for name, amounts in value.items()}}
    return campaign_entries(tallies, sources, campaigns, start, end)


def campaign_entries(tallies: Mapping[str, Mapping[str, float]], sources: Mapping[str, str],
                     campaigns: Iterable[Any], start: date, end: date) -> list[dict]:
    """The /api/campaigns entries from per-campaign tallies (`calls`, `answered`, `missed`,
    `target`, `first_time`: Counters by name; `value`: sums by name) and each campaign's
    source among its calls: what `campaign_figures` counts over calls, and a central panel
    sums from its rollups, turned into entries by the same rules."""
    calls, answered, missed = tallies["calls"], tallies["answered"], tallies["missed"]
    target, first_time, value = tallies["target"], tallies["first_time"], tallies["value"]
    rows = [(c.name, c.source, period_cost(c.cost_per_month, start, end)) for c in campaigns]
    configured = {name for name, _, _ in rows}
    gone = sorted((n for n in calls if n not in configured), key=lambda n: (-calls[n], n))
    rows += [(name, sources.get(name, ""), 0.0) for name in gone]
    out = []
    for name, source, cost in rows:
        out.append({
            "name": name, "source": source, "calls": calls[name],
            "answered": answered[name], "missed": missed[name],
            "target_calls": target[name], "first_time_callers": first_time[name],
            "value": round(value.get(name, 0.0), 2), "cost": cost,
            "cost_per_call": round(cost / calls[name], 2) if calls[name] else None,
            "cost_per_target_call": round(cost / target[name], 2) if target[name] else None,
        })
    return out
