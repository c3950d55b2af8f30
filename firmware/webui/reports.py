"""Reports (owner only): the built-in reports, the report builder and its saved reports, the
weekly summary, and CSV / XLSX exports of exactly the tables on screen.

The figures come from firmware/tracker/reports.py (pure); this module fetches the calls and
lays the rows out as `Table`s (report_tables.py formats and exports them). One Table is drawn
on screen and written to the file, so an export always equals the page; only the builder
pages its screen (100 calls at a time) while its export holds the whole result.

Why state here: saved builder reports live in `data_dir/reports.json`, rewritten whole and
atomically on each change (like panel.json), one `SavedReports` per app.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from werkzeug.datastructures import MultiDict

from firmware.tracker import reports as calc
from firmware.tracker.errors import BadInput
from firmware.tracker.query import CallFilter, parse_call_filter, parse_period
from firmware.webui.access import owner_required
from firmware.webui.dashboard import presets
from firmware.webui.i18n import Formatter
from firmware.webui.i18n import gettext as _
from firmware.webui.i18n import ngettext
from firmware.webui.modules import MODULES
from firmware.webui.panel import Panel, get_panel
from firmware.webui.report_tables import Column, Table, download, show
from firmware.webui.users import atomic_write
from firmware.webui.config_words import translate_message

logger = logging.getLogger(__name__)

bp = Blueprint("reports", __name__, url_prefix="/reports")

PAGE_SIZE = 100
OFFICE_HOURS = (8, 17)    # the load map always shows these hours, and any hour with calls
MAX_SAVED = 100
MAX_NAME = 60
CALL_KEYS = ("from", "to", "days", "campaign", "source", "status", "direction", "extension",
             "number")
EXTRA_KEYS = ("category", "tag", "rating_min", "rating_max", "talk_min", "talk_max", "target",
              "first_time")
BUILDER_KEYS = CALL_KEYS + EXTRA_KEYS
WEEKLY_MODULES = ("campaigns", "sources", "hours", "value")


# -- built-in reports -------------------------------------------------------------------------

@dataclass
class Report:
    name: str
    title: str
    tables: list[Table]
    heat: dict | None = None
    note: str = ""


@dataclass
class Params:
    start: date
    end: date
    short: float = 10.0
    long: float = 600.0


def _fmt(panel: Panel) -> Formatter:
    box = panel.config.box
    return Formatter(box.country, box.currency, box.timezone)


def _period_calls(panel: Panel, p: Params) -> list[dict]:
    return panel.tracker.calls(CallFilter(start=p.start, end=p.end))


def _people(panel: Panel) -> list[tuple[str, str]]:
    return [(e.number, e.name) for e in panel.config.extensions]


def _campaign_table(panel: Panel, calls: list[dict], p: Params) -> Table:
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
                  [_campaign_table(panel, _period_calls(panel, p), p)],
                  note=_("Cost: each campaign's cost per month, spread over the period."))


def _new_campaigns(panel: Panel, p: Params) -> Report:
    rows = calc.new_campaign_check(_period_calls(panel, p),
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


def _person_table(panel: Panel, calls: list[dict], p: Params) -> tuple[Table, float]:
    week = calc.working_week(panel.config.hours.week)
    result = calc.per_person(calls, _people(panel), p.start, p.end, week)
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
    table, work = _person_table(panel, _period_calls(panel, p), p)
    hours = _fmt(panel).number(work / 3600)
    return Report("people", _("Per person"), [table], note=" ".join((
        _("Missed: calls that rang this phone and nobody answered."),
        _("Utilisation: talk time in and out over %(hours)s h of working time.", hours=hours),
        _("Working time: 8 h Monday to Friday.") if panel.config.hours.week is None
        else _("Working time: the opening hours."))))


def _load(panel: Panel, p: Params) -> Report:
    result = calc.load_map(_period_calls(panel, p), p.start, p.end)
    days = _weekdays()
    used = [h for h in range(24) if any(result["counts"][w][h] for w in range(7))]
    shown = range(min(used + [OFFICE_HOURS[0]]), max(used + [OFFICE_HOURS[1]]) + 1)

    def table(title: str, key: str, kind: str) -> Table:
        return Table(title, [Column("day", _("Day"))]
                     + [Column(str(h), f"{h:02d}", kind) for h in shown],
                     [{"day": days[w], **{str(h): result[key][w][h] for h in shown}}
                      for w in range(7)])

    return Report("load", _("Load by hour and weekday"), [
        table(_("Calls"), "counts", "int"), table(_("Average per day"), "averages", "decimal")],
        heat=_heat(result, days, shown, _fmt(panel)),
        note=" ".join((_("Inbound calls by the hour they came in."),
                       _("The average is per such weekday in the period."))))


def _weekdays() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def _heat(result: dict, days: list[str], hours: range, fmt: Formatter) -> dict:
    """The heat map: labels, and cells with row, column, level 0-5, text and tooltip."""
    top = max((v for row in result["averages"] for v in row), default=0) or 1
    cells = []
    for w, row in enumerate(result["averages"]):
        for x, h in enumerate(hours):
            avg, count = row[h], result["counts"][w][h]
            level = 0 if not count else min(5, 1 + int(5 * avg / top))
            cells.append({"w": w, "x": x, "level": level,
                          "text": fmt.number(avg, 1) if count else "",
                          "tip": f"{days[w]} {h:02d}:00–{h:02d}:59: "
                                 + ngettext("%(count)s call, %(avg)s per day",
                                            "%(count)s calls, %(avg)s per day", count,
                                            count=fmt.number(count), avg=fmt.number(avg, 2))})
    return {"days": days, "hours": [f"{h:02d}" for h in hours], "cells": cells}


def _durations(panel: Panel, p: Params) -> Report:
    result = calc.duration_outliers(_period_calls(panel, p), p.short, p.long)
    kinds = {"short": _("Too short"), "long": _("Too long")}
    for row in result["calls"]:
        row["kind"] = kinds[row["kind"]]
    names = dict(_people(panel))
    for row in result["people"]:
        row["person"] = " · ".join(x for x in (row["extension"], names.get(row["extension"]))
                                   if x)
    return Report("durations", _("Too short and too long calls"), [
        Table(_("Per person"), [
            Column("person", _("Person")), Column("answered", _("Answered"), "int"),
            Column("short", _("Too short"), "int"), Column("short_pct", _("% too short"), "pct"),
            Column("long", _("Too long"), "int"), Column("long_pct", _("% too long"), "pct")],
            result["people"]),
        Table(_("Calls"), [
            Column("started_at", _("When"), "time"), Column("kind", _("Length")),
            Column("direction", _("Direction"), "direction"),
            Column("number", _("Number"), "phone"), Column("campaign", _("Campaign")),
            Column("person", _("Person")), Column("talk_seconds", _("Talk"), "seconds")],
            result["calls"])])


def _categories(panel: Panel, p: Params) -> Report:
    result = calc.categories_by_campaign(_period_calls(panel, p))
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
    entries = tracker.recovered_callbacks() + tracker.callbacks()
    lead = {c.name: c.lead_value for c in panel.config.campaigns}
    result = calc.recovery(entries, tracker.calls(CallFilter(start=p.start)), p.start, p.end,
                           lead)
    result["total"]["name"] = _("Total")
    names = dict(_people(panel))
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
            "Calls outside the lengths you set, by person.")),
        "categories": (_("Categories by campaign"), _(
            "What callers of each campaign wanted, from the wrap-ups.")),
        "recovery": (_("Missed-call recovery"), _(
            "How fast missed callers were won back, and what they were worth.")),
    }


def _params(panel: Panel, name: str, args) -> tuple[Params, BadInput | None]:
    try:
        start, end = parse_period(args, panel.config, default_days=30)
        if name == "durations":
            return Params(start, end, *calc.parse_thresholds(args)), None
        return Params(start, end), None
    except BadInput as error:
        start, end = parse_period({}, panel.config, default_days=30)
        return Params(start, end), error


# -- views --------------------------------------------------------------------------------

@bp.get("")
@owner_required
def index():
    return render_template("reports.html", reports=descriptions(), saved=_saved().all())


@bp.get("/<name>")
@owner_required
def show_report(name: str):
    build = BUILT_IN.get(name) or abort(404)
    panel = get_panel()
    params, error = _params(panel, name, request.args)
    report = build(panel, params)
    query = {"from": params.start.isoformat(), "to": params.end.isoformat()}
    if name == "durations":
        query.update(short=f"{params.short:g}", long=f"{params.long:g}")
    return render_template("reports_show.html", report=report, p=params, error=error,
                           query=query, presets=presets(panel, params.start, params.end),
                           show_period=name != "not-called-back"), 400 if error else 200


@bp.get("/<name>/export.<any(csv, xlsx):ext>")
@owner_required
def export_report(name: str, ext: str):
    build = BUILT_IN.get(name) or abort(404)
    panel = get_panel()
    params, error = _params(panel, name, request.args)
    if error:
        abort(400)
    report = build(panel, params)
    return download(report.tables, _fmt(panel), f"{name}-{params.start}-{params.end}", ext)


# -- the report builder ---------------------------------------------------------------------

def builder_columns() -> dict[str, Column]:
    spec = {"started_at": (_("When"), "time"), "direction": (_("Direction"), "direction"),
            "number": (_("Number"), "phone"), "person": (_("Person"), "text"),
            "caller": (_("Caller"), "phone"), "callee": (_("Dialled"), "phone"),
            "campaign": (_("Campaign"), "text"), "source": (_("Source"), "text"),
            "status": (_("Status"), "status"), "missed_reason": (_("Why missed"), "reason"),
            "wait_seconds": (_("Wait"), "seconds"), "talk_seconds": (_("Talk"), "seconds"),
            "answered_by": (_("Answered by"), "text"), "extension": (_("Made by"), "text"),
            "target": (_("Target call"), "bool"), "first_time": (_("First-time caller"), "bool"),
            "line_type": (_("Line type"), "line"), "value": (_("Value"), "money"),
            "rating": (_("Rating"), "int"), "tags": (_("Tags"), "text"),
            "category": (_("Category"), "word"), "comment": (_("Comment"), "text"),
            "callback": (_("Cleared a callback"), "how"), "id": (_("Call ID"), "text")}
    return {key: Column(key, *spec[key]) for key in calc.COLUMNS}


def _builder_args(args) -> dict[str, Any]:
    """The builder's fields as asked; a `days` period wins over dates; 7 days by default."""
    values: dict[str, Any] = {key: args.get(key, "") for key in BUILDER_KEYS}
    values["columns"] = [c for c in args.getlist("columns") if c][:len(calc.COLUMNS)]
    if not values["from"] and not values["to"] and not values["days"]:
        values["days"] = "7"
    return values


def _builder_result(panel: Panel, values: dict) -> Table:
    """Raises BadInput for a field it cannot use."""
    days = values["days"]
    call_args = {k: values[k] for k in CALL_KEYS if k != "days"}
    if days:
        if not (days.isdigit() and 1 <= int(days) <= 3650):
            raise BadInput("days", "must be a number of days from 1 to 3650")
        start, end = panel.preset(int(days))
        call_args["from"], call_args["to"] = start.isoformat(), end.isoformat()
    flt = parse_call_filter(call_args, panel.config)
    extra = calc.parse_report_filter(values)
    columns = calc.parse_columns(values["columns"])
    calls = calc.select(panel.tracker.calls(flt), extra)
    spec = builder_columns()
    period = f"{flt.start or ''}–{flt.end or ''}"
    return Table(_("Calls") + " " + period, [spec[c] for c in columns],
                 calc.builder_rows(calls, columns))


def _choices(panel: Panel) -> dict:
    config = panel.config
    return {"campaigns": [c.name for c in config.campaigns],
            "sources": sorted({c.source for c in config.campaigns if c.source}),
            "extensions": _people(panel), "categories": panel.prefs.categories(),
            "all_columns": builder_columns()}


@bp.get("/builder")
@owner_required
def builder():
    panel = get_panel()
    values = _builder_args(request.args)
    error = None
    try:
        table = _builder_result(panel, values)
    except BadInput as exc:
        error = exc
        values = _builder_args(MultiDict())
        table = _builder_result(panel, values)
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    pages = max(1, -(-len(table.rows) // PAGE_SIZE))
    shown = Table(table.title, table.columns,
                  table.rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE])
    query = _query(values)
    return render_template("reports_builder.html", table=shown, total=len(table.rows),
                           page=page, pages=pages, values=values, query=query, error=error,
                           chosen=[c.key for c in table.columns],
                           saved_name=request.args.get("saved", ""),
                           **_choices(panel)), 400 if error else 200


def _query(values: dict) -> dict:
    query = {k: v for k, v in values.items() if v and k != "columns"}
    if values["days"]:
        query.pop("from", None)
        query.pop("to", None)
    if values["columns"]:
        query["columns"] = values["columns"]
    return query


@bp.get("/builder/export.<any(csv, xlsx):ext>")
@owner_required
def export_builder(ext: str):
    panel = get_panel()
    try:
        table = _builder_result(panel, _builder_args(request.args))
    except BadInput as exc:
        abort(400, description=f"{exc.field}: {exc.message}")
    return download([table], _fmt(panel), f"report-{panel.today()}", ext)


@bp.post("/builder/save")
@owner_required
def save_builder():
    panel = get_panel()
    name = " ".join(request.form.get("name", "").split())
    values = _builder_args(request.form)
    try:
        if not 0 < len(name) <= MAX_NAME:
            raise BadInput("name", f"give the report a name of 1 to {MAX_NAME} characters")
        _builder_result(panel, values)            # only what can be shown is saved
        _saved().save(name, _query(values))
    except BadInput as exc:
        flash(_("Report not saved:") + f" {exc.field}: {translate_message(exc.message)}", "error")
        return redirect(url_for("reports.builder", **_query(values))), 303
    flash(_("Report “%(name)s” saved.", name=name))
    return redirect(url_for("reports.builder", saved=name, **_query(values))), 303


@bp.post("/saved/delete")
@owner_required
def delete_saved():
    name = request.form.get("name", "")
    if _saved().delete(name):
        flash(_("Report “%(name)s” deleted.", name=name))
    return redirect(url_for("reports.index")), 303


@bp.get("/saved/<path:name>")
@owner_required
def open_saved(name: str):
    found = next((r for r in _saved().all() if r["name"] == name), None) or abort(404)
    return redirect(url_for("reports.builder", saved=name, **found["params"]))


# -- the weekly summary ----------------------------------------------------------------------

@bp.get("/weekly")
@owner_required
def weekly():
    panel = get_panel()
    asked = request.args.get("week", "")
    try:
        day = date.fromisoformat(asked) if asked else panel.today() - timedelta(days=7)
    except ValueError:
        abort(400)
    monday = day - timedelta(days=day.weekday())
    sunday = monday + timedelta(days=6)
    params = Params(monday, sunday)
    summary = panel.tracker.summary(monday, sunday)
    fmt = _fmt(panel)
    calls = _period_calls(panel, params)
    people, _work = _person_table(panel, calls, params)
    lead = {c.name: c.lead_value for c in panel.config.campaigns}
    tracker = panel.tracker
    recovered = calc.recovery(tracker.recovered_callbacks() + tracker.callbacks(),
                              tracker.calls(CallFilter(start=monday)), monday, sunday, lead)
    return render_template(
        "reports_weekly.html", s=summary, start=monday, end=sunday,
        modules=[MODULES[name](summary, fmt) for name in WEEKLY_MODULES],
        tables=[_campaign_table(panel, calls, params), people],
        recovery=recovered["total"], previous=monday - timedelta(days=7),
        following=monday + timedelta(days=7) if sunday < panel.today() else None)


# -- saved reports --------------------------------------------------------------------------

class SavedReports:
    """Named builder reports in `data_dir/reports.json`: {"version": 1, "reports": [...]}."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / "reports.json"
        self._lock = threading.Lock()

    def all(self) -> list[dict]:
        with self._lock:
            return self._read()

    def save(self, name: str, params: dict) -> None:
        with self._lock:
            reports = [r for r in self._read() if r["name"] != name]
            if len(reports) >= MAX_SAVED:
                raise BadInput("name", f"at most {MAX_SAVED} saved reports")
            reports.append({"name": name, "params": params})
            self._write(reports)

    def delete(self, name: str) -> bool:
        with self._lock:
            reports = self._read()
            kept = [r for r in reports if r["name"] != name]
            if len(kept) != len(reports):
                self._write(kept)
            return len(kept) != len(reports)

    def _read(self) -> list[dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            reports = data["reports"]
            return sorted((r for r in reports if isinstance(r, dict) and "name" in r),
                          key=lambda r: r["name"].casefold())
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.error("cannot read %s (%s); no saved reports shown", self.path, exc)
            return []

    def _write(self, reports: list[dict]) -> None:
        body = json.dumps({"version": 1, "reports": reports}, indent=2, ensure_ascii=False)
        atomic_write(self.path, (body + "\n").encode("utf-8"))


@bp.record_once
def _attach(state) -> None:
    panel = state.app.extensions["callbox"]
    state.app.extensions["callbox.reports"] = SavedReports(panel.users.data_dir)


def _saved() -> SavedReports:
    return current_app.extensions["callbox.reports"]


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals["report_cell"] = show
