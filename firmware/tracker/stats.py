"""Summary figures from call records: pure functions the tracker and the web panel share.

Speed matters (a year of 100k calls well under 150 ms, and a Pi is slower than a laptop), so
figures are computed over columns, not records: `StatColumns` keeps, for each counted call
(inbound on a campaign number), only what the figures read, one list per field, sorted by
start time, with the local day and hour precomputed in the box's time zone. A period is then
two bisects, and each figure is one C-level pass over one list (sum, Counter, fsum of a slice)
instead of a Python loop over 100k dicts. The tracker keeps a StatColumns next to its records;
anyone holding records (e.g. the panel with a filtered list) can use `columns_of(records, tz)`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from datetime import date, timedelta, tzinfo
from typing import Any, Iterable, Mapping, Sequence

from firmware.tracker import dayparts, figures
from firmware.tracker.callrecord import as_record
from firmware.tracker.localtime import iso_formatter
from firmware.tracker.regions import caller_region
from firmware.tracker.records import ANSWERED, INBOUND, MISSED

COLUMNS = ("started", "id", "day", "hour", "answered", "missed", "wait", "target",
           "first_time", "campaign", "source", "value", "line_type", "recovered",
           "missed_reason", "caller", "lead_value", "region",
           # issue 21's charts: who answered (None when missed, "" when nobody claimed it)
           # and the talk time, for calls per person per hour and "too long" against the
           # campaign's average
           "answered_by", "talk")
TOP_N = 5
# Numbers and flags are kept in arrays (8 bytes a float, 1 a flag, no object per value): with
# 100k calls stored, lists of references cost 8 MB more. Text columns stay lists of shared
# strings.
TYPECODES = {"started": "d", "day": "i", "hour": "b", "answered": "b", "missed": "b",
             "wait": "d", "target": "b", "first_time": "b", "value": "d", "recovered": "b",
             "lead_value": "d", "talk": "d"}


def local_day_hour(ts: float, tz: tzinfo) -> tuple[int, int]:
    """The local date (as an ordinal) and hour of an epoch time in `tz`."""
    return iso_formatter(tz).day_hour(ts)


def stat_row(record: Mapping[str, Any], tz: tzinfo, regions: dict | None = None
             ) -> tuple | None:
    """One call's values in COLUMNS order, or None for a call the figures do not count.

    `regions` caches caller regions by number while many rows are built at once."""
    r = as_record(record)
    if r.direction != INBOUND or not r.campaign:        # records.counted
        return None
    day, hour = local_day_hour(r.offered_at, tz)
    status = r.status
    line_type = r.line_type or "unknown"
    return (r.offered_at, r.id, day, hour, status == ANSWERED,
            status == MISSED, _number(r.wait_seconds), bool(r.target), bool(r.first_time),
            r.campaign, r.source, _number(r.value), line_type, bool(r.callback),
            (r.missed_reason or "unknown") if status == MISSED else None, r.caller,
            _number(r.lead_value), caller_region(r.caller, line_type, regions),
            (r.answered_by or "") if status == ANSWERED else None, _number(r.talk_seconds))


def _number(value: Any) -> float:
    """A stored number, or 0 for what a hand-edited record may hold instead (a figure must
    not fail on one odd line)."""
    return float(value) if value.__class__ in (int, float) else 0.0


class StatColumns:
    """The counted calls as columns (a dict of equal-length arrays and lists), sorted by
    (start, id)."""

    def __init__(self, rows: Iterable[tuple] = ()):
        rows = sorted(rows, key=lambda r: (r[0], r[1]))
        self.columns: dict[str, Any] = {}
        for n, name in enumerate(COLUMNS):
            code = TYPECODES.get(name)
            values = (r[n] for r in rows)
            self.columns[name] = array(code, values) if code else list(values)

    def __len__(self) -> int:
        return len(self.columns["started"])

    def insert(self, row: tuple) -> None:
        at = self._position(row[0], row[1])
        for name, value in zip(COLUMNS, row):
            self.columns[name].insert(at, value)

    def replace(self, row: tuple) -> None:
        """Overwrite the row of the same (start, id); KeyError when there is none."""
        at = self._position(row[0], row[1])
        if at >= len(self) or self.columns["id"][at] != row[1]:
            raise KeyError(row[1])
        for name, value in zip(COLUMNS, row):
            self.columns[name][at] = value

    def between(self, low: float, high: float) -> dict[str, list]:
        """Copies of the columns for calls that started in [low, high)."""
        started = self.columns["started"]
        first, last = bisect_left(started, low), bisect_left(started, high)
        return {name: values[first:last] for name, values in self.columns.items()}

    def _position(self, started_at: float, call_id: str) -> int:
        started, ids = self.columns["started"], self.columns["id"]
        at = bisect_left(started, started_at)
        while at < len(started) and started[at] == started_at and ids[at] < call_id:
            at += 1
        return at


def columns_of(records: Iterable[dict[str, Any]], tz: tzinfo) -> dict[str, list]:
    """Sorted columns of the counted calls among `records`, ready for `summarize`."""
    regions: dict[str, str] = {}
    return StatColumns(row for row in (stat_row(r, tz, regions) for r in records)
                       if row is not None).columns


def summarize(columns: Mapping[str, Sequence], start: date, end: date,
              to_call_back: int, *, answer_within_seconds: float = 10,
              answered_at: Mapping[str, float] | None = None,
              with_previous: bool = True, too_long_factor: float = 3.0,
              parts: Mapping[int, Mapping[str, Any]] | None = None) -> dict:
    """The /api/summary figures over the calls whose local day is in [start, end].

    `columns` must be sorted by start time (as StatColumns and columns_of keep them) and, for
    `previous`, hold the period of as many days just before too. `answered_at` is the start
    of the latest answered call with each number, in either direction (what the tracker
    knows); without it, the answered inbound calls among `columns` stand in.
    `too_long_factor` is `[tracking] too_long_factor` (the `too_long` figure). `parts` are
    the days' additive figures the tracker keeps (dayparts.py; made from `columns` when not
    given): with them, `columns` need only NONADDITIVE_COLUMNS.
    """
    if answered_at is None:
        answered_at = figures.latest_answered(columns)
    result = _summarize(columns, start, end, to_call_back, answer_within_seconds, answered_at,
                        too_long_factor, parts)
    if with_previous:
        days = (end - start).days + 1
        result["previous"] = _summarize(columns, start - timedelta(days=days),
                                        start - timedelta(days=1), to_call_back,
                                        answer_within_seconds, answered_at, too_long_factor,
                                        parts)
    return result


# what the figures that do not add up over days read (with parts kept, only these are cut)
NONADDITIVE_COLUMNS = ("started", "day", "answered", "missed", "caller", "lead_value",
                       "campaign", "talk")


def _summarize(columns: Mapping[str, Sequence], start: date, end: date, to_call_back: int,
               answer_within_seconds: float, answered_at: Mapping[str, float],
               too_long_factor: float = 3.0,
               parts: Mapping[int, Mapping[str, Any]] | None = None) -> dict:
    first, last = start.toordinal(), end.toordinal()
    days = columns["day"]
    lo, hi = bisect_left(days, first), bisect_right(days, last)
    col = {name: values[lo:hi] for name, values in columns.items()} \
        if (lo, hi) != (0, len(days)) else columns
    if parts is None:
        parts = dayparts.parts_by_day(col, first, last, answer_within_seconds)
    by_day, calls_by_day, period = [], [], []
    for day in range(first, last + 1):
        part = parts.get(day)
        text = date.fromordinal(day).isoformat()
        if part is None:
            by_day.append({"date": text, "value": 0.0})
            calls_by_day.append({"date": text, "answered": 0, "missed": 0})
            continue
        period.append(part)
        by_day.append({"date": text, "value": round(part["value"], 2)})
        calls_by_day.append({"date": text, "answered": part["answered"],
                             "missed": part["missed"]})
    total = dayparts.merge(period)
    count, answered, missed = total["calls"], total["answered"], total["missed"]
    return {
        "answered": answered,
        "missed": missed,
        "to_call_back": to_call_back,
        "avg_wait_seconds": round(total["wait"] / count, 1) if count else 0.0,
        "target_calls": total["target"],
        "first_time_callers": total["first_time"],
        "top_campaigns": top_named(total["campaigns"]),
        "top_sources": top_named(total["sources"]),
        "calls_by_hour": [total["hours"].get(h, 0) for h in range(24)],
        "value_over_time": by_day,
        "caller_line_types": dict(total["line_types"].most_common()),
        # the second wave's figures (CONTRACT.md "Figures added to /api/summary")
        "answered_within": {"seconds": answer_within_seconds,
                            "share": round(total["fast"] / count, 4) if count else 0},
        "missed_by_reason": dict(total["missed_reasons"].most_common()),
        "unrecovered_value": figures.unrecovered_value(col, answered_at),
        "caller_regions": figures.regions_of(total["regions"]),
        # extras (CONTRACT.md allows added keys)
        "calls": answered + missed,
        "value": round(total["value"], 2),
        "callbacks_recovered": total["recovered"],
        "calls_over_time": calls_by_day,
        "answered_by_hour": figures.by_person_hour(total["answered_by_hour"]),
        "too_long": figures.too_long(col, too_long_factor),
    }


def top_named(named: Mapping[str, Sequence]) -> list[dict]:
    """Up to TOP_N of {"name", "calls", "value"} from {name: (calls, value)}: most calls
    first, then most value, then name (the box's day parts and the central's rollups)."""
    ranked = sorted(named, key=lambda n: (-named[n][0], -named[n][1], n))[:TOP_N]
    return [{"name": n, "calls": named[n][0], "value": round(float(named[n][1]), 2)}
            for n in ranked]
