"""The report builder (owner only): filter the calls, choose the columns, page through the
result, export it whole, and save it under a name (saved_reports.py keeps those).

Its routes hang on the reports blueprint (reports.py), so their names stay `reports.builder`
and so on.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from firmware.tracker import report_select as calc
from firmware.tracker.errors import BadInput
from firmware.tracker.query import parse_call_filter
from firmware.webui.access import owner_required
from firmware.webui.config_words import translate_message
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import Panel, get_panel
from firmware.webui.report_builtin import fmt_of, people_of
from firmware.webui.report_tables import Column, Table, download
from firmware.webui.reports import bp
from firmware.webui.saved_reports import MAX_NAME, saved

PAGE_SIZE = 100
CALL_KEYS = ("from", "to", "days", "campaign", "source", "status", "direction", "extension",
             "number")
EXTRA_KEYS = ("category", "tag", "rating_min", "rating_max", "talk_min", "talk_max", "target",
              "first_time")
BUILDER_KEYS = CALL_KEYS + EXTRA_KEYS


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


def _builder_result(panel: Panel, values: dict, page: slice | None = None) -> Table:
    """The builder's table; its rows only those of `page` (all by default), while `total`
    counts them all (`found`). Raises BadInput for a field it cannot use."""
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
    view = panel.tracker.call_view(flt.start, flt.end)
    rows = calc.select(view, extra, flt)
    spec = builder_columns()
    period = f"{flt.start or ''}–{flt.end or ''}"
    return Table(_("Calls") + " " + period, [spec[c] for c in columns],
                 calc.builder_rows(view, columns, rows if page is None else rows[page]),
                 found=len(rows))


def _choices(panel: Panel) -> dict:
    config = panel.config
    return {"campaigns": [c.name for c in config.campaigns],
            "sources": sorted({c.source for c in config.campaigns if c.source}),
            "extensions": people_of(panel), "categories": panel.prefs.categories(),
            "all_columns": builder_columns()}


@bp.get("/builder")
@owner_required
def builder():
    panel = get_panel()
    values = _builder_args(request.args)
    error = None
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    rows = slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE)    # only the page's rows are made
    try:
        shown = _builder_result(panel, values, rows)
    except BadInput as exc:
        error = exc
        values = _builder_args(MultiDict())
        shown = _builder_result(panel, values, rows)
    pages = max(1, -(-shown.found // PAGE_SIZE))
    query = _query(values)
    return render_template("reports_builder.html", table=shown, total=shown.found,
                           page=page, pages=pages, values=values, query=query, error=error,
                           chosen=[c.key for c in shown.columns],
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
    return download([table], fmt_of(panel), f"report-{panel.today()}", ext)


@bp.post("/builder/save")
@owner_required
def save_builder():
    panel = get_panel()
    name = " ".join(request.form.get("name", "").split())
    values = _builder_args(request.form)
    try:
        if not 0 < len(name) <= MAX_NAME:
            raise BadInput("name", f"give the report a name of 1 to {MAX_NAME} characters")
        _builder_result(panel, values, slice(0))  # only what can be shown is saved
        saved().save(name, _query(values))
    except BadInput as exc:
        flash(_("Report not saved:") + f" {exc.field}: {translate_message(exc.message)}", "error")
        return redirect(url_for("reports.builder", **_query(values))), 303
    flash(_("Report “%(name)s” saved.", name=name))
    return redirect(url_for("reports.builder", saved=name, **_query(values))), 303


@bp.post("/saved/delete")
@owner_required
def delete_saved():
    name = request.form.get("name", "")
    if saved().delete(name):
        flash(_("Report “%(name)s” deleted.", name=name))
    return redirect(url_for("reports.index")), 303


@bp.get("/saved/<path:name>")
@owner_required
def open_saved(name: str):
    found = next((r for r in saved().all() if r["name"] == name), None) or abort(404)
    return redirect(url_for("reports.builder", saved=name, **found["params"]))
