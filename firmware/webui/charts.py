"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN, cheap on a Pi.

Pure functions from numbers and already formatted labels to `Markup`; every text is escaped.
The SVG scales to its box (viewBox, width 100%); callers pass a wider `width` for the large
single-module pages so the text keeps its size. Colours come from CSS classes (static/callbox.css),
so the charts follow the page's palette and no inline style is needed (the CSP forbids it).
"""

from __future__ import annotations

import math
from typing import Sequence

from markupsafe import Markup, escape

FONT = 12


def nice_ceiling(value: float, *, counts: bool = False) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= value (1 for <= 0).

    With `counts` the steps are 1, 2, 4, 6, 8 (from 2 up), so half of it is a whole number too.
    """
    if counts:
        value = max(value, 2)
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    steps = (1, 2, 4, 6, 8, 10) if counts else (1, 2, 2.5, 5, 10)
    for step in steps:
        if value <= step * power + 1e-9:
            return step * power
    return 10 * power


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(1, chars - 1)] + "…"


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMidYMid meet">' + "".join(body) + "</svg>")


def columns(values: Sequence[float], labels: Sequence[str], *, title: str,
            value_texts: Sequence[str] | None = None, axis_text=_num, width: int = 480,
            height: int = 180, label_every: int = 1, highlight: int | None = None,
            counts: bool = False) -> Markup:
    """Vertical bars, one per value, with an x label every `label_every` bars.

    `value_texts` are the formatted values shown on hover; `axis_text` formats the gridline
    values, which sit on their lines at the left so no margin has to guess their width.
    """
    left, right, top, bottom = 2, 2, 18, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(1, len(values))
    top_value = nice_ceiling(max(values, default=0), counts=counts)
    slot = plot_w / count
    gap = min(slot * 0.25, 6)
    texts = value_texts or [_num(v) for v in values]
    body, gridline_labels = [], []
    for fraction in (1.0, 0.5):
        y = top + plot_h * (1 - fraction)
        body.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" '
                    f'y2="{y:.1f}"/>')
        # drawn after the bars, with a halo, so a tall first bar never hides them
        gridline_labels.append(f'<text class="axis halo" x="{left}" y="{y - 4:.1f}">'
                               f'{escape(axis_text(top_value * fraction))}</text>')
    for index, value in enumerate(values):
        x = left + index * slot + gap / 2
        h = plot_h * (value / top_value) if value > 0 else 0
        css = "bar hl" if index == highlight else "bar"
        tip = f"{labels[index]}: {texts[index]}"
        body.append(
            f'<rect class="{css}" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(1.0, slot - gap):.1f}" height="{h:.1f}" rx="2">'
            f'<title>{escape(tip)}</title></rect>')
        if index % label_every == 0:
            body.append(
                f'<text class="axis" x="{x + (slot - gap) / 2:.1f}" y="{height - 5}" '
                f'text-anchor="middle">{escape(labels[index])}</text>')
    body.append(f'<line class="base" x1="{left}" y1="{top + plot_h}" x2="{width - right}" '
                f'y2="{top + plot_h}"/>')
    return _svg(width, height, title, body + gridline_labels)


def rows(items: Sequence[tuple[str, float, str]], *, title: str, width: int = 480,
         row_height: int = 42) -> Markup:
    """Horizontal bars, each under its label and value text: (label, value, value text) per row.

    The longest bar is the largest value; the label has the whole width, so long campaign
    names stay readable on a phone.
    """
    top_value = max((v for _, v, _ in items), default=0) or 1
    body = []
    for index, (label, value, text) in enumerate(items):
        y = index * row_height
        chars = max(4, int((width - FONT * 0.6 * len(text) - 16) / (FONT * 0.6)))
        bar = width * (value / top_value) if value > 0 else 0
        body.append(
            f'<g><title>{escape(label)}: {escape(text)}</title>'
            f'<text class="label" x="0" y="{y + 15}">{escape(_clip(label, chars))}</text>'
            f'<text class="value" x="{width}" y="{y + 15}" text-anchor="end">'
            f'{escape(text)}</text>'
            f'<rect class="track" x="0" y="{y + 21}" width="{width}" height="10" rx="4"/>'
            f'<rect class="bar" x="0" y="{y + 21}" width="{bar:.1f}" height="10" rx="4"/></g>')
    return _svg(width, max(row_height, row_height * len(items)) - 6, title, body)
