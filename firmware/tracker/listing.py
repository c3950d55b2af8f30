"""Calls in the /api/calls shape straight from the call table's columns (calltable.py).

Why: a report over a year reads every call of it in the /api/calls shape. Making a
`CallRecord` for each and formatting it with `records.to_api` cost several microseconds a
call (seconds for 100k on a Pi). Here the filter is checked on the columns' codes (no record
for a call that does not match), and a matching call's dict is built from its columns
directly. Only calls the columns do not tell whole (transfers, keys from a newer version,
times stored as ints, hand edits) go the long way through `to_api`.

`records.to_api` stays the definition: the first call of every listing is built both ways
and compared, and when they differ (a key added to `to_api` and not here) the listing logs
it once and goes the long way for every call. tests/tracker/test_calltable.py compares the
two on many kinds of calls.
"""

from __future__ import annotations

import logging
from datetime import tzinfo
from typing import Any, Iterator

from firmware.tracker.calltable import CallTable
from firmware.tracker.localtime import iso_formatter
from firmware.tracker.query import CallFilter, matches
from firmware.tracker.records import ANSWERED, INBOUND, _render_callback, to_api

logger = logging.getLogger(__name__)

_PLAIN_REST = frozenset(("wrapup", "callback"))
_warned = False


def api_calls(part: CallTable, flt: CallFilter, tz: tzinfo,
              limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The calls of `part` (a slice of the table) that pass `flt`'s non-date conditions,
    newest first, each in the /api/calls shape (without `contact`: the tracker adds it)."""
    global _warned
    pool = part.pool
    values = pool.values
    codes = part.codes
    wanted = _wanted_codes(part, flt)
    number = pool.find(flt.number) if flt.number is not None else None
    if wanted is None or (flt.number is not None and number is None):
        return                          # a value no call has: nothing matches
    fmt = iso_formatter(tz)
    starts, answered_at, ended = (part.floats["offered_at"], part.floats["answered_at"],
                                  part.floats["ended_at"])
    waits, talks, amounts = (part.floats["wait_seconds"], part.floats["talk_seconds"],
                             part.floats["value"])
    direction_c, caller_c, callee_c = codes["direction"], codes["caller"], codes["callee"]
    campaign_c, source_c, status_c = codes["campaign"], codes["source"], codes["status"]
    answered_by_c, line_type_c, reason_c = (codes["answered_by"], codes["line_type"],
                                            codes["missed_reason"])
    extension_c, trunk_c, rang_c = codes["extension"], codes["trunk"], codes["rang"]
    targets, first_times = part.flags["target"], part.flags["first_time"]
    kinds, rests = part.int_kinds, part.rest
    inbound, answered = pool.find(INBOUND), pool.find(ANSWERED)
    checked = False
    fast = True
    given = 0
    for row in range(len(part) - 1, -1, -1):
        if wanted and not all(column[row] == code for column, code in wanted):
            continue
        if number is not None and caller_c[row] != number and callee_c[row] != number:
            continue
        rest = rests[row]
        short = fast and not kinds[row] and (rest is None or (
            rest.__class__ is dict and rest.keys() <= _PLAIN_REST))
        if flt.extension is not None or not short:
            record = part.record(row)
            if flt.extension is not None and not matches(record, flt):
                continue
        if short:
            wrapup = rest and rest.get("wrapup")
            callback = rest and rest.get("callback")
            answered_when = answered_at[row]
            direction = direction_c[row]
            status = status_c[row]
            answered_by = values[answered_by_c[row]]
            extension = values[extension_c[row]]
            first = extension if direction != inbound else answered_by
            call = {
                "id": part.id_at(row),
                "started_at": fmt(starts[row]),
                "direction": values[direction],
                "caller": values[caller_c[row]],
                "callee": values[callee_c[row]],
                "campaign": values[campaign_c[row]],
                "source": values[source_c[row]],
                "status": values[status],
                "wait_seconds": round(waits[row], 1),
                "talk_seconds": round(talks[row], 1),
                "answered_by": answered_by,
                "target": bool(targets[row]),
                "first_time": bool(first_times[row]),
                "line_type": values[line_type_c[row]],
                "wrapup": dict(wrapup) if wrapup else None,
                "missed_reason": values[reason_c[row]],
                "value": amounts[row],
                "extension": extension,
                "trunk": values[trunk_c[row]],
                "answered_at": None if answered_when != answered_when else fmt(answered_when),
                "ended_at": fmt(ended[row]),
                "callback": _render_callback(callback, tz) if callback else None,
                "rang": list(values[rang_c[row]]),
                "handled_by": [] if first is None and status != answered else
                              [first] if first else [],
            }
            if not checked:
                checked = True
                slow = to_api(part.record(row), tz)
                if slow != call or list(slow) != list(call):
                    if not _warned:
                        _warned = True
                        logger.warning("listing: the columns' /api/calls shape differs from "
                                       "records.to_api; every call goes through to_api")
                    fast = False
                    call = slow
        else:
            call = to_api(record, tz)
        yield call
        given += 1
        if limit is not None and given >= limit:
            return


def _wanted_codes(part: CallTable, flt: CallFilter) -> list | None:
    """[(code column, code)] for the filter's campaign, source, status and direction; None
    when a value asked for is in no call at all."""
    wanted = []
    for name, value in (("campaign", flt.campaign), ("source", flt.source),
                        ("status", flt.status), ("direction", flt.direction)):
        if value is None:
            continue
        code = part.pool.find(value)
        if code is None:
            return None
        wanted.append((part.codes[name], code))
    return wanted
