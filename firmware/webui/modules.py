"""The dashboard's modules: each turns the /api/summary figures into a chart and a small table.

A module is drawn at two sizes: in the dashboard grid, and alone on its own page (`large`).
Both read the same summary dict the API returns, so the panel can never disagree with it.
"""

from __future__ import annotations

from datetime import date
from typing import Callable

from firmware.webui import charts, module_base
from firmware.webui.i18n import Formatter, line_type_label
from firmware.webui.i18n import gettext as _


Module = module_base.Module      # what each builder returns (module_base.py)


def _width(large: bool) -> int:
    return 960 if large else 480


def _top(name: str, title: str, items: list[dict], fmt: Formatter, large: bool) -> Module:
    rows = [(item["name"] or _("(none)"), item["calls"],
             f'{fmt.number(item["calls"])} · {fmt.money(item["value"])}') for item in items]
    chart = charts.rows(rows, title=title, width=_width(large)) if rows else None
    return Module(name, title, chart, [(r[0], r[2]) for r in rows])


def campaigns(summary: dict, fmt: Formatter, large: bool = False) -> Module:
    return _top("campaigns", _("Top campaigns"), summary["top_campaigns"], fmt, large)


def sources(summary: dict, fmt: Formatter, large: bool = False) -> Module:
    return _top("sources", _("Top sources"), summary["top_sources"], fmt, large)


def hours(summary: dict, fmt: Formatter, large: bool = False) -> Module:
    counts = summary["calls_by_hour"]
    title = _("Calls per hour")
    labels = [f"{h}" for h in range(24)]
    chart = None
    if any(counts):
        chart = charts.columns(counts, labels, title=title, width=_width(large),
                               height=280 if large else 180,
                               label_every=1 if large else 3,
                               value_texts=[fmt.number(c) for c in counts],
                               axis_text=lambda v: fmt.number(v), counts=True)
    table = [(f"{h:02d}:00–{h:02d}:59", fmt.number(c)) for h, c in enumerate(counts) if c]
    return Module("hours", title, chart, table)


def value(summary: dict, fmt: Formatter, large: bool = False) -> Module:
    points = summary["value_over_time"]
    values = [p["value"] for p in points]
    title = _("Value over time")
    labels = [fmt.short_date(p["date"]) for p in points]
    chart = None
    if any(values):
        shown = 16 if large else 7
        chart = charts.columns(values, labels, title=title, width=_width(large),
                               height=280 if large else 180,
                               label_every=max(1, -(-len(values) // shown)),
                               value_texts=[fmt.money(v) for v in values],
                               axis_text=lambda v: fmt.money(v))
    table = [(fmt.date(date.fromisoformat(p["date"])), fmt.money(p["value"])) for p in points
             if p["value"]]
    return Module("value", title, chart, table, note=_("Total: %(value)s",
                                                       value=fmt.money(sum(values))))


def lines(summary: dict, fmt: Formatter, large: bool = False) -> Module:
    kinds = summary["caller_line_types"]
    total = sum(kinds.values()) or 1
    title = _("Caller line type")
    rows = [(line_type_label(kind), count, f"{fmt.number(count)} · {round(100 * count / total)}%")
            for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1])]
    chart = charts.rows(rows, title=title, width=_width(large)) if rows else None
    return Module("lines", title, chart, [(r[0], r[2]) for r in rows])


MODULES: dict[str, Callable[..., Module]] = {
    "campaigns": campaigns, "sources": sources, "hours": hours, "value": value, "lines": lines,
}


def _added_modules() -> None:
    """The figures of issue 21 (figure_modules.py): calls per day first, then the first
    five with calls per person per hour after calls per hour, then why calls were missed
    and where callers are from."""
    from firmware.webui import figure_modules
    first = dict(MODULES)
    MODULES.clear()
    MODULES["per_day"] = figure_modules.per_day
    for name, build in first.items():
        MODULES[name] = build
        if name == "hours":
            MODULES["people_hours"] = figure_modules.people_hours
    MODULES.update(reasons=figure_modules.reasons, regions=figure_modules.regions)


_added_modules()
