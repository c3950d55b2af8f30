"""The monthly summary beside the weekly one (issue 21): one calendar month on a printable
page, the same figures, trends, modules and tables as the weekly summary."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from flask import Blueprint, abort, request, url_for
from firmware.webui.i18n import gettext as _

from firmware.webui.access import owner_required
from firmware.webui.panel import get_panel
from firmware.webui.weekly import WEEKLY_MODULES, summary_page

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
    before = (first - timedelta(days=1)).replace(day=1)
    after = last + timedelta(days=1)
    period = {"label": _("Month"), "before_label": _("Month before"),
              "before_url": url_for("monthly.monthly", month=before.strftime("%Y-%m")),
              "after_label": _("Month after"),
              "after_url": url_for("monthly.monthly", month=after.strftime("%Y-%m"))
              if last < panel.today() else None}
    return summary_page(panel, "reports_summary.html", first, last, MONTHLY_MODULES,
                        title=_("Monthly summary"), period=period, head_class="monthly-head")
