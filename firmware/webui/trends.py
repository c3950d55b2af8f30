"""This period against the previous one, as the panel shows it beside each key figure.

Pure: from the /api/summary dict (with its `previous`) and a Formatter to small dicts the
templates draw (`text`, `css`, `title`). Whether up is good depends on the figure: more
answered calls is good, more missed calls or a longer wait is bad. Registered as the template
global `trend` (and `added_figures`) by firmware/webui/api_figures.py.
"""

from __future__ import annotations

from typing import Any, Callable

from firmware.webui.i18n import Formatter
from firmware.webui.i18n import gettext as _

UP, DOWN, SAME = "▲", "▼", "="

# figure -> (higher is better, how to read it from a summary, kind of value)
FIGURES: dict[str, tuple[bool, Callable[[dict], float], str]] = {
    "answered": (True, lambda s: s["answered"], "count"),
    "missed": (False, lambda s: s["missed"], "count"),
    "avg_wait_seconds": (False, lambda s: s["avg_wait_seconds"], "seconds"),
    "answered_within": (True, lambda s: s["answered_within"]["share"], "share"),
    "unrecovered_value": (False, lambda s: s["unrecovered_value"], "money"),
    "value": (True, lambda s: s["value"], "money"),
    "target_calls": (True, lambda s: s["target_calls"], "count"),
    "first_time_callers": (True, lambda s: s["first_time_callers"], "count"),
    "too_long": (False, lambda s: s["too_long"]["calls"], "count"),
}


def formatted(kind: str, value: float, fmt: Formatter) -> str:
    if kind == "share":
        return f"{fmt.number(100 * value)}%"
    if kind == "money":
        return fmt.money(value)
    if kind == "seconds":
        return fmt.seconds(value)
    return fmt.number(value)


def trend(summary: dict, name: str, fmt: Formatter) -> dict[str, Any] | None:
    """How figure `name` moved against `summary["previous"]`; None when there is none."""
    previous = summary.get("previous")
    if not previous or name not in FIGURES:
        return None
    higher_is_better, read, kind = FIGURES[name]
    now, before = read(summary), read(previous)
    title = _("Previous period: %(value)s", value=formatted(kind, before, fmt))
    if round(now, 4) == round(before, 4):
        return {"text": f"{SAME} " + _("same"), "css": "same", "title": title}
    arrow = UP if now > before else DOWN
    css = "good" if (now > before) == higher_is_better else "bad"
    if kind == "share":
        change = _("%(points)s pp", points=fmt.number(abs(100 * (now - before))))
    elif before:
        change = f"{fmt.number(abs(100 * (now - before) / before))}%"
    else:
        change = formatted(kind, abs(now - before), fmt)
    return {"text": f"{arrow} {change}", "css": css, "title": title}


def added_figures(summary: dict, fmt: Formatter, answered_within_link: str = "") -> list[dict]:
    """The second row of key figures: answered in time, value, value not recovered, target
    calls, first-time callers, and calls too long against their campaign's average (unless
    `[tracking] too_long_factor` is 0); each with its formatted value and trend."""
    if "answered_within" not in summary:     # a central's summary from its rollups (partial)
        return []
    within = summary["answered_within"]
    cards = [
        ("answered_within", _("Answered in %(seconds)s s",
                              seconds=fmt.number(within["seconds"])), "within"),
        ("value", _("Value (leads)"), "value"),
        ("unrecovered_value", _("Not recovered"), "lost"),
        ("target_calls", _("Target calls"), "target"),
        ("first_time_callers", _("First-time callers"), "first"),
    ]
    factor = (summary.get("too_long") or {}).get("factor")
    if factor:          # a central's summary from rows of an older box may lack it
        times = fmt.number(factor, 0 if float(factor).is_integer() else 1)
        cards.append(("too_long", _("Too long (over %(times)s× average)", times=times),
                      "long"))
    out = []
    for name, label, css in cards:
        _better, read, kind = FIGURES[name]
        out.append({"name": name, "label": label, "css": css,
                    "value": formatted(kind, read(summary), fmt),
                    "trend": trend(summary, name, fmt)})
    return out


def rating_label(rating: int) -> str:
    """The meaning of a wrap-up rating, 0 to 5, as the owner defined the scale."""
    labels = {0: _("0: no chance"), 1: _("1: hardly a chance"), 2: _("2: interested"),
              3: _("3: comparing offers"), 4: _("4: likely to buy"), 5: _("5: ready to sign")}
    return labels.get(rating, str(rating))
