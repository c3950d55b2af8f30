"""The built-in reports (owner only): each turns the period's calls into the `Table`s drawn on
the page and written to the CSV / XLSX file, so an export always equals the page.

The figures come from firmware/tracker/reports.py (pure); this module reads the period's
calls through the tracker's interface as columns (`Tracker.call_view`: no dict or ISO text a
call), labels the columns in the reader's language and adds the heat maps (heat.py). The
views are in reports.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from firmware.tracker import reports as calc
from firmware.tracker.errors import BadInput
from firmware.tracker.callview import CallView
from firmware.tracker.query import parse_period
from firmware.webui import heat
from firmware.webui.i18n import Formatter
from firmware.webui.i18n import gettext as _
from firmware.webui.i18n import ngettext
from firmware.webui.panel import Panel
from firmware.webui.report_tables import Column, Table


@dataclass
class Report:
    name: str
    title: str
    tables: list[Table]
    heat: dict | None = None
    note: str = ""
    heat_title: str = ""        # the heat map's heading; "" for the load report's


@dataclass
class Params:
    start: date
    end: date
    short: float = 10.0
    long: float = 600.0
    factor: float = 0.0         # too long: over this x the campaign's average talk; 0 off


def fmt_of(panel: Panel) -> Formatter:
    """The reader's number, money and date formats for this box."""
    box = panel.config.box
    return Formatter(box.country, box.currency, box.timezone)


def period_calls(panel: Panel, p: Params) -> CallView:
    return panel.tracker.call_view(p.start, p.end)


def people_of(panel: Panel) -> list[tuple[str, str]]:
    return [(e.number, e.name) for e in panel.config.extensions]


def campaign_table(panel: Panel, calls: CallView, p: Params) -> Table:
    result = calc.campaigns_report(calls, panel.config.campaigns, p.start, p.end)
    result["total"]["name"] = _("Total")
    return Table(_("Calls from campaigns"), [
        Column("name", _("Campaign")), Column("source", _("Source")),
        Column("calls", _("Calls"), "int"), Column("target_calls", _("Target calls"), "int"),
        Column("first_time", _("First-time callers"), "int"),
        Column("missed", _("Missed"), "int"), Column("missed_pct", _("% missed"), "pct"),
        Column("value", _("Value"), "money"), Column("cost", _("Cost"), "money"),
        Column("cost_per_call", _("Cost per call"), "money"),
        Column("cost_per_target", _("Cost per target call"), "money"),
    ], result["rows"], result["total"])


def _campaigns(panel: Panel, p: Params) -> Report:
    return Report("campaigns", _("Calls from campaigns"),
                  [campaign_table(panel, period_calls(panel, p), p)],
                  note=_("Cost: each campaign's cost per month, spread over the period."))


def _new_campaigns(panel: Panel, p: Params) -> Report:
    rows = calc.new_campaign_check(period_calls(panel, p),
                                   [c.name for c in panel.config.campaigns], p.start, p.end)
    return Report("new-campaigns", _("New campaign check"), [Table(
        _("New campaign check"), [
            Column("name", _("Campaign")), Column("first_call", _("First call"), "time"),
            Column("calls", _("Calls since"), "int"), Column("days", _("Days since"), "int"),
            Column("days_without", _("Days with no call"), "int"),
            Column("quiet_days", _("Latest days with no call"), "dates"),
            Column("last_call", _("Last call"), "time")], rows)],
        note=_("Counted from each campaign's first call in the period."))


def _not_called_back(panel: Panel, p: Params) -> Report:
    rows = calc.not_called_back(panel.tracker.callbacks(), datetime.now(panel.tz))
    return Report("not-called-back", _("Missed calls not yet called back"), [Table(
        _("Missed calls not yet called back"), [
            Column("number", _("Number"), "phone"), Column("campaign", _("Campaign")),
            Column("missed_calls", _("Missed"), "int"),
            Column("first_missed_at", _("First missed"), "time"),
            Column("last_missed_at", _("Last missed"), "time"),
            Column("waiting_seconds", _("Waiting"), "age"),
            Column("attempts", _("Tries"), "int")], rows)],
        note=_("The list as it stands now, whatever the period."))


def person_table(panel: Panel, calls: CallView, p: Params) -> tuple[Table, float]:
    week = calc.working_week(panel.config.hours.week)
    result = calc.per_person(calls, people_of(panel), p.start, p.end, week)
    for row in result["rows"]:
        row["person"] = " · ".join(x for x in (row["extension"], row["name"]) if x)
    return Table(_("Per person"), [
        Column("person", _("Person")), Column("answered", _("Answered"), "int"),
        Column("missed", _("Missed"), "int"),
        Column("missed_pct", _("% missed"), "pct"),
        Column("avg_answer", _("Average time to answer"), "seconds"),
        Column("avg_talk", _("Average talk"), "seconds"),
        Column("total_talk", _("Total talk"), "seconds"),
        Column("utilisation", _("Utilisation"), "pct"),
        Column("outgoing", _("Outgoing calls"), "int"),
        Column("avg_outgoing", _("Average outgoing talk"), "seconds"),
    ], result["rows"]), result["working_seconds"]


def _per_person(panel: Panel, p: Params) -> Report:
    calls = period_calls(panel, p)
    table, work = person_table(panel, calls, p)
    hours = fmt_of(panel).number(work / 3600)
    return Report("people", _("Per person"), [table], note=" ".join((
        _("Missed: calls that rang this phone and nobody answered."),
        _("Utilisation: talk time in and out over %(hours)s h of working time.", hours=hours),
        _("Working time: 8 h Monday to Friday.") if panel.config.hours.week is None
        else _("Working time: the opening hours."))),
        heat=person_heat(panel, calls), heat_title=_("Calls per person per hour"))


def person_heat(panel: Panel, calls: CallView) -> dict | None:
    """Calls answered per person per hour (the table's answered calls), None without any."""
    names = dict(people_of(panel))
    by_hour = calc.answered_by_hour(calls)
    if not by_hour:
        return None
    rows = [(person_label(ext, names.get(ext, "")), counts) for ext, counts in by_hour.items()]
    return heat.person_hours(rows, fmt_of(panel))


def person_label(extension: str, name: str) -> str:
    """"101 · Reception"; "Not claimed" for calls nobody has said they took."""
    if not extension:
        return _("Not claimed")
    return " · ".join(x for x in (extension, name) if x)


def _load(panel: Panel, p: Params) -> Report:
    result = calc.load_map(period_calls(panel, p), p.start, p.end)
    days = _weekdays()
    shown = heat.shown_hours(result["counts"])

    def table(title: str, key: str, kind: str) -> Table:
        return Table(title, [Column("day", _("Day"))]
                     + [Column(str(h), f"{h:02d}", kind) for h in shown],
                     [{"day": days[w], **{str(h): result[key][w][h] for h in shown}}
                      for w in range(7)])

    return Report("load", _("Load by hour and weekday"), [
        table(_("Calls"), "counts", "int"), table(_("Average per day"), "averages", "decimal")],
        heat=_load_heat(result, days, shown, fmt_of(panel)),
        note=" ".join((_("Inbound calls by the hour they came in."),
                       _("The average is per such weekday in the period."))))


def _weekdays() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def _load_heat(result: dict, days: list[str], hours: range, fmt: Formatter) -> dict:
    """The load heat map: weekdays by hours, shaded by the average per day."""
    top = max((v for row in result["averages"] for v in row), default=0)
    cells = []
    for w, row in enumerate(result["averages"]):
        for x, h in enumerate(hours):
            avg, count = row[h], result["counts"][w][h]
            cells.append({"w": w, "x": x, "level": heat.level(avg, top) if count else 0,
                          "text": fmt.number(avg, 1) if count else "",
                          "tip": f"{days[w]} {h:02d}:00–{h:02d}:59: "
                                 + ngettext("%(count)s call, %(avg)s per day",
                                            "%(count)s calls, %(avg)s per day", count,
                                            count=fmt.number(count), avg=fmt.number(avg, 2))})
    return {"rows": days, "hours": [f"{h:02d}" for h in hours], "cells": cells}


def _durations(panel: Panel, p: Params) -> Report:
    calls = period_calls(panel, p)
    result = calc.duration_outliers(calls, p.short, p.long, p.factor)
    fmt = fmt_of(panel)
    times = _("%(times)s× average", times=fmt.number(
        p.factor, 0 if float(p.factor).is_integer() else 1)) if p.factor else ""
    kinds = {"short": _("Too short"), "long": _("Too long"),
             "average": _("Too long") + f" ({times})"}
    for row in result["calls"]:
        row["kind"] = kinds[row["kind"]]
        row["recording"] = recording_of(panel, row)      # a player on the row (issue 16)
    names = dict(people_of(panel))
    for row in result["people"]:
        row["person"] = " · ".join(x for x in (row["extension"], names.get(row["extension"]))
                                   if x)
    people = [
        Column("person", _("Person")), Column("answered", _("Answered"), "int"),
        Column("short", _("Too short"), "int"), Column("short_pct", _("% too short"), "pct"),
        Column("long", _("Too long"), "int"), Column("long_pct", _("% too long"), "pct")]
    if p.factor:
        people += [Column("over_average", _("Over %(times)s", times=times), "int"),
                   Column("over_average_pct", _("%% over %(times)s", times=times), "pct")]
    tables = [
        Table(_("Per person"), people, result["people"]),
        Table(_("Calls"), [
            Column("started_at", _("When"), "time"), Column("kind", _("Length")),
            Column("direction", _("Direction"), "direction"),
            Column("number", _("Number"), "phone"), Column("campaign", _("Campaign")),
            Column("person", _("Person")), Column("talk_seconds", _("Talk"), "seconds"),
            Column("times_average", _("Times the average"), "decimal")],
            result["calls"]),
        Table(_("Average talk by campaign"), [
            Column("campaign", _("Campaign")), Column("answered", _("Answered"), "int"),
            Column("average", _("Average talk"), "seconds"),
            Column("limit", _("Too long from"), "seconds"),
            Column("over_average", _("Too long"), "int")], result["campaigns"])]
    note = _("Too long: over %(seconds)s s.", seconds=fmt.number(p.long))
    if p.factor:
        also = _("Or over %(times)s talk of its campaign's answered calls.", times=times)
        note += " " + also
    return Report("durations", _("Too short and too long calls"), tables, note=note)


def recording_of(panel: Panel, row: dict) -> str | None:
    """The recording URL of a call a report lists (what the tracker's `call_extras` add to
    an /api/calls entry: a look-up by id), or None."""
    call = dict(row)
    for extra in panel.tracker.call_extras:
        extra(call)
    return call.get("recording")


def _categories(panel: Panel, p: Params) -> Report:
    result = calc.categories_by_campaign(period_calls(panel, p))
    columns = [Column("campaign", _("Campaign"))]
    columns += [Column("c:" + c, _(c) if c else _("(none)"), "int") for c in result["categories"]]
    columns.append(Column("total", _("Total"), "int"))

    def flat(row: dict, name: str) -> dict:
        return {"campaign": name, "total": row["total"],
                **{"c:" + c: row["counts"].get(c, 0) for c in result["categories"]}}

    rows = [flat(r, r["campaign"] or _("(no campaign)")) for r in result["rows"]]
    return Report("categories", _("Categories by campaign"), [Table(
        _("Categories by campaign"), columns, rows,
        flat(result["total"], _("Total")) if rows else None)],
        note=_("Answered inbound calls by the category of their wrap-up."))


def _recovery(panel: Panel, p: Params) -> Report:
    tracker = panel.tracker
    lead = {c.name: c.lead_value for c in panel.config.campaigns}
    result = calc.recovery(tracker.callback_entries(), tracker.call_view(p.start, None),
                           p.start, p.end, lead, day_of=tracker.local_day)
    result["total"]["name"] = _("Total")
    names = dict(people_of(panel))
    for row in result["people"]:
        row["person"] = " · ".join(x for x in (row["name"], names.get(row["name"])) if x)
    shared = [Column("median_seconds", _("Median time to call back"), "seconds"),
              Column("within_hour_pct", _("% within 1 hour"), "pct"),
              Column("same_day_pct", _("% the same day"), "pct"),
              Column("value", _("Value recovered"), "money")]
    return Report("recovery", _("Missed-call recovery"), [
        Table(_("By campaign"), [
            Column("name", _("Campaign")), Column("missed", _("Missed callers"), "int"),
            Column("recovered", _("Recovered"), "int"),
            Column("recovered_pct", _("Recovered (%)"), "pct"), *shared,
            Column("waiting", _("Still waiting"), "int"),
            Column("dismissed", _("Dismissed"), "int")], result["campaigns"],
            result["total"] if result["campaigns"] else None),
        Table(_("By person"), [Column("person", _("Person")),
                               Column("recovered", _("Recovered"), "int"), *shared],
              result["people"])],
        note=" ".join((_("Callers whose first missed call fell in the period."),
                       _("Recovered: a later answered call with the number, either way."),
                       _("By person, the shares are of their own recoveries."))))


BUILT_IN: dict[str, Callable[[Panel, Params], Report]] = {
    "campaigns": _campaigns, "new-campaigns": _new_campaigns,
    "not-called-back": _not_called_back, "people": _per_person, "load": _load,
    "durations": _durations, "categories": _categories, "recovery": _recovery,
}


def descriptions() -> dict[str, tuple[str, str]]:
    return {
        "campaigns": (_("Calls from campaigns"), _(
            "Calls, target calls, new callers, missed, value and cost per call.")),
        "new-campaigns": (_("New campaign check"), _(
            "Is a new number working: first call, calls since, days with none.")),
        "not-called-back": (_("Missed calls not yet called back"), _(
            "Who still waits, for how long, and how often we tried.")),
        "people": (_("Per person"), _(
            "Answered, missed, time to answer, talk time and utilisation.")),
        "load": (_("Load by hour and weekday"), _(
            "When the phones ring: a heat map of the week.")),
        "durations": (_("Too short and too long calls"), _(
            "Calls outside the lengths you set, or far over the average, by person.")),
        "categories": (_("Categories by campaign"), _(
            "What callers of each campaign wanted, from the wrap-ups.")),
        "recovery": (_("Missed-call recovery"), _(
            "How fast missed callers were won back, and what they were worth.")),
    }


def read_params(panel: Panel, name: str, args) -> tuple[Params, BadInput | None]:
    """The report's period (30 days by default) and, for durations, its thresholds; the
    defaults with the error when the input is junk."""
    factor = panel.config.tracking.too_long_factor
    try:
        start, end = parse_period(args, panel.config, default_days=30)
        if name == "durations":
            return Params(start, end, *calc.parse_thresholds(args, factor)), None
        return Params(start, end), None
    except BadInput as error:
        start, end = parse_period({}, panel.config, default_days=30)
        return Params(start, end, factor=factor if name == "durations" else 0.0), error
