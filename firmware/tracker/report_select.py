"""The report builder's figures: which calls pass its filters, and their rows with the chosen
columns. Pure functions, no I/O, no clock, no translations (the panel: webui/report_builder.py).

The calls come as a `CallView` (callview.py; a list of /api/calls dicts is taken too): the
filters are checked column by column, and a row's cells (its ISO time among them) are made
only for the calls selected, and of those only for the rows asked for (a page of 100, or the
whole result for a file).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from firmware.tracker.callview import CallView, as_view
from firmware.tracker.errors import BadInput
from firmware.tracker.query import CallFilter
from firmware.tracker.records import INBOUND, INTERNAL

# The report builder's columns, in the order offered; the default selection after them.
# `number` is the other party (the caller of an inbound call, else the number dialled) and
# `person` the extension that took or made the call.
COLUMNS = ("started_at", "direction", "number", "caller", "callee", "campaign", "source",
           "status", "missed_reason", "wait_seconds", "talk_seconds", "person", "answered_by",
           "extension", "target", "first_time", "line_type", "value", "rating", "tags",
           "category", "comment", "callback", "id")
DEFAULT_COLUMNS = ("started_at", "direction", "number", "campaign", "status", "wait_seconds",
                   "talk_seconds", "person", "value", "rating", "category")
MAX_SECONDS = 10 * 86400


@dataclass(frozen=True)
class ReportFilter:
    """What the builder filters on beyond the call list's own filter (query.CallFilter)."""

    category: str | None = None
    tag: str | None = None
    rating_min: int | None = None
    rating_max: int | None = None
    talk_min: float | None = None      # talk seconds, inclusive
    talk_max: float | None = None
    target_only: bool = False
    first_time_only: bool = False


def parse_report_filter(args: Mapping[str, str]) -> ReportFilter:
    """A ReportFilter from query-string args; empty means any; BadInput naming the field."""
    rating_min = number_arg(args, "rating_min", 0, 5, whole=True)
    rating_max = number_arg(args, "rating_max", 0, 5, whole=True)
    if rating_min is not None and rating_max is not None and rating_min > rating_max:
        raise BadInput("rating_min", "must not be above rating_max")
    talk_min = number_arg(args, "talk_min", 0, MAX_SECONDS)
    talk_max = number_arg(args, "talk_max", 0, MAX_SECONDS)
    if talk_min is not None and talk_max is not None and talk_min > talk_max:
        raise BadInput("talk_min", "must not be above talk_max")
    return ReportFilter(text_arg(args, "category"), text_arg(args, "tag"), rating_min,
                        rating_max, talk_min, talk_max, flag_arg(args, "target"),
                        flag_arg(args, "first_time"))


def parse_columns(names: Sequence[str]) -> tuple[str, ...]:
    """The chosen builder columns in COLUMNS order; the defaults when none; BadInput on junk."""
    chosen = {n for n in names if n}
    unknown = chosen - set(COLUMNS)
    if unknown:
        raise BadInput("columns", f"unknown column {sorted(unknown)[0][:40]!r}")
    return tuple(c for c in COLUMNS if c in chosen) or DEFAULT_COLUMNS


def select(calls: CallView | Iterable[dict], flt: ReportFilter,
           where: CallFilter | None = None) -> list[int]:
    """The rows of the calls that pass `flt` (and the non-date conditions of `where`, the
    call list's filter), in the call list's order: the latest first for the tracker's view,
    the order given for a list of calls."""
    view = as_view(calls)
    rows: Iterable[int] = range(len(view))
    if where is not None:
        rows = _where(view, rows, where)
    if flt.target_only:
        target = view.target
        rows = [row for row in rows if target[row]]
    if flt.first_time_only:
        first = view.first_time
        rows = [row for row in rows if first[row]]
    if flt.talk_min is not None or flt.talk_max is not None:
        talk = view.talk
        low = -math.inf if flt.talk_min is None else flt.talk_min
        high = math.inf if flt.talk_max is None else flt.talk_max
        rows = [row for row in rows if low <= talk[row] <= high]
    if (flt.category is not None or flt.tag is not None or flt.rating_min is not None
            or flt.rating_max is not None):
        wrapups = view.wrapup
        rows = [row for row in rows if wrapups[row] and _wrapup_passes(wrapups[row], flt)]
    return view.listed(rows)


def _wrapup_passes(wrap: dict, flt: ReportFilter) -> bool:
    if flt.category is not None and (wrap.get("category") or "") != flt.category:
        return False
    if flt.tag is not None and flt.tag.casefold() not in {
            t.casefold() for t in wrap.get("tags") or ()}:
        return False
    if flt.rating_min is not None or flt.rating_max is not None:
        rating = wrap.get("rating")
        if rating is None or (flt.rating_min is not None and rating < flt.rating_min) or \
                (flt.rating_max is not None and rating > flt.rating_max):
            return False
    return True


def _where(view: CallView, rows: Iterable[int], flt: CallFilter) -> Iterable[int]:
    """query.matches on the columns."""
    for name, wanted in (("campaign", flt.campaign), ("source", flt.source),
                         ("status", flt.status), ("direction", flt.direction)):
        if wanted is not None:
            column = getattr(view, name)
            rows = [row for row in rows if column[row] == wanted]
    if flt.number is not None:
        number, caller, callee = flt.number, view.caller, view.callee
        rows = [row for row in rows if caller[row] == number or callee[row] == number]
    if flt.extension is not None:
        ext = flt.extension
        by, made, rang = view.answered_by, view.extension, view.rang
        direction, callee = view.direction, view.callee
        rows = [row for row in rows if by[row] == ext or made[row] == ext or ext in rang[row]
                or (direction[row] == INTERNAL and callee[row] == ext)]
    return rows


_PLAIN = {"direction": "direction", "caller": "caller", "callee": "callee",
          "campaign": "campaign", "source": "source", "status": "status",
          "missed_reason": "missed_reason", "wait_seconds": "wait", "talk_seconds": "talk",
          "answered_by": "answered_by", "extension": "extension", "line_type": "line_type",
          "value": "value"}
_PARTIES = {"number": ("caller", "callee"), "person": ("answered_by", "extension")}


def _cell(view: CallView, key: str) -> Callable[[int], Any]:
    """Builder column `key`'s raw value of a row, as a function of the row."""
    if key in _PLAIN:
        return view.cell(_PLAIN[key])
    if key == "started_at":
        return view.started_at
    if key == "id":
        return view.id
    if key in ("target", "first_time"):
        flags = getattr(view, key)
        return lambda row: bool(flags[row])
    if key in _PARTIES:             # the caller of an inbound call, else the one dialled
        direction = view.cell("direction")
        inbound, other = (view.cell(name) for name in _PARTIES[key])
        return lambda row: inbound(row) if direction(row) == INBOUND else other(row)
    if key == "callback":
        callbacks = view.callback
        return lambda row: (callbacks[row] or {}).get("how")
    wrapups = view.wrapup
    if key == "tags":
        return lambda row: "; ".join((wrapups[row] or {}).get("tags") or ())
    return lambda row: (wrapups[row] or {}).get(key)          # rating, category, comment


def builder_rows(calls: CallView | Iterable[dict], columns: Sequence[str],
                 rows: Iterable[int] | None = None) -> list[dict]:
    """One dict per row of `rows` (default: every call, in the view's order) with the chosen
    columns' raw values (wrap-up fields spread out)."""
    view = as_view(calls)
    rows = list(range(len(view)) if rows is None else rows)
    made = {}                      # times and ids made for all the rows at once
    if "started_at" in columns:
        made["started_at"] = dict(zip(rows, view.started_texts(rows))).__getitem__
    if "id" in columns:
        made["id"] = dict(zip(rows, view.ids(rows))).__getitem__
    chosen = [(name, made.get(name) or _cell(view, name)) for name in columns]
    return [{name: cell(row) for name, cell in chosen} for row in rows]


# -- query-string arguments (reports.py reads its thresholds with them too) -----------------

def text_arg(args: Mapping[str, str], field: str) -> str | None:
    value = args.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 100:
        raise BadInput(field, "must be text of at most 100 characters")
    return value.strip() or None


def flag_arg(args: Mapping[str, str], field: str) -> bool:
    value = text_arg(args, field)
    if value not in (None, "1", "on", "true", "0", "false"):
        raise BadInput(field, "must be 1 or 0")
    return value in ("1", "on", "true")


def number_arg(args: Mapping[str, str], field: str, low: float, high: float, *,
               whole: bool = False) -> float | int | None:
    value = text_arg(args, field)
    if value is None:
        return None
    try:
        number = int(value) if whole else float(value.replace(",", "."))
    except ValueError:
        raise BadInput(field, "must be a whole number" if whole else "must be a number") \
            from None
    if not math.isfinite(number) or not low <= number <= high:
        raise BadInput(field, f"must be between {low:g} and {high:g}")
    return number
