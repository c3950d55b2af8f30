"""Dashboard modules for the figures an owner acts on (issue 21): why calls were missed and
where callers are from. Same shape as modules.py (a Module from the summary dict, drawn small
in the grid and large alone), added to its MODULES table."""

from __future__ import annotations

from datetime import date

from flask import current_app, has_app_context
from markupsafe import Markup, escape

from firmware.tracker.regions import localized
from firmware.webui import charts, heat
from firmware.webui.i18n import Formatter, current_language
from firmware.webui.i18n import gettext as _
from firmware.webui.module_base import Module


def missed_reason_label(reason: str) -> str:
    """A stored missed reason (pbx/events.py) in the reader's words."""
    labels = {"caller_hangup": _("Caller gave up while ringing"),
              "ring_timeout": _("Nobody answered in time"),
              "nobody_available": _("Nobody available"),
              "after_hours": _("After hours"),
              "busy": _("Every phone busy"), "failed": _("Call failed"),
              "unknown": _("Unknown")}
    return labels.get(reason, reason.replace("_", " ").capitalize())


def _width(large: bool) -> int:
    return 960 if large else 480


def _share_rows(items: list[tuple[str, int]], fmt: Formatter) -> list[tuple[str, int, str]]:
    total = sum(n for _, n in items) or 1
    return [(label, n, f"{fmt.number(n)} · {round(100 * n / total)}%") for label, n in items]


def reasons(summary: dict, fmt: Formatter, large: bool = False) -> Module:
    title = _("Why calls were missed")
    rows = _share_rows([(missed_reason_label(r), n)
                        for r, n in summary["missed_by_reason"].items()], fmt)
    chart = charts.rows(rows, title=title, width=_width(large)) if rows else None
    note = _("Not recovered: %(value)s", value=fmt.money(summary["unrecovered_value"])) \
        if rows else ""
    return Module("reasons", title, chart, [(r[0], r[2]) for r in rows], note=note)


def regions(summary: dict, fmt: Formatter, large: bool = False) -> Module:
    title = _("Where callers are from")
    language = current_language()
    rows = _share_rows([(_("Unknown") if r["region"] == "unknown"
                         else localized(r["region"], language), r["calls"])
                        for r in summary["caller_regions"]], fmt)
    chart = charts.rows(rows, title=title, width=_width(large)) if rows else None
    return Module("regions", title, chart, [(r[0], r[2]) for r in rows])


def stacked_columns(days: list[dict], labels: list[str], *, title: str, width: int = 480,
                    height: int = 180, label_every: int = 1,
                    texts: list[str] | None = None) -> Markup:
    """Answered (below) and missed (on top) calls per day as stacked bars, inline SVG."""
    left, right, top, bottom = 2, 2, 18, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [d["answered"] + d["missed"] for d in days]
    top_value = charts.nice_ceiling(max(totals, default=0), counts=True)
    slot = plot_w / max(1, len(days))
    gap = min(slot * 0.25, 6)
    body, axis = [], []
    for fraction in (1.0, 0.5):
        y = top + plot_h * (1 - fraction)
        body.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" '
                    f'y2="{y:.1f}"/>')
        axis.append(f'<text class="axis halo" x="{left}" y="{y - 4:.1f}">'
                    f'{escape(charts._num(top_value * fraction))}</text>')
    for index, day in enumerate(days):
        x = left + index * slot + gap / 2
        base = top + plot_h
        tip = texts[index] if texts else f"{labels[index]}"
        for kind in ("answered", "missed"):
            h = plot_h * day[kind] / top_value
            if h > 0:
                body.append(f'<rect class="bar {kind}" x="{x:.1f}" y="{base - h:.1f}" '
                            f'width="{max(1.0, slot - gap):.1f}" height="{h:.1f}">'
                            f'<title>{escape(tip)}</title></rect>')
                base -= h
        if index % label_every == 0:
            body.append(f'<text class="axis" x="{x + (slot - gap) / 2:.1f}" y="{height - 5}" '
                        f'text-anchor="middle">{escape(labels[index])}</text>')
    body.append(f'<line class="base" x1="{left}" y1="{top + plot_h}" x2="{width - right}" '
                f'y2="{top + plot_h}"/>')
    return charts._svg(width, height, title, body + axis)


def per_day(summary: dict, fmt: Formatter, large: bool = False) -> Module:
    title = _("Answered and missed per day")
    days = summary.get("calls_over_time") or []
    labels = [fmt.short_date(d["date"]) for d in days]
    texts = [_("%(day)s: %(answered)s answered, %(missed)s missed", day=label,
               answered=fmt.number(d["answered"]), missed=fmt.number(d["missed"]))
             for label, d in zip(labels, days)]
    chart = None
    if any(d["answered"] or d["missed"] for d in days):
        shown = 16 if large else 7
        chart = stacked_columns(days, labels, title=title, width=_width(large),
                                height=280 if large else 180,
                                label_every=max(1, -(-len(days) // shown)), texts=texts)
    table = [(fmt.date(date.fromisoformat(d["date"])),
              f'{fmt.number(d["answered"])} · {fmt.number(d["missed"])}')
             for d in days if d["answered"] or d["missed"]]
    return Module("per_day", title, chart, table,
                  note=_("Green: answered · red: missed") if chart else "")


def _extension_names() -> dict[str, str]:
    """Extension -> name from the box's config; {} where there is none (a central panel)."""
    panel = current_app.extensions.get("callbox") if has_app_context() else None
    config = getattr(panel, "config", None)
    return {e.number: e.name for e in getattr(config, "extensions", ())}


def people_hours(summary: dict, fmt: Formatter, large: bool = False) -> Module:
    """Calls per person per hour (`answered_by_hour`) as a heat map: who takes the calls
    when, so the owner sees who to staff at which hour."""
    title = _("Calls per person per hour")
    people = summary.get("answered_by_hour") or []    # a central's rollups do not hold it
    names = _extension_names()
    rows = [(_("Not claimed") if not p["extension"] else
             " · ".join(x for x in (p["extension"], names.get(p["extension"], "")) if x),
             p["calls"]) for p in people]
    chart = heat.svg(heat.person_hours(rows, fmt), title, width=_width(large),
                     label_width=150 if large else 130) if rows else None
    table = []
    for label, calls in rows:
        busiest = max(range(24), key=lambda h: (calls[h], -h))
        table.append((label, _("%(calls)s answered · most at %(hour)s",
                               calls=fmt.number(sum(calls)),
                               hour=f"{busiest:02d}:00–{busiest:02d}:59")))
    return Module("people_hours", title, chart, table,
                  note=_("Answered calls by the hour they came in; darker: more calls.")
                  if chart else "")
