"""Reports over calls: pure functions, no I/O, no clock, no translations.

Input is a period's calls as columns (`Tracker.call_view()`, a `callview.CallView`): each
field one sequence of plain values (texts, seconds, flags), with each call's local day (a date
ordinal) and hour in the box's time zone beside them, worked out once when the call was
stored, daylight-saving changes included. A report is one pass over the few columns it reads;
the ISO text of a time is made only for the rows a report shows. A list of calls in the
/api/calls shape is taken too (`callview.ViewOfCalls`): the same figures, the local day and
hour then read from `started_at`. Callback queue entries come in the /api/callbacks shape
(`Tracker.callbacks()` for those waiting, `Tracker.recovered_callbacks()` for those closed).

Rows are dicts of raw values (counts, seconds, fractions for percentages, ISO times); the
panel labels and formats them. A percentage or average with nothing to divide by is None.
The definitions are in docs/reports.md; the builder's filter and rows in report_select.py.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from statistics import median
from collections import Counter
from itertools import compress, repeat
from typing import Any, Callable, Iterable, Mapping, Sequence

from firmware.tracker.callview import CallView, as_view
from firmware.tracker.errors import BadInput
from firmware.tracker.figures import period_cost, sums_by_name
from firmware.tracker.report_select import number_arg

INBOUND, OUTBOUND = "inbound", "outbound"
ANSWERED, MISSED = "answered", "missed"
RECOVERED = ("called_back", "called_again")

# Working time when the box has no opening hours: 8 h Monday to Friday (hours, Monday first).
DEFAULT_WORKING_WEEK = (8.0, 8.0, 8.0, 8.0, 8.0, 0.0, 0.0)
QUIET_DAYS_SHOWN = 7
MAX_SECONDS = 10 * 86400
Calls = CallView | Iterable[dict]

# -- calls from campaigns ------------------------------------------------------------------

def prorated_cost(cost_per_month: float, start: date, end: date) -> float:
    """A monthly cost spread over local days start..end, a month being 30 days: the
    contract's rule for /api/campaigns, so the report and the API agree."""
    return period_cost(cost_per_month, start, end) if end >= start else 0.0


def campaigns_report(calls: Calls, campaigns: Sequence[Any], start: date,
                     end: date) -> dict:
    """Per campaign: calls, answered, missed, % missed, target calls, first-time callers,
    value, cost (cost_per_month pro-rated to the period), cost per call and per target call.

    `campaigns` are the configured ones (name, source, cost_per_month): each gets a row, with
    or without calls. Counts inbound calls on campaign numbers, as the dashboard does.
    """
    rows: dict[str, dict] = {}
    for c in campaigns:
        rows[c.name] = _campaign_row(c.name, c.source, prorated_cost(c.cost_per_month, start,
                                                                     end))
    view = as_view(calls)
    for name, direction, status, target, first_time, value, source in zip(
            view.campaign, view.direction, view.status, view.target, view.first_time,
            view.value, view.source):
        if direction != INBOUND or not name:
            continue
        row = rows.get(name)
        if row is None:
            row = rows[name] = _campaign_row(name, source, 0.0)
        row["calls"] += 1
        if status == ANSWERED:
            row["answered"] += 1
        elif status == MISSED:
            row["missed"] += 1
        row["target_calls"] += target
        row["first_time"] += first_time
        row["value"] += value
    ordered = sorted(rows.values(), key=lambda r: (-r["calls"], -r["value"], r["name"]))
    total = _campaign_row("", "", 0.0)
    for row in ordered:
        for key in ("calls", "answered", "missed", "target_calls", "first_time", "value",
                    "cost"):
            total[key] += row[key]
    for row in (*ordered, total):
        row["value"] = round(row["value"], 2)
        row["target_calls"] = int(row["target_calls"])
        row["first_time"] = int(row["first_time"])
        row["cost"] = round(row["cost"], 2)
        row["missed_pct"] = _share(row["missed"], row["calls"])
        row["cost_per_call"] = _ratio(row["cost"], row["calls"])
        row["cost_per_target"] = _ratio(row["cost"], row["target_calls"])
    return {"rows": ordered, "total": total}


def _campaign_row(name: str, source: str, cost: float) -> dict:
    return {"name": name, "source": source, "calls": 0, "answered": 0, "missed": 0,
            "target_calls": 0, "first_time": 0, "value": 0.0, "cost": cost}


# -- new campaign check ----------------------------------------------------------------------

def new_campaign_check(calls: Calls, campaigns: Sequence[str], start: date,
                       end: date) -> list[dict]:
    """Per campaign, from its first call within start..end (or `start`, whichever is later):
    the day it started, the time of its first and last call, calls since, days since, the
    days with no call at all, and the latest of those days (up to QUIET_DAYS_SHOWN)."""
    view = as_view(calls)
    started = view.started
    first: dict[str, int] = {}          # campaign -> row of its first / last call
    last: dict[str, int] = {}
    per_day: dict[str, set[int]] = {}
    counts: dict[str, int] = {}
    low, high = start.toordinal(), end.toordinal()
    for row, (name, direction, day) in enumerate(zip(view.campaign, view.direction,
                                                     view.day)):
        if direction != INBOUND or not name or not low <= day <= high:
            continue
        at = started[row]
        if name not in first or at < started[first[name]]:
            first[name] = row
        if name not in last or at > started[last[name]]:
            last[name] = row
        counts[name] = counts.get(name, 0) + 1
        days = per_day.get(name)
        if days is None:
            days = per_day[name] = set()
        days.add(day)
    names = list(dict.fromkeys([*campaigns, *sorted(first)]))
    rows = []
    for name in names:
        if name not in first:
            rows.append({"name": name, "started": None, "first_call": None, "last_call": None,
                         "calls": 0, "days": 0, "days_without": 0, "quiet_days": []})
            continue
        began = view.day[first[name]]
        seen = per_day[name]
        quiet = [day for day in range(began, high + 1) if day not in seen]
        rows.append({"name": name, "started": date.fromordinal(began).isoformat(),
                     "first_call": view.started_at(first[name]),
                     "last_call": view.started_at(last[name]), "calls": counts[name],
                     "days": high - began + 1, "days_without": len(quiet),
                     "quiet_days": [date.fromordinal(d).isoformat()
                                    for d in quiet[-QUIET_DAYS_SHOWN:]]})
    return rows


# -- missed calls not yet called back -------------------------------------------------------

def not_called_back(entries: Iterable[dict], now: datetime,
                    campaign: str | None = None) -> list[dict]:
    """The callback queue as it stands (entries in the /api/callbacks shape), the
    longest-waiting first, with how long each has waited at `now`."""
    rows = []
    for entry in entries:
        if campaign is not None and entry.get("campaign") != campaign:
            continue
        waited = (now - datetime.fromisoformat(entry["first_missed_at"])).total_seconds()
        rows.append({"number": entry["number"], "campaign": entry.get("campaign") or "",
                     "missed_calls": entry["missed_calls"],
                     "first_missed_at": entry["first_missed_at"],
                     "last_missed_at": entry["last_missed_at"],
                     "waiting_seconds": max(0.0, round(waited)),
                     "attempts": entry.get("attempts", 0),
                     "last_attempt_at": entry.get("last_attempt_at")})
    rows.sort(key=lambda r: (-r["waiting_seconds"], r["number"]))
    return rows


# -- per person ---------------------------------------------------------------------------------

def working_week(opening: Sequence[Sequence[tuple[int, int]]] | None) -> tuple[float, ...]:
    """Hours of work per weekday (Monday first) from opening hours given as minute ranges
    per weekday (config `[hours]`); DEFAULT_WORKING_WEEK when there are none (None)."""
    if opening is None:
        return DEFAULT_WORKING_WEEK
    return tuple(sum(end - begin for begin, end in day) / 60 for day in opening)


def working_seconds(start: date, end: date,
                    week: Sequence[float] = DEFAULT_WORKING_WEEK) -> float:
    """Working time over local days start..end: `week` holds hours per weekday, Monday first."""
    full, rest = divmod((end - start).days + 1, 7)
    total = full * sum(week) + sum(week[(start.weekday() + n) % 7] for n in range(rest))
    return total * 3600.0


def per_person(calls: Calls, people: Sequence[tuple[str, str]], start: date,
               end: date, week: Sequence[float] = DEFAULT_WORKING_WEEK) -> dict:
    """Per extension: inbound answered and missed (rang there, nobody answered), % missed,
    average time to answer, average and total talk time of answered inbound calls, outgoing
    calls and their average talk, and utilisation: all talk (in and out) / working time.

    `people` are (extension, name) of the box: each gets a row. Internal calls do not count.
    """
    rows: dict[str, dict] = {ext: _person_row(ext, name) for ext, name in people}

    def row_of(ext: str) -> dict:
        row = rows.get(ext)
        if row is None:
            row = rows[ext] = _person_row(ext, "")
        return row

    view = as_view(calls)
    splits = view.talk_splits()
    for row_at, (direction, status, by, wait, talk, rang, extension) in enumerate(zip(
            view.direction, view.status, view.answered_by, view.wait, view.talk, view.rang,
            view.extension)):
        if direction == INBOUND:
            if status == ANSWERED and by:
                row = row_of(by)
                row["answered"] += 1          # a transferred call is answered once
                row["_wait"] += wait
                split = splits.get(row_at) if splits else None
                if split:
                    for person, seconds in split.items():   # each talked their own part
                        row_of(person)["total_talk"] += seconds
                else:
                    row["total_talk"] += talk
            elif status == MISSED:
                for ext in rang or ():
                    row_of(ext)["missed"] += 1
        elif direction == OUTBOUND and extension:
            row = row_of(extension)
            row["outgoing"] += 1
            if status == ANSWERED:
                row["_out_answered"] += 1
                row["outgoing_talk"] += talk
    work = working_seconds(start, end, week)
    ordered = sorted(rows.values(), key=lambda r: r["extension"])
    for row in ordered:
        answered = row["answered"]
        row["missed_pct"] = _share(row["missed"], answered + row["missed"])
        row["avg_answer"] = _ratio(row.pop("_wait"), answered, 1)
        row["avg_talk"] = _ratio(row["total_talk"], answered, 1)
        row["total_talk"] = round(row["total_talk"], 1)
        row["avg_outgoing"] = _ratio(row["outgoing_talk"], row.pop("_out_answered"), 1)
        row["outgoing_talk"] = round(row["outgoing_talk"], 1)
        row["utilisation"] = _share(row["total_talk"] + row["outgoing_talk"], work)
    return {"rows": ordered, "working_seconds": work}


def _person_row(ext: str, name: str) -> dict:
    return {"extension": ext, "name": name, "answered": 0, "missed": 0, "_wait": 0.0,
            "total_talk": 0.0, "outgoing": 0, "_out_answered": 0, "outgoing_talk": 0.0}


# -- load: hour x weekday ---------------------------------------------------------------------

def load_map(calls: Calls, start: date, end: date) -> dict:
    """Inbound calls by local weekday (Monday first) and hour: `counts[weekday][hour]`, and
    `averages` per day, that is counts over the number of such weekdays in start..end."""
    view = as_view(calls)
    inbound = list(map(INBOUND.__eq__, view.direction))
    counts = [[0] * 24 for _ in range(7)]
    for (day, hour), n in Counter(zip(compress(view.day, inbound),
                                      compress(view.hour, inbound))).items():
        counts[(day - 1) % 7][hour] += n        # date ordinal 1 was a Monday
    days = [0] * 7
    if end >= start:
        full, rest = divmod((end - start).days + 1, 7)
        days = [full + (1 if (w - start.weekday()) % 7 < rest else 0) for w in range(7)]
    averages = [[round(c / days[w], 2) if days[w] else 0.0 for c in counts[w]]
                for w in range(7)]
    return {"counts": counts, "averages": averages, "days": days,
            "total": sum(map(sum, counts))}


# -- too short and too long calls ------------------------------------------------------------

def duration_outliers(calls: Calls, short_seconds: float, long_seconds: float,
                      factor: float = 0.0) -> dict:
    """Answered external calls that talked less than `short_seconds`, more than
    `long_seconds`, or (inbound campaign calls, `factor` > 0) more than `factor` times the
    average talk of the period's answered inbound calls of their campaign: oldest first, and
    per person the answered calls, the short ones, the long ones and those over the average
    rule; and per campaign its average and limit. The average rule is the one of /api/summary
    `too_long` (figures.too_long), so both count the same calls."""
    if short_seconds < 0 or long_seconds <= short_seconds:
        raise BadInput("long", "must be longer than the short threshold")
    view = as_view(calls)
    directions, statuses, campaigns, talks = view.direction, view.status, view.campaign, \
        view.talk
    # column passes (C-level compress, map and Counter), then a loop over the calls found
    answered_in = [status == ANSWERED and direction == INBOUND
                   for status, direction in zip(statuses, directions)]
    answered_out = [status == ANSWERED and direction == OUTBOUND
                    for status, direction in zip(statuses, directions)]
    names_in = list(compress(campaigns, answered_in))
    talks_in = list(compress(talks, answered_in))
    # the campaigns' average talk, added up as figures.too_long does
    sums = {name: tally for name, tally in sums_by_name(names_in, talks_in).items() if name}
    answered = {name: count for name, (_total, count) in sums.items()}
    average = {name: total / count for name, (total, count) in sums.items()}
    # figures.is_too_long(talk, average, factor) as one limit per campaign (inf: never)
    limits = {name: factor * mean if factor else math.inf for name, mean in average.items()}
    over_in = list(map(float.__gt__, talks_in, map(limits.get, names_in, repeat(math.inf))))
    people_in = [by or "" for by in compress(view.answered_by, answered_in)]
    people_out = [ext or "" for ext in compress(view.extension, answered_out)]
    talks_out = list(compress(talks, answered_out))
    short, long = float(short_seconds), float(long_seconds)
    tallies = {
        "answered": Counter(people_in) + Counter(people_out),
        "short": Counter(compress(people_in, map(short.__gt__, talks_in)))
        + Counter(compress(people_out, map(short.__gt__, talks_out))),
        "long": Counter(compress(people_in, map(long.__lt__, talks_in)))
        + Counter(compress(people_out, map(long.__lt__, talks_out))),
        "over_average": Counter(compress(people_in, over_in))}
    people = {person: {"extension": person, **{key: counts[person]
                                                for key, counts in tallies.items()}}
              for person in tallies["answered"]}
    over_by_campaign = Counter(compress(names_in, over_in))
    found = [(row, person, over) for row, person, talk, over in zip(
        compress(range(len(view)), answered_in), people_in, talks_in, over_in)
        if talk < short or talk > long or over]
    found += [(row, person, False) for row, person, talk in zip(
        compress(range(len(view)), answered_out), people_out, talks_out)
        if talk < short or talk > long]
    if view.ordered:
        found.sort()
    else:
        started = view.started
        found.sort(key=lambda f: (started[f[0]], view.id(f[0])))
    callers, callees = view.caller, view.callee
    rows_found = [row for row, _person, _over in found]
    calls_found = []
    for (row_at, person, over), call_id, started_at in zip(
            found, view.ids(rows_found), view.started_texts(rows_found)):
        inbound = directions[row_at] == INBOUND
        talk = talks[row_at]
        mean = average.get(campaigns[row_at]) if inbound else None
        calls_found.append({
            "id": call_id, "started_at": started_at,
            "kind": "short" if talk < short else "long" if talk > long else "average",
            "direction": directions[row_at],
            "number": callers[row_at] if inbound else callees[row_at],
            "campaign": campaigns[row_at], "person": person, "talk_seconds": talk,
            "times_average": round(talk / mean, 1) if mean else None})
    rows = sorted(people.values(), key=lambda r: r["extension"])
    for row in rows:
        row["short_pct"] = _share(row["short"], row["answered"])
        row["long_pct"] = _share(row["long"], row["answered"])
        row["over_average_pct"] = _share(row["over_average"], row["answered"])
    by_campaign = [{"campaign": name, "answered": answered[name],
                    "average": round(average[name], 1),
                    "limit": round(factor * average[name], 1) if factor else None,
                    "over_average": over_by_campaign[name]}
                   for name in sorted(average, key=lambda n: (-answered[n], n))]
    return {"calls": calls_found, "people": rows, "campaigns": by_campaign, "factor": factor}


def parse_thresholds(args: Mapping[str, str], factor: float = 0.0
                     ) -> tuple[float, float, float]:
    """(short, long, factor) from args `short` and `long` (talk seconds, defaults 10 and
    600) and `factor` (times the campaign's average, 0 off or 1 to 100; default `factor`,
    the config's `[tracking] too_long_factor`)."""
    short = number_arg(args, "short", 0, MAX_SECONDS)
    long = number_arg(args, "long", 1, MAX_SECONDS)
    asked = number_arg(args, "factor", 0, 100)
    short = 10.0 if short is None else short
    long = 600.0 if long is None else long
    if long <= short:
        raise BadInput("long", "must be longer than the short threshold")
    if asked is not None and 0 < asked < 1:
        raise BadInput("factor", "must be 0 (off) or from 1 to 100")
    return short, long, factor if asked is None else asked


# -- calls per person per hour -----------------------------------------------------------------

def answered_by_hour(calls: Calls) -> dict[str, list[int]]:
    """Inbound calls answered by each extension, by the local hour they came in: the
    answered calls of the per-person table (`per_person`), spread over the day."""
    view = as_view(calls)
    taken = [direction == INBOUND and status == ANSWERED and bool(by) for direction, status, by
             in zip(view.direction, view.status, view.answered_by)]
    counts: dict[str, list[int]] = {}
    for (person, hour), n in Counter(zip(compress(view.answered_by, taken),
                                         compress(view.hour, taken))).items():
        hours = counts.get(person)
        if hours is None:
            hours = counts[person] = [0] * 24
        hours[hour] += n
    return dict(sorted(counts.items()))


# -- categories by campaign ------------------------------------------------------------------

def categories_by_campaign(calls: Calls) -> dict:
    """Answered inbound calls by campaign and wrap-up category ("" for no category).

    `categories` are ordered by how often they were used, "" last; each row has `counts`
    (category -> calls) and `total`; `total` sums the rows.
    """
    view = as_view(calls)
    table: dict[str, dict[str, int]] = {}
    for direction, status, wrap, name in zip(view.direction, view.status, view.wrapup,
                                             view.campaign):
        if direction != INBOUND or status != ANSWERED:
            continue
        category = (wrap.get("category") or "") if wrap else ""
        counts = table.get(name)
        if counts is None:
            counts = table[name] = {}
        counts[category] = counts.get(category, 0) + 1
    used: dict[str, int] = {}
    for counts in table.values():
        for category, n in counts.items():
            used[category] = used.get(category, 0) + n
    categories = sorted(used, key=lambda c: (c == "", -used[c], c.casefold()))
    rows = [{"campaign": name, "counts": counts, "total": sum(counts.values())}
            for name, counts in table.items()]
    rows.sort(key=lambda r: (r["campaign"] == "", -r["total"], r["campaign"]))
    return {"categories": categories, "rows": rows,
            "total": {"campaign": "", "counts": used, "total": sum(used.values())}}


# -- missed-call recovery -----------------------------------------------------------------------

def recovery(entries: Iterable[dict], calls: Calls, start: date, end: date,
             lead_values: Mapping[str, float],
             day_of: Callable[[float], int] | None = None) -> dict:
    """How missed callers were won back, for queue entries whose first missed call fell on
    local days start..end, by campaign, by person (who cleared them) and in total.

    `entries` are every callback queue entry, waiting and closed (/api/callbacks shape; the
    closed ones with `how`, `cleared_at`, `cleared_by`, `call_id`). An entry is recovered when
    an answered call cleared it (`how` called_back or called_again); time to call back runs
    from its first missed call to that answer. Value recovered is the clearing call's value
    (from `calls`, by id), or else the campaign's lead value.

    With `day_of` (epoch seconds -> local date ordinal), the entries' times are epoch seconds
    as the queue keeps them (`Tracker.callback_entries()`: no ISO text to make and parse);
    the figures are the same, times counted in whole seconds as the ISO text shows them.
    """
    view = as_view(calls)
    value_of = view.value
    recovered = view.rows_with(view.recovered)
    values = {call_id: value_of[row] or 0.0
              for call_id, row in zip(view.ids(recovered), recovered)}
    if day_of is None:                  # ISO text, as /api/callbacks shows it
        low, high = start.isoformat(), end.isoformat()

        def day(text: str) -> str:
            return text[:10]

        def seconds_between(first: str, cleared: str) -> float:
            return (datetime.fromisoformat(cleared) - datetime.fromisoformat(first)
                    ).total_seconds()
    else:
        low, high = start.toordinal(), end.toordinal()
        day = day_of

        def seconds_between(first: float, cleared: float) -> float:
            return float(_whole(cleared) - _whole(first))
    campaigns: dict[str, dict] = {}
    people: dict[str, dict] = {}
    total = _recovery_row("")
    for entry in entries:
        first = entry["first_missed_at"]
        first_day = day(first)
        if not low <= first_day <= high:
            continue
        name = entry.get("campaign") or ""
        group = campaigns.get(name)
        if group is None:
            group = campaigns[name] = _recovery_row(name)
        how = entry.get("how")
        targets = (group, total)
        for row in targets:
            row["missed"] += 1
        if how == "dismissed":
            for row in targets:
                row["dismissed"] += 1
            continue
        if how not in RECOVERED:
            for row in targets:
                row["waiting"] += 1
            continue
        cleared = entry["cleared_at"]
        seconds = seconds_between(first, cleared)
        value = values.get(entry.get("call_id")) or lead_values.get(name, 0.0)
        person = entry.get("cleared_by") or ""
        by = people.get(person)
        if by is None:
            by = people[person] = _recovery_row(person)
        for row in (*targets, by):
            row["recovered"] += 1
            row["_times"].append(seconds)
            row["within_hour"] += seconds <= 3600
            row["same_day"] += day(cleared) == first_day
            row["value"] += value
    by_campaign = sorted(campaigns.values(), key=lambda r: (-r["missed"], r["name"]))
    by_person = sorted(people.values(), key=lambda r: r["name"])
    for row in (*by_campaign, total):
        _finish_recovery(row, row["missed"])
    for row in by_person:
        _finish_recovery(row, row["recovered"])
    return {"campaigns": by_campaign, "people": by_person, "total": total}


def _whole(ts: float) -> int:
    """The whole second ISO text shows for `ts` (localtime.IsoFormatter rounds to
    microseconds, then drops the fraction)."""
    whole = math.floor(ts)
    return whole + 1 if ts - whole >= 0.9999995 else whole


def _recovery_row(name: str) -> dict:
    return {"name": name, "missed": 0, "recovered": 0, "waiting": 0, "dismissed": 0,
            "within_hour": 0, "same_day": 0, "value": 0.0, "_times": []}


def _finish_recovery(row: dict, base: int) -> None:
    """Shares of `base`: all missed entries for a campaign, the person's own recoveries."""
    times = row.pop("_times")
    row["median_seconds"] = round(median(times)) if times else None
    row["recovered_pct"] = _share(row["recovered"], row["missed"])
    row["within_hour_pct"] = _share(row["within_hour"], base)
    row["same_day_pct"] = _share(row["same_day"], base)
    row["value"] = round(row["value"], 2)


# -- helpers -----------------------------------------------------------------------------------

def _share(part: float, whole: float) -> float | None:
    """part / whole as a fraction rounded to 4 places (0.1234 = 12.34 %), None over nothing."""
    return round(part / whole, 4) if whole else None


def _ratio(amount: float, count: float, digits: int = 2) -> float | None:
    return round(amount / count, digits) if count else None
