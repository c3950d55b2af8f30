"""Heat maps: a grid of rows (weekdays, or people) by hours, each cell shaded 0-5.

One drawing for every heat map of the panel: the load report (weekday x hour), and calls per
person per hour on the dashboard and in the per-person report. `heat` dicts are plain data
(`rows`, `hours`, `cells`); `svg` draws one as inline SVG in the style of charts.py (classes
`heat-0`..`heat-5` from callbox.css, no inline style, every text escaped).
"""

from __future__ import annotations

from typing import Sequence

from markupsafe import Markup, escape

from firmware.webui import charts
from firmware.webui.i18n import Formatter
from firmware.webui.i18n import gettext as _

LEVELS = 5
OFFICE_HOURS = (8, 17)    # always shown, with any hour that had calls


def level(value: float, top: float) -> int:
    """0 for nothing, else 1..LEVELS by the share of the largest value."""
    return 0 if not value else min(LEVELS, 1 + int(LEVELS * value / (top or 1)))


def shown_hours(rows: Sequence[Sequence[float]]) -> range:
    """The office hours plus every hour with a call in any row."""
    used = [h for h in range(24) if any(row[h] for row in rows)]
    return range(min(used + [OFFICE_HOURS[0]]), max(used + [OFFICE_HOURS[1]]) + 1)


def person_hours(people: Sequence[tuple[str, Sequence[int]]], fmt: Formatter) -> dict:
    """Calls per person per hour: `people` are (label, 24 counts) rows."""
    counts = [calls for _label, calls in people]
    hours = shown_hours(counts)
    top = max((c for row in counts for c in row), default=0)
    cells = []
    for w, (label, row) in enumerate(people):
        for x, h in enumerate(hours):
            n = row[h]
            cells.append({"w": w, "x": x, "level": level(n, top),
                          "text": fmt.number(n) if n else "",
                          "tip": f"{label}, {h:02d}:00–{h:02d}:59: "
                                 + _("%(count)s calls answered", count=fmt.number(n))})
    return {"rows": [label for label, _calls in people], "hours": [f"{h:02d}" for h in hours],
            "cells": cells, "label_width": 150}


def svg(heat: dict, title: str, *, width: int = 960, label_width: int | None = None) -> Markup:
    """The heat map as inline SVG; rows are labelled at the left (clipped to fit) in
    `label_width`, else the heat's own (people's names), else room for a weekday."""
    label_width = label_width or heat.get("label_width", 46)
    top, row_h = 22, 30
    rows, hours = heat["rows"], heat["hours"]
    cell_w = (width - label_width) / (len(hours) or 1)
    chars = max(3, int(label_width / (charts.FONT * 0.6)) - 1)
    body = []
    for x, hour in enumerate(hours):
        body.append(f'<text class="axis" x="{label_width + x * cell_w + cell_w / 2:.1f}" '
                    f'y="13" text-anchor="middle">{escape(hour)}</text>')
    for w, label in enumerate(rows):
        body.append(f'<text class="label" x="0" y="{top + w * row_h + 19}">'
                    f'<title>{escape(label)}</title>{escape(charts._clip(label, chars))}</text>')
    for c in heat["cells"]:
        x, y = label_width + c["x"] * cell_w, top + c["w"] * row_h
        text = ""
        if c["text"]:
            light = " light" if c["level"] >= 4 else ""
            text = (f'<text class="cell{light}" x="{x + cell_w / 2:.1f}" y="{y + 19}" '
                    f'text-anchor="middle">{escape(c["text"])}</text>')
        body.append(f'<g><title>{escape(c["tip"])}</title><rect class="heat-{c["level"]}" '
                    f'x="{x + 1:.1f}" y="{y + 1}" width="{max(1.0, cell_w - 2):.1f}" '
                    f'height="{row_h - 2}" rx="4"/>{text}</g>')
    height = top + max(1, len(rows)) * row_h
    return Markup(
        f'<svg class="chart heat" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMidYMid meet">' + "".join(body) + "</svg>")
