"""The monthly summary beside the weekly one (issue 21): one calendar month on a printable
page, the same figures, trends, modules and tables as the weekly summary."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from flask import Blueprint, abort, render_template, request

from firmware.tracker import reports as calc
from firmware.tracker.query import CallFilter
from firmware.webui.access import owner_required
from firmware.webui.modules import MODULES
from firmware.webui.panel import get_panel
from firmware.webui.report_builtin import (Params, campaign_table, fmt_of, period_calls,
                                           person_table)
from firmware.webui.weekly import WEEKLY_MODULES

bp = Blueprint("monthly", __name__, url_prefix="/reports")
MONTHLY_MODULES = (*WEEKLY_MODULES, "reasons", "regions")


def month_bounds(asked: str, today: date) -> tuple[date, date]:
    """First and last day of `asked` ("YYYY-MM"), by default the last full month;
    ValueError on junk."""
    if asked:
        if len(asked) != 7:
            raise ValueError(asked)
        first = date.fromisoformat(asked + "-01")
    else:
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return first, last


@bp.get("/monthly")
@owner_required
def monthly():
    panel = get_panel()
    try:
        first, last = month_bounds(request.args.get("month", ""), panel.today())
    except ValueError:
        abort(400)
    params = Params(first, last)
    summary = panel.tracker.summary(first, last)
    fmt = fmt_of(panel)
    calls = period_calls(panel, params)
    people, _work = person_table(panel, calls, params)
    lead = {c.name: c.lead_value for c in panel.config.campaigns}
    tracker = panel.tracker
    recovered = calc.recovery(tracker.recovered_callbacks() + tracker.callbacks(),
                              tracker.calls(CallFilter(start=first)), first, last, lead)
    before = (first - timedelta(days=1)).replace(day=1)
    after = last + timedelta(days=1)
    return render_template(
        "reports_monthly.html", s=summary, start=first, end=last,
        modules=[MODULES[name](summary, fmt) for name in MONTHLY_MODULES],
        tables=[campaign_table(panel, calls, params), people],
        recovery=recovered["total"], previous=before.strftime("%Y-%m"),
        following=after.strftime("%Y-%m") if last < panel.today() else None)
