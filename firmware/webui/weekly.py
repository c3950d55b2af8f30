"""The weekly summary (owner only): last week, Monday to Sunday, as the 10-minute check on
one printable page: the dashboard's figures with trends, its charts, missed callers
recovered, and the campaign and per-person tables. Its route hangs on the reports blueprint
(`reports.weekly`)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, render_template, request

from firmware.tracker import reports as calc
from firmware.tracker.query import CallFilter
from firmware.webui.access import owner_required
from firmware.webui.modules import MODULES
from firmware.webui.panel import get_panel
from firmware.webui.report_builtin import (Params, campaign_table, fmt_of, period_calls,
                                           person_table)
from firmware.webui.reports import bp

WEEKLY_MODULES = ("campaigns", "sources", "hours", "value", "people_hours")


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
    fmt = fmt_of(panel)
    calls = period_calls(panel, params)
    people, _work = person_table(panel, calls, params)
    lead = {c.name: c.lead_value for c in panel.config.campaigns}
    tracker = panel.tracker
    recovered = calc.recovery(tracker.recovered_callbacks() + tracker.callbacks(),
                              tracker.calls(CallFilter(start=monday)), monday, sunday, lead)
    return render_template(
        "reports_weekly.html", s=summary, start=monday, end=sunday,
        modules=[MODULES[name](summary, fmt) for name in WEEKLY_MODULES],
        tables=[campaign_table(panel, calls, params), people],
        recovery=recovered["total"], previous=monday - timedelta(days=7),
        following=monday + timedelta(days=7) if sunday < panel.today() else None)
