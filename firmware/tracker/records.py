"""Call events in, call records out: pure code, no I/O, no clock.

`CallAssembler` folds the events of each caller attempt (by `call_id`) until `CallEnded`, then
hands back a `FinishedCall`; `build_record` turns that into the stored record, a plain dict of
JSON values (times as epoch floats), using the config of the moment (campaign, lead value,
thresholds) and the number history (first-time and target flags). Everything a figure needs is
decided here, once, so that queries never parse a phone number again.

The assembler holds the only state: the calls still in progress. They are not persisted; a
restart forgets calls that were ringing or talking at that moment (the PBX drops them too).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, Mapping, Protocol

import phonenumbers

from firmware.config import Config, normalise_number
from firmware.pbx import events as ev
from firmware.tracker.callrecord import as_record
from firmware.tracker.localtime import iso_formatter

logger = logging.getLogger(__name__)

INBOUND, OUTBOUND, INTERNAL = "inbound", "outbound", "internal"
DIRECTIONS = (INBOUND, OUTBOUND, INTERNAL)
ANSWERED, MISSED, UNANSWERED = "answered", "missed", "unanswered"
STATUSES = (ANSWERED, MISSED, UNANSWERED)

# A call still open this long after it started lost its CallEnded (a PBX bug): forget it.
STALE_AFTER_SECONDS = 12 * 3600

_LINE_TYPES = {
    value: name.lower()
    for name, value in vars(phonenumbers.PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}


@dataclass
class _OpenCall:
    call_id: str
    direction: str
    caller: str
    callee: str
    extension: str          # who dialled (outbound, internal); "" for inbound
    trunk: str
    offered_at: float
    rang: list[str] = field(default_factory=list)
    answered_at: float | None = None
    answered_by: str | None = None
    transfers: list[tuple[str, float]] = field(default_factory=list)   # (to whom, when)


@dataclass(frozen=True)
class FinishedCall:
    """One caller attempt from the first event to CallEnded, numbers as received."""

    call_id: str
    direction: str
    caller: str
    callee: str
    extension: str
    trunk: str
    offered_at: float
    answered_at: float | None
    answered_by: str | None
    ended_at: float
    end_reason: str
    rang: tuple[str, ...] = ()
    transfers: tuple[tuple[str, float], ...] = ()


class CallAssembler:
    """Collects events per call_id; `feed` returns a FinishedCall on CallEnded, else None."""

    def __init__(self) -> None:
        self._open: dict[str, _OpenCall] = {}

    def __len__(self) -> int:
        return len(self._open)

    def open_calls(self) -> list[str]:
        """The ids of the calls started and not ended, oldest first."""
        return list(self._open)

    def feed(self, event: ev.CallEvent, config: Config) -> FinishedCall | None:
        if isinstance(event, ev.CallOffered):
            self._drop_stale(event.at)
            self._start(_OpenCall(event.call_id, INBOUND, event.caller, event.dialled, "",
                                  event.trunk, event.at))
            return None
        if isinstance(event, ev.DialledOut):
            self._drop_stale(event.at)
            direction = INTERNAL if is_extension(event.number, config) else OUTBOUND
            self._start(_OpenCall(event.call_id, direction, event.extension, event.number,
                                  event.extension, "", event.at))
            return None
        call = self._open.get(event.call_id)
        if call is None:
            logger.warning("call event for unknown call %s ignored: %s", event.call_id, event)
            return None
        if isinstance(event, ev.CallRinging):
            if event.extension and event.extension not in call.rang:
                call.rang.append(event.extension)
        elif isinstance(event, ev.CallAnswered):
            if call.answered_at is None:
                call.answered_at = event.at
                call.answered_by = event.extension or None
        elif isinstance(event, ev.CallTransferred):
            call.transfers.append((event.extension, event.at))
        elif isinstance(event, ev.CallEnded):
            del self._open[event.call_id]
            return FinishedCall(call.call_id, call.direction, call.caller, call.callee,
                                call.extension, call.trunk, call.offered_at, call.answered_at,
                                call.answered_by, event.at, event.reason, tuple(call.rang),
                                tuple(call.transfers))
        else:
            logger.warning("unknown call event ignored: %r", event)
        return None

    def _start(self, call: _OpenCall) -> None:
        if call.call_id in self._open:
            logger.warning("call %s started twice; the first start is forgotten", call.call_id)
        self._open[call.call_id] = call

    def _drop_stale(self, now: float) -> None:
        stale = [c for c in self._open.values() if now - c.offered_at > STALE_AFTER_SECONDS]
        for call in stale:
            logger.warning("call %s never ended (started %.0f); forgotten", call.call_id,
                           call.offered_at)
            del self._open[call.call_id]


class NumberHistoryLike(Protocol):
    def called_within(self, number: str, at: float, seconds: float) -> bool: ...
    def target_within(self, number: str, at: float, seconds: float) -> bool: ...


def is_extension(number: str, config: Config) -> bool:
    """An extension of this box (short service numbers like 112 are outbound calls)."""
    return config.extension(number) is not None


def is_phone_number(number: str) -> bool:
    """E.164 as the records keep it: the only numbers that can be called back or counted."""
    return len(number) > 2 and number[0] == "+" and number[1:].isdigit()


def e164(number: str, country: str) -> str:
    """The number in E.164 where it parses, else as received ("anonymous", "")."""
    if not number or is_phone_number(number):
        return number
    return normalise_number(number, country) or number


def line_type(number: str) -> str:
    """phonenumbers' line type as a lower-case name ("mobile", "fixed_line", ...)."""
    if not is_phone_number(number):
        return "unknown"
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return "unknown"
    return _LINE_TYPES.get(phonenumbers.number_type(parsed), "unknown")


def missed_reason(call: FinishedCall) -> str | None:
    if call.answered_at is not None:
        return None
    return ev.FAILED if call.end_reason == ev.COMPLETED else call.end_reason


def build_record(call: FinishedCall, record_id: str, config: Config,
                 history: NumberHistoryLike) -> dict[str, Any]:
    """The stored record of a finished call; `history` holds the calls recorded before it."""
    country = config.box.country
    answered = call.answered_at is not None
    campaign = None
    if call.direction == INBOUND:
        caller, callee = e164(call.caller, country), e164(call.callee, country)
        campaign = config.campaign_for(callee)
        party = caller
        status = ANSWERED if answered else MISSED
    else:
        caller = call.caller
        callee = call.callee if call.direction == INTERNAL else e164(call.callee, country)
        party = callee if call.direction == OUTBOUND else ""
        status = ANSWERED if answered else UNANSWERED
    talk = call.ended_at - call.answered_at if answered else 0.0
    wait = (call.answered_at if answered else call.ended_at) - call.offered_at
    tracking = config.tracking
    window = tracking.unique_window_days * 86400
    first_window = first_time_window(tracking.unique_window_days,
                                     tracking.first_time_window_days)
    first_time = target = False
    if call.direction == INBOUND:
        known = is_phone_number(caller)
        first_time = known and not history.called_within(caller, call.offered_at, first_window)
        qualifies = answered and talk >= tracking.target_call_seconds
        target = qualifies and not (tracking.target_unique and known and history.target_within(
            caller, call.offered_at, window))
    lead_value = campaign.lead_value if campaign else 0.0
    record: dict[str, Any] = {
        "id": record_id,
        "direction": call.direction,
        "caller": caller,
        "callee": callee,
        "campaign": campaign.name if campaign else "",
        "source": campaign.source if campaign else "",
        "trunk": call.trunk,
        "extension": call.extension,
        "offered_at": call.offered_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "wait_seconds": round(max(wait, 0.0), 3),
        "talk_seconds": round(max(talk, 0.0), 3),
        "status": status,
        "missed_reason": missed_reason(call),
        "end_reason": call.end_reason,
        "answered_by": call.answered_by if call.direction != OUTBOUND else None,
        "rang": list(call.rang),
        "line_type": line_type(party) if party else None,
        "lead_value": lead_value,
        "target": target,
        "first_time": first_time,
        "wrapup": None,
        "callback": None,
    }
    if call.transfers:   # kept only when it happened: most calls never move
        record["transfers"] = [[who, at] for who, at in call.transfers]
    record["value"] = record_value(record)
    return record


def first_time_window(unique_window_days: int, first_time_window_days: int | None) -> float:
    """Seconds back a first-time caller must not have called: `[tracking]
    first_time_window_days` (0: ever, so a number's first call), else `unique_window_days`."""
    if first_time_window_days is None:
        return unique_window_days * 86400.0
    return math.inf if first_time_window_days == 0 else first_time_window_days * 86400.0


def record_value(record: Mapping[str, Any]) -> float:
    """The contract's value: the wrap-up value where one was given, else the campaign's lead
    value when the call is a target call (a lead), else 0. A repeat call or a 5-second wrong
    number is no lead: counting every answered call inflated value (see docs/reports.md)."""
    wrapup = record.get("wrapup")
    if wrapup and wrapup.get("value") is not None:
        return float(wrapup["value"])
    if record["direction"] == INBOUND and record.get("target"):
        return float(record.get("lead_value") or 0.0)
    return 0.0


def counted(record: dict[str, Any]) -> bool:
    """Whether summary figures count the call: inbound on a campaign number."""
    return record["direction"] == INBOUND and bool(record["campaign"])


def iso(ts: float | None, tz: tzinfo) -> str | None:
    """Epoch seconds as ISO 8601 with the box's offset at that moment (DST-aware)."""
    return iso_formatter(tz)(ts)


API_FIELDS = ("id", "started_at", "direction", "caller", "callee", "campaign", "source",
              "status", "wait_seconds", "talk_seconds", "answered_by", "target", "first_time",
              "line_type", "wrapup")


def log_summary(record) -> str:
    """A recorded call in one log line's words (after "call <id> recorded: ")."""
    how = f" by {record.answered_by}" if record.answered_by \
        else f" ({record.missed_reason or record.end_reason})"
    return (f"{record.direction} {record.caller} -> {record.callee}, {record.status}{how}, "
            f"campaign {record.campaign or '-'}, wait {record.wait_seconds:.0f} s, "
            f"talk {record.talk_seconds:.0f} s")


def to_api(record: Mapping[str, Any], tz: tzinfo) -> dict[str, Any]:
    """The /api/calls shape (the contract's keys first, then our extras)."""
    r = as_record(record)
    wrapup = r.wrapup
    fmt = iso_formatter(tz)
    return {
        "id": r.id,
        "started_at": fmt(r.offered_at),
        "direction": r.direction,
        "caller": r.caller,
        "callee": r.callee,
        "campaign": r.campaign,
        "source": r.source,
        "status": r.status,
        "wait_seconds": round(r.wait_seconds, 1),
        "talk_seconds": round(r.talk_seconds, 1),
        "answered_by": r.answered_by,
        "target": r.target,
        "first_time": r.first_time,
        "line_type": r.line_type,
        "wrapup": dict(wrapup) if wrapup else None,
        # extras
        "missed_reason": r.missed_reason,
        "value": r.value,
        "extension": r.extension,
        "trunk": r.trunk,
        "answered_at": fmt(r.answered_at),
        "ended_at": fmt(r.ended_at),
        "callback": _render_callback(r.callback, tz) if r.callback else None,
        "rang": list(r.rang),
        "handled_by": handled_by(r),
        **({"talk_by": talk_by(r)} if r.get("transfers") else {}),
    }


def talk_by(record) -> dict[str, float]:
    """Talk time of each person on a transferred call: from the answer (or each transfer)
    to the next transfer (or the end)."""
    people = handled_by(record)
    if not people or record.answered_at is None:
        return {}
    times = [record.answered_at, *(at for _, at in (record.get("transfers") or ())),
             record.ended_at]
    split: dict[str, float] = {}
    for who, start, end in zip(people, times, times[1:]):
        split[who] = round(split.get(who, 0.0) + max(0.0, end - start), 1)
    return split

def handled_by(record) -> list[str]:
    """The extensions (or numbers) that talked to the caller, in order: who answered (who
    dialled, for an outbound call), then each transfer's target."""
    first = record.extension if record.direction != INBOUND else record.answered_by
    if first is None and record.status != ANSWERED:
        return []
    moved = [who for who, _ in (record.get("transfers") or ())]
    return [who for who in [first, *moved] if who]


def _render_callback(info: dict[str, Any] | None, tz: tzinfo) -> dict[str, Any] | None:
    if not info:
        return None
    times = ("first_missed_at", "last_missed_at", "last_attempt_at", "cleared_at")
    return {**info, **{key: iso(info.get(key), tz) for key in times}}
