"""Dashboard modules for the figures an owner acts on (issue 21): why calls were missed and
where callers are from. Same shape as modules.py (a Module from the summary dict, drawn small
in the grid and large alone), added to its MODULES table."""

from __future__ import annotations

from firmware.webui import charts
from firmware.webui.i18n import Formatter
from firmware.webui.i18n import gettext as _
from firmware.webui.modules import Module


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
    rows = _share_rows([(_("Unknown") if r["region"] == "unknown" else r["region"],
                         r["calls"]) for r in summary["caller_regions"]], fmt)
    chart = charts.rows(rows, title=title, width=_width(large)) if rows else None
    return Module("regions", title, chart, [(r[0], r[2]) for r in rows])
