"""The weekly summary (owner only): last week, Monday to Sunday, as the 10-minute check on
one printable page: the dashboard's figures with trends, its charts, missed callers
recovered, and the campaign and per-person tables. Its route hangs on the reports blueprint
(`reports.weekly`)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, render_template, request, url_for
from firmware.webui.i18n import gettext as _

from firmware.tracker import reports as calc
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
    following = monday + timedelta(days=7) if sunday < panel.today() else None
    period = {"label": _("Week"), "before_label": _("Week before"),
              "before_url": url_for("reports.weekly",
                                    week=(monday - timedelta(days=7)).isoformat()),
              "after_label": _("Week after"),
              "after_url": following and url_for("reports.weekly", week=following.isoformat())}
    return summary_page(panel, "reports_summary.html", monday, sunday, WEEKLY_MODULES,
                        title=_("Weekly summary"), period=period)


def summary_page(panel, template: str, start: date, end: date, modules: tuple[str, ...],
                 **links) -> str:
    """A printable summary of `start`..`end` (the weekly and the monthly one): the figures
    with trends, `modules`, missed callers recovered, the campaign and per-person tables."""
    params = Params(start, end)
    summary = panel.tracker.summary(start, end)
    fmt = fmt_of(panel)
    calls = period_calls(panel, params)
    people, _work = person_table(panel, calls, params)
    lead = {c.name: c.lead_value for c in panel.config.campaigns}
    tracker = panel.tracker
    recovered = calc.recovery(tracker.callback_entries(), tracker.call_view(start, None),
                              start, end, lead, day_of=tracker.local_day)
    return render_template(
        template, s=summary, start=start, end=end,
        modules=[MODULES[name](summary, fmt) for name in modules],
        tables=[campaign_table(panel, calls, params), people],
        recovery=recovered["total"], **links)
