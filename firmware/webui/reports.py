"""The Reports tab (owner only): the list of reports, each built-in report on a page and its
CSV / XLSX export. One job each in its own module, all on this one blueprint:

| module | job |
|---|---|
| report_builtin.py | the built-in reports' tables and heat maps |
| report_builder.py | the report builder: filter, columns, pages, export, save |
| saved_reports.py | the saved builder reports (`data_dir/reports.json`) |
| weekly.py | the weekly summary (monthly.py: the monthly one) |
| report_tables.py | how each cell is shown, and the same cells in CSV and XLSX |
| heat.py | the heat maps |

The figures come from firmware/tracker/reports.py (pure); docs/reports.md defines them.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from firmware.webui.access import owner_required
from firmware.webui.dashboard import presets
from firmware.webui.panel import get_panel
from firmware.webui.report_builtin import BUILT_IN, descriptions, fmt_of, read_params
from firmware.webui.report_tables import download, show

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.get("")
@owner_required
def index():
    return render_template("reports.html", reports=descriptions(),
                           saved=saved_reports.saved().all())


@bp.get("/<name>")
@owner_required
def show_report(name: str):
    build = BUILT_IN.get(name) or abort(404)
    panel = get_panel()
    params, error = read_params(panel, name, request.args)
    report = build(panel, params)
    query = {"from": params.start.isoformat(), "to": params.end.isoformat()}
    if name == "durations":
        query.update(short=f"{params.short:g}", long=f"{params.long:g}",
                     factor=f"{params.factor:g}")
    return render_template("reports_show.html", report=report, p=params, error=error,
                           query=query, presets=presets(panel, params.start, params.end),
                           show_period=name != "not-called-back"), 400 if error else 200


@bp.get("/<name>/export.<any(csv, xlsx):ext>")
@owner_required
def export_report(name: str, ext: str):
    build = BUILT_IN.get(name) or abort(404)
    panel = get_panel()
    params, error = read_params(panel, name, request.args)
    if error:
        abort(400)
    report = build(panel, params)
    return download(report.tables, fmt_of(panel), f"{name}-{params.start}-{params.end}", ext)


@bp.record_once
def _setup(state) -> None:
    saved_reports.attach(state.app)
    state.app.jinja_env.globals["report_cell"] = show
    state.app.jinja_env.globals["heat_svg"] = heat.svg


# The other jobs' routes, on this blueprint (their modules import `bp` from here).
from firmware.webui import heat, report_builder, saved_reports, weekly  # noqa: E402

ROUTE_MODULES = (report_builder, weekly)
