"""Reports over calls: pure functions, no I/O, no clock, no translations.

Input is what the panel reads through the tracker's public interface: calls in the /api/calls
shape (`Tracker.calls()`, `records.to_api`), whose `started_at` is ISO 8601 in the box's time
zone. So the local day is `started_at[:10]` and the hour `started_at[11:13]`: no time-zone
arithmetic per call. Callback queue entries come in the /api/callbacks shape
(`Tracker.callbacks()` for those waiting, `Tracker.recovered_callbacks()` for those closed).

Every report is one pass over the calls with plain loops and dicts (the bench times each over
100k calls). Rows are dicts of raw values (counts, seconds, fractions for percentages, ISO
times); the panel labels and formats them. A percentage or average with nothing to divide
by is None. The definitions are in docs/reports.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any, Iterable, Mapping, Sequence

from firmware.tracker.errors import BadInput
from firmware.tracker.figures import period_cost

INBOUND, OUTBOUND = "inbound", "outbound"
ANSWERED, MISSED = "answered", "missed"
RECOVERED = ("called_back", "called_again")

# Working time when the box has no opening hours: 8 h Monday to Friday (hours, Monday first).
DEFAULT_WORKING_WEEK = (8.0, 8.0, 8.0, 8.0, 8.0, 0.0, 0.0)
QUIET_DAYS_SHOWN = 7
MAX_SECONDS = 10 * 86400

# The report builder's columns, in the order offered; the default selection after them.
# `number` is the other party (the caller of an inbound call, else the number dialled) and
# `person` the extension that took or made the call.
COLUMNS = ("started_at", "direction", "number", "caller", "callee", "campaign", "source",
           "status", "missed_reason", "wait_seconds", "talk_seconds", "person", "answered_by",
           "extension", "target", "first_time", "line_type", "value", "rating", "tags",
           "category", "comment", "callback", "id")
DEFAULT_COLUMNS = ("started_at", "direction", "number", "campaign", "status", "wait_seconds",
                   "talk_seconds", "person", "value", "rating", "category")


# -- the report builder ------------------------------------------------------------------

@dataclass(frozen=True)
class ReportFilter:
    """What the builder filters on beyond the call list's own filter (query.CallFilter)."""

    category: str | None = None
    tag: str | None = None
    rating_min: int | None = None
    rating_max: int | None = None
    talk_min: float | None = None      # talk seconds, inclusive
    talk_max: float | None = None
    target_only: bool = False
    first_time_only: bool = False


def parse_report_filter(args: Mapping[str, str]) -> ReportFilter:
    """A ReportFilter from query-string args; empty means any; BadInput naming the field."""
    rating_min = _number(args, "rating_min", 0, 5, whole=True)
    rating_max = _number(args, "rating_max", 0, 5, whole=True)
    if rating_min is not None and rating_max is not None and rating_min > rating_max:
        raise BadInput("rating_min", "must not be above rating_max")
    talk_min = _number(args, "talk_min", 0, MAX_SECONDS)
    talk_max = _number(args, "talk_max", 0, MAX_SECONDS)
    if talk_min is not None and talk_max is not None and talk_min > talk_max:
        raise BadInput("talk_min", "must not be above talk_max")
    return ReportFilter(_text(args, "category"), _text(args, "tag"), rating_min, rating_max,
                        talk_min, talk_max, _flag(args, "target"), _flag(args, "first_time"))


def parse_columns(names: Sequence[str]) -> tuple[str, ...]:
    """The chosen builder columns in COLUMNS order; the defaults when none; BadInput on junk."""
    chosen = {n for n in names if n}
    unknown = chosen - set(COLUMNS)
    if unknown:
        raise BadInput("columns", f"unknown column {sorted(unknown)[0][:40]!r}")
    return tuple(c for c in COLUMNS if c in chosen) or DEFAULT_COLUMNS


def select(calls: Iterable[dict], flt: ReportFilter) -> list[dict]:
    """The calls that pass `flt`, in the order given."""
    out = []
    for call in calls:
        wrap = call.get("wrapup") or {}
        if flt.category is not None and (wrap.get("category") or "") != flt.category:
            continue
        if flt.tag is not None and flt.tag.casefold() not in {
                t.casefold() for t in wrap.get("tags") or ()}:
            continue
        if flt.rating_min is not None or flt.rating_max is not None:
            rating = wrap.get("rating")
            if rating is None or (flt.rating_min is not None and rating < flt.rating_min) or \
                    (flt.rating_max is not None and rating > flt.rating_max):
                continue
        talk = call["talk_seconds"]
        if (flt.talk_min is not None and talk < flt.talk_min) or \
                (flt.talk_max is not None and talk > flt.talk_max):
            continue
        if flt.target_only and not call["target"]:
            continue
        if flt.first_time_only and not call["first_time"]:
            continue
        out.append(call)
    return out


def builder_rows(calls: Iterable[dict], columns: Sequence[str]) -> list[dict]:
    """One dict per call with the chosen columns' raw values (wrap-up fields spread out)."""
    rows = []
    for call in calls:
        wrap = call.get("wrapup") or {}
        cleared = call.get("callback") or {}
        inbound = call["direction"] == INBOUND
        cells = {**call, "rating": wrap.get("rating"),
                 "number": call["caller"] if inbound else call["callee"],
                 "person": call["answered_by"] if inbound else call["extension"],
                 "tags": "; ".join(wrap.get("tags") or ()), "category": wrap.get("category"),
                 "comment": wrap.get("comment"), "callback": cleared.get("how")}
        rows.append({name: cells.get(name) for name in columns})
    return rows


# -- calls from campaigns ------------------------------------------------------------------

def prorated_cost(cost_per_month: float, start: date, end: date) -> float:
    """A monthly cost spread over local days start..end, a month being 30 days: the
    contract's rule for /api/campaigns, so the report and the API agree."""
    return period_cost(cost_per_month, start, end) if end >= start else 0.0


def campaigns_report(calls: Iterable[dict], campaigns: Sequence[Any], start: date,
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
    for call in calls:
        name = call["campaign"]
        if call["direction"] != INBOUND or not name:
            continue
        row = rows.get(name)
        if row is None:
            row = rows[name] = _campaign_row(name, call["source"], 0.0)
        row["calls"] += 1
        status = call["status"]
        if status == ANSWERED:
            row["answered"] += 1
        elif status == MISSED:
            row["missed"] += 1
        row["target_calls"] += call["target"]
        row["first_time"] += call["first_time"]
        row["value"] += call["value"] or 0.0
    ordered = sorted(rows.values(), key=lambda r: (-r["calls"], -r["value"], r["name"]))
    total = _campaign_row("", "", 0.0)
    for row in ordered:
        for key in ("calls", "answered", "missed", "target_calls", "first_time", "value",
                    "cost"):
            total[key] += row[key]
    for row in (*ordered, total):
        row["value"] = round(row["value"], 2)
        row["cost"] = round(row["cost"], 2)
        row["missed_pct"] = _share(row["missed"], row["calls"])
        row["cost_per_call"] = _ratio(row["cost"], row["calls"])
        row["cost_per_target"] = _ratio(row["cost"], row["target_calls"])
    return {"rows": ordered, "total": total}


def _campaign_row(name: str, source: str, cost: float) -> dict:
    return {"name": name, "source": source, "calls": 0, "answered": 0, "missed": 0,
            "target_calls": 0, "first_time": 0, "value": 0.0, "cost": cost}


# -- new campaign check ----------------------------------------------------------------------

def new_campaign_check(calls: Iterable[dict], campaigns: Sequence[str], start: date,
                       end: date) -> list[dict]:
    """Per campaign, from its first call within start..end (or `start`, whichever is later):
    the day it started, the time of its first and last call, calls since, days since, the
    days with no call at all, and the latest of those days (up to QUIET_DAYS_SHOWN)."""
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    per_day: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    low, high = start.isoformat(), end.isoformat()
    for call in calls:
        name = call["campaign"]
        at = call["started_at"]
        if call["direction"] != INBOUND or not name or not low <= at[:10] <= high:
            continue
        if name not in first or at < first[name]:
            first[name] = at
        if name not in last or at > last[name]:
            last[name] = at
        counts[name] = counts.get(name, 0) + 1
        per_day.setdefault(name, set()).add(at[:10])
    names = list(dict.fromkeys([*campaigns, *sorted(first)]))
    rows = []
    for name in names:
        if name not in first:
            rows.append({"name": name, "started": None, "first_call": None, "last_call": None,
                         "calls": 0, "days": 0, "days_without": 0, "quiet_days": []})
            continue
        began = date.fromisoformat(first[name][:10])
        days = (end - began).days + 1
        seen = per_day[name]
        quiet = [d for d in (began + timedelta(n) for n in range(days))
                 if d.isoformat() not in seen]
        rows.append({"name": name, "started": began.isoformat(), "first_call": first[name],
                     "last_call": last[name], "calls": counts[name], "days": days,
                     "days_without": len(quiet),
                     "quiet_days": [d.isoformat() for d in quiet[-QUIET_DAYS_SHOWN:]]})
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


def per_person(calls: Iterable[dict], people: Sequence[tuple[str, str]], start: date,
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

    for call in calls:
        direction, status = call["direction"], call["status"]
        if direction == INBOUND:
            if status == ANSWERED and call["answered_by"]:
                row = row_of(call["answered_by"])
                row["answered"] += 1          # a transferred call is answered once
                row["_wait"] += call["wait_seconds"]
                split = call.get("talk_by") or {call["answered_by"]: call["talk_seconds"]}
                for person, seconds in split.items():   # each talked their own part
                    row_of(person)["total_talk"] += seconds
            elif status == MISSED:
                for ext in call.get("rang") or ():
                    row_of(ext)["missed"] += 1
        elif direction == OUTBOUND and call["extension"]:
            row = row_of(call["extension"])
            row["outgoing"] += 1
            if status == ANSWERED:
                row["_out_answered"] += 1
                row["outgoing_talk"] += call["talk_seconds"]
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

def load_map(calls: Iterable[dict], start: date, end: date) -> dict:
    """Inbound calls by local weekday (Monday first) and hour: `counts[weekday][hour]`, and
    `averages` per day, that is counts over the number of such weekdays in start..end."""
    counts = [[0] * 24 for _ in range(7)]
    weekday_of: dict[str, int] = {}
    for call in calls:
        if call["direction"] != INBOUND:
            continue
        at = call["started_at"]
        day = at[:10]
        weekday = weekday_of.get(day)
        if weekday is None:
            weekday = weekday_of[day] = date.fromisoformat(day).weekday()
        counts[weekday][int(at[11:13])] += 1
    days = [0] * 7
    if end >= start:
        full, rest = divmod((end - start).days + 1, 7)
        days = [full + (1 if (w - start.weekday()) % 7 < rest else 0) for w in range(7)]
    averages = [[round(c / days[w], 2) if days[w] else 0.0 for c in counts[w]]
                for w in range(7)]
    return {"counts": counts, "averages": averages, "days": days,
            "total": sum(map(sum, counts))}


# -- too short and too long calls ------------------------------------------------------------

def duration_outliers(calls: Iterable[dict], short_seconds: float, long_seconds: float,
                      factor: float = 0.0) -> dict:
    """Answered external calls that talked less than `short_seconds`, more than
    `long_seconds`, or (inbound campaign calls, `factor` > 0) more than `factor` times the
    average talk of the period's answered inbound calls of their campaign: oldest first, and
    per person the answered calls, the short ones, the long ones and those over the average
    rule; and per campaign its average and limit. The average rule is the one of /api/summary
    `too_long` (figures.too_long), so both count the same calls."""
    if short_seconds < 0 or long_seconds <= short_seconds:
        raise BadInput("long", "must be longer than the short threshold")
    calls = calls if isinstance(calls, list) else list(calls)
    total: dict[str, float] = {}        # the campaigns' average talk (figures.too_long's)
    answered: dict[str, int] = {}
    for call in calls:
        name = call["campaign"]
        if name and call["status"] == ANSWERED and call["direction"] == INBOUND:
            total[name] = total.get(name, 0.0) + call["talk_seconds"]
            answered[name] = answered.get(name, 0) + 1
    average = {name: total[name] / answered[name] for name in total}
    # figures.is_too_long(talk, average, factor) as one limit per campaign (inf: never)
    limits = {name: factor * mean if factor else math.inf for name, mean in average.items()}
    found: list[dict] = []
    people: dict[str, dict] = {}
    over_by_campaign: dict[str, int] = dict.fromkeys(average, 0)
    for call in calls:
        direction = call["direction"]
        if call["status"] != ANSWERED or direction not in (INBOUND, OUTBOUND):
            continue
        inbound = direction == INBOUND
        person = (call["answered_by"] if inbound else call["extension"]) or ""
        row = people.get(person)
        if row is None:
            row = people[person] = {"extension": person, "answered": 0, "short": 0, "long": 0,
                                    "over_average": 0}
        row["answered"] += 1
        talk = call["talk_seconds"]
        over = inbound and talk > limits.get(call["campaign"], math.inf)
        if over:
            row["over_average"] += 1
            over_by_campaign[call["campaign"]] += 1
        if talk < short_seconds:
            kind = "short"
        elif talk > long_seconds:
            kind = "long"
        elif over:
            kind = "average"
        else:
            continue
        if kind != "average":
            row[kind] += 1
        mean = average.get(call["campaign"]) if inbound else None
        found.append({"id": call["id"], "started_at": call["started_at"], "kind": kind,
                      "direction": direction,
                      "number": call["caller"] if inbound else call["callee"],
                      "campaign": call["campaign"], "person": person, "talk_seconds": talk,
                      "times_average": round(talk / mean, 1) if mean else None})
    found.sort(key=lambda r: (r["started_at"], r["id"]))
    rows = sorted(people.values(), key=lambda r: r["extension"])
    for row in rows:
        row["short_pct"] = _share(row["short"], row["answered"])
        row["long_pct"] = _share(row["long"], row["answered"])
        row["over_average_pct"] = _share(row["over_average"], row["answered"])
    campaigns = [{"campaign": name, "answered": answered[name],
                  "average": round(average[name], 1),
                  "limit": round(factor * average[name], 1) if factor else None,
                  "over_average": over_by_campaign[name]}
                 for name in sorted(average, key=lambda n: (-answered[n], n))]
    return {"calls": found, "people": rows, "campaigns": campaigns, "factor": factor}


def parse_thresholds(args: Mapping[str, str], factor: float = 0.0
                     ) -> tuple[float, float, float]:
    """(short, long, factor) from args `short` and `long` (talk seconds, defaults 10 and
    600) and `factor` (times the campaign's average, 0 off or 1 to 100; default `factor`,
    the config's `[tracking] too_long_factor`)."""
    short = _number(args, "short", 0, MAX_SECONDS)
    long = _number(args, "long", 1, MAX_SECONDS)
    asked = _number(args, "factor", 0, 100)
    short = 10.0 if short is None else short
    long = 600.0 if long is None else long
    if long <= short:
        raise BadInput("long", "must be longer than the short threshold")
    if asked is not None and 0 < asked < 1:
        raise BadInput("factor", "must be 0 (off) or from 1 to 100")
    return short, long, factor if asked is None else asked


# -- calls per person per hour -----------------------------------------------------------------

def answered_by_hour(calls: Iterable[dict]) -> dict[str, list[int]]:
    """Inbound calls answered by each extension, by the local hour they came in: the
    answered calls of the per-person table (`per_person`), spread over the day."""
    counts: dict[str, list[int]] = {}
    for call in calls:
        person = call["answered_by"]
        if call["direction"] != INBOUND or call["status"] != ANSWERED or not person:
            continue
        hours = counts.get(person)
        if hours is None:
            hours = counts[person] = [0] * 24
        hours[int(call["started_at"][11:13])] += 1
    return dict(sorted(counts.items()))


# -- categories by campaign ------------------------------------------------------------------

def categories_by_campaign(calls: Iterable[dict]) -> dict:
    """Answered inbound calls by campaign and wrap-up category ("" for no category).

    `categories` are ordered by how often they were used, "" last; each row has `counts`
    (category -> calls) and `total`; `total` sums the rows.
    """
    table: dict[str, dict[str, int]] = {}
    for call in calls:
        if call["direction"] != INBOUND or call["status"] != ANSWERED:
            continue
        wrap = call.get("wrapup")
        category = (wrap.get("category") or "") if wrap else ""
        counts = table.setdefault(call["campaign"], {})
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

def recovery(entries: Iterable[dict], calls: Iterable[dict], start: date, end: date,
             lead_values: Mapping[str, float]) -> dict:
    """How missed callers were won back, for queue entries whose first missed call fell on
    local days start..end, by campaign, by person (who cleared them) and in total.

    `entries` are every callback queue entry, waiting and closed (/api/callbacks shape; the
    closed ones with `how`, `cleared_at`, `cleared_by`, `call_id`). An entry is recovered when
    an answered call cleared it (`how` called_back or called_again); time to call back runs
    from its first missed call to that answer. Value recovered is the clearing call's value
    (from `calls`, by id), or else the campaign's lead value.
    """
    values = {}
    for call in calls:
        if call.get("callback"):
            values[call["id"]] = call["value"] or 0.0
    low, high = start.isoformat(), end.isoformat()
    campaigns: dict[str, dict] = {}
    people: dict[str, dict] = {}
    total = _recovery_row("")
    for entry in entries:
        first = entry["first_missed_at"]
        if not low <= first[:10] <= high:
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
        seconds = (datetime.fromisoformat(cleared) - datetime.fromisoformat(first)
                   ).total_seconds()
        value = values.get(entry.get("call_id")) or lead_values.get(name, 0.0)
        person = entry.get("cleared_by") or ""
        by = people.get(person)
        if by is None:
            by = people[person] = _recovery_row(person)
        for row in (*targets, by):
            row["recovered"] += 1
            row["_times"].append(seconds)
            row["within_hour"] += seconds <= 3600
            row["same_day"] += cleared[:10] == first[:10]
            row["value"] += value
    by_campaign = sorted(campaigns.values(), key=lambda r: (-r["missed"], r["name"]))
    by_person = sorted(people.values(), key=lambda r: r["name"])
    for row in (*by_campaign, total):
        _finish_recovery(row, row["missed"])
    for row in by_person:
        _finish_recovery(row, row["recovered"])
    return {"campaigns": by_campaign, "people": by_person, "total": total}


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


def _text(args: Mapping[str, str], field: str) -> str | None:
    value = args.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 100:
        raise BadInput(field, "must be text of at most 100 characters")
    return value.strip() or None


def _flag(args: Mapping[str, str], field: str) -> bool:
    value = _text(args, field)
    if value not in (None, "1", "on", "true", "0", "false"):
        raise BadInput(field, "must be 1 or 0")
    return value in ("1", "on", "true")


def _number(args: Mapping[str, str], field: str, low: float, high: float, *,
            whole: bool = False) -> float | int | None:
    value = _text(args, field)
    if value is None:
        return None
    try:
        number = int(value) if whole else float(value.replace(",", "."))
    except ValueError:
        raise BadInput(field, "must be a whole number" if whole else "must be a number") \
            from None
    if not math.isfinite(number) or not low <= number <= high:
        raise BadInput(field, f"must be between {low:g} and {high:g}")
    return number
