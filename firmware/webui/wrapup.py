"""Wrap-ups as the panel sees them: who may write one, which call waits for one, suggestions.

Saving always goes through `Tracker.wrapup()` (the API and the history form alike); this module
only decides permissions, finds the call the pop-up should offer and gathers tag suggestions.

Why state here: `TagSuggestions` counts the tags of recent calls and keeps the answer for a
minute (one per panel), so opening wrap-up forms does not rescan months of calls each time.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

from firmware.config import Config
from firmware.tracker.errors import BadInput
from firmware.tracker.query import CallFilter
from firmware.webui.users import User
from firmware.webui import i18n

PENDING_MINUTES = 30      # an answered call waits this long for its wrap-up pop-up
SUGGESTION_DAYS = 90
_SUGGESTION_TTL = 60.0


def involves(user: User, call: dict) -> bool:
    """The call is one of the user's: answered by, or made from, their extension."""
    ext = user.extension
    return bool(ext) and ext in (call.get("answered_by"), call.get("extension"),
                                 call.get("caller"), call.get("callee"))


def claimable(user: User, call: dict, config: Config) -> bool:
    """Staff may claim it: an answered inbound call that no desk phone answered (taken on a
    mobile it was forwarded to), on a campaign that rings their extension."""
    if user.is_owner or not user.extension or call.get("answered_by"):
        return False
    if call.get("direction") != "inbound" or call.get("status") != "answered":
        return False
    campaign = next((c for c in config.campaigns if c.name == call.get("campaign")), None)
    if campaign is None:
        return False
    rung = (*campaign.ring, *(campaign.after_hours_ring or config.hours.after_hours_ring))
    return user.extension in rung


def may_see(user: User, call: dict, config: Config) -> bool:
    """Owner: any call. Staff: their calls, missed calls of campaigns that ring them, and
    answered calls of those campaigns that nobody has claimed yet (see claimable)."""
    if user.is_owner or involves(user, call):
        return True
    if claimable(user, call, config):
        return True
    if call.get("status") != "missed":
        return False
    campaign = next((c for c in config.campaigns if c.name == call.get("campaign")), None)
    return campaign is not None and user.extension in campaign.ring


def visible_calls(tracker, flt: CallFilter, user: User, config: Config) -> list[dict]:
    """The calls matching `flt` that `user` may see (staff: their extension's, see may_see)."""
    if user.is_owner:
        return tracker.calls(flt)
    mine = dataclasses.replace(flt, extension=user.extension or "-")
    calls = [call for call in tracker.calls(mine) if may_see(user, call, config)]
    if flt.extension is None and flt.status in (None, "answered") \
            and flt.direction in (None, "inbound"):
        # answered on a forwarded mobile: no extension of theirs in the call, yet theirs to claim
        unclaimed = dataclasses.replace(flt, status="answered", direction="inbound")
        seen = {call["id"] for call in calls}
        calls += [call for call in tracker.calls(unclaimed)
                  if call["id"] not in seen and claimable(user, call, config)]
        calls.sort(key=lambda call: (call["started_at"], call["id"]), reverse=True)
    return calls


def may_wrap_up(user: User, call: dict, config: Config | None = None) -> bool:
    """Owner: any call. Staff: their calls, and (given the config) calls they may claim."""
    return user.is_owner or involves(user, call) or (
        config is not None and claimable(user, call, config))


class Forbidden(Exception):
    """The user may not do this; `field` names what they may not touch."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def save(panel, user: User, call: dict, fields: dict) -> dict:
    """Check `user` may write this wrap-up, then have the tracker save it: the one path for the
    API, the pop-up and the history form. Raises Forbidden, BadInput, KeyError."""
    if not may_wrap_up(user, call, panel.config):
        raise Forbidden("id", "this call is not yours to wrap up")
    if "answered_by" in fields and not user.is_owner:
        # staff fix only their own part: "I took this one on my mobile"
        own = fields["answered_by"] == user.extension
        if not own or not (claimable(user, call, panel.config)
                           or call.get("answered_by") == user.extension):
            raise Forbidden("answered_by", "staff may only say they took a call nobody "
                                           "answered at a desk phone")
    category = fields.get("category")
    if category and category != (call.get("wrapup") or {}).get("category") \
            and category not in panel.prefs.categories():
        raise BadInput("category", "not one of the owner's categories")
    updated = panel.tracker.wrapup(call["id"], fields)
    panel.suggestions.forget()
    return updated


def call_value(config: Config, call: dict) -> float:
    """The contract's value: the wrap-up's, else the campaign's lead value for a target call."""
    if "value" in call and call["value"] is not None:
        return float(call["value"])
    wrap = call.get("wrapup") or {}
    if wrap.get("value") is not None:
        return float(wrap["value"])
    if call.get("target") and call.get("direction") == "inbound":
        campaign = next((c for c in config.campaigns if c.name == call.get("campaign")), None)
        return campaign.lead_value if campaign else 0.0
    return 0.0


def ended_at(call: dict) -> datetime | None:
    try:
        if call.get("ended_at"):
            return datetime.fromisoformat(call["ended_at"])
        start = datetime.fromisoformat(call["started_at"])
    except (KeyError, TypeError, ValueError):
        return None
    wait = call.get("wait_seconds") or 0
    talk = call.get("talk_seconds") or 0
    return start + timedelta(seconds=wait + talk)


def pending_wrapups(tracker, user: User, today, now: datetime) -> list[dict]:
    """The user's answered calls that ended in the last PENDING_MINUTES, with no wrap-up yet."""
    if not user.extension:
        return []
    flt = CallFilter(start=today - timedelta(days=1), end=today, status="answered",
                     extension=user.extension)
    found = []
    for call in tracker.calls(flt):
        if call.get("wrapup") or not involves(user, call):
            continue
        end = ended_at(call)
        if end is None or end > now or now - end > timedelta(minutes=PENDING_MINUTES):
            continue
        found.append(call)
        if len(found) == 5:
            break
    return found


class TagSuggestions:
    """Tags used on calls of the last SUGGESTION_DAYS, most used first, cached a minute."""

    def __init__(self, *, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, list[str]] | None = None

    def get(self, tracker, today) -> list[str]:
        now = self._clock()
        with self._lock:
            if self._cached and self._cached[0] > now:
                return self._cached[1]
        flt = CallFilter(start=today - timedelta(days=SUGGESTION_DAYS), end=today)
        counts: Counter[str] = Counter()
        for call in tracker.calls(flt):
            for tag in (call.get("wrapup") or {}).get("tags") or ():
                if isinstance(tag, str) and tag:
                    counts[tag] += 1
        tags = [tag for tag, _ in counts.most_common(30)]
        with self._lock:
            self._cached = (now + _SUGGESTION_TTL, tags)
        return tags

    def forget(self) -> None:
        """Drop the cached answer (a wrap-up may have added tags)."""
        with self._lock:
            self._cached = None


def parse_amount(text: str) -> float | str:
    """A typed amount ("1 250,50", "1,250.50", "300") as a number, else the text as it is
    (the tracker then names the field). i18n.parse_amount reads it, as for the settings."""
    try:
        return float(i18n.parse_amount(text))
    except ValueError:
        return text


def form_fields(form, *, owner: bool) -> dict:
    """A wrap-up from an HTML form (all strings) as the API's JSON fields.

    Text that is not a number is passed on as it is, so the tracker's BadInput names the field.
    """
    fields: dict = {}
    rating = form.get("rating", "").strip()
    if rating:
        fields["rating"] = int(rating) if rating.lstrip("-").isdigit() and len(rating) < 4 \
            else rating
    fields["tags"] = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
    fields["category"] = form.get("category", "").strip()
    fields["comment"] = form.get("comment", "").strip()
    value = form.get("value", "").strip()
    if value:
        fields["value"] = parse_amount(value)
    if owner and form.get("answered_by", "").strip():
        fields["answered_by"] = form["answered_by"].strip()
    elif not owner and form.get("claim", "").strip():    # "I took this call": save() checks
        fields["answered_by"] = form["claim"].strip()
    return fields
