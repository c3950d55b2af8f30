"""When to try a delivery next: pure functions of the outbox's items and `now`.

Why pure: the schedule spans days (24 h for webhooks, 72 h for GA4), so the tests drive it
with a frozen clock instead of waiting. The outbox holds the items; the sender asks `choose`
what to send now and `after_attempt` what the answer means.

Rules:
- delays grow 30 s, 1 min, 2 min, ... and stay at 1 h once there (MAX_DELAY);
- a receiver that is down (no connection, a timeout, 3xx, 408, 429, 5xx) holds its whole
  target until the failed item's next try, so 1,000 waiting calls cost one probe per step,
  not 1,000; a 4xx is about that one item, so only it waits and the others go on;
- items with the same target and key (the call id) go in the order they were added: one
  waits while an earlier one is still pending;
- an item is given up (state "failed") when its next try would fall after its `expires`
  time, or when that time passes while it waits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

FIRST_DELAY = 30.0
MAX_DELAY = 3600.0
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass
class Item:
    """One delivery: what to send where, and how it went so far."""

    id: str
    target: str               # "webhook:<url>" or "ga4"
    key: str                  # order is kept per (target, key): the call id
    event: str
    body: str                 # exactly the bytes signed and sent, on every try
    created: float
    expires: float
    seq: int = 0
    tries: int = 0
    next_at: float = 0.0
    state: str = PENDING
    last_at: float | None = None
    last_status: int | None = None
    last_error: str = ""
    response: str = ""
    extra: dict = field(default_factory=dict)


def retry_delay(tries: int) -> float:
    """Seconds to wait after the `tries`-th failed try (1-based)."""
    return min(FIRST_DELAY * 2 ** max(0, min(tries - 1, 20)), MAX_DELAY)


def success(status: int | None) -> bool:
    return status is not None and 200 <= status <= 299


def target_down(status: int | None) -> bool:
    """Whether an answer says the receiver as a whole is not taking deliveries now."""
    return status is None or status < 200 or 300 <= status <= 399 or status in (408, 429) \
        or status >= 500


def after_attempt(item: Item, status: int | None, now: float) -> tuple[str, float]:
    """(state, next_at) once a try that got `status` (None: no answer) is over."""
    if success(status):
        return DELIVERED, now
    next_at = now + retry_delay(item.tries + 1)
    if next_at >= item.expires:
        return FAILED, now
    return PENDING, next_at


def expired(items: Iterable[Item], now: float) -> list[Item]:
    """Pending items whose time is up: to be marked failed."""
    return [i for i in items if i.state == PENDING and now >= i.expires]


def choose(items: Iterable[Item], holds: Mapping[str, float], now: float) -> Item | None:
    """The next item to send now, in the order items were added; None when nothing is due."""
    blocked: set[tuple[str, str]] = set()
    for item in items:
        if item.state != PENDING or now >= item.expires:
            continue
        order = (item.target, item.key)
        if order in blocked:
            continue
        blocked.add(order)
        if holds.get(item.target, 0.0) > now or item.next_at > now:
            continue
        return item
    return None


def next_wake(items: Iterable[Item], holds: Mapping[str, float], now: float) -> float | None:
    """When `choose` may next have something (None: nothing is pending)."""
    blocked: set[tuple[str, str]] = set()
    soonest: float | None = None
    for item in items:
        if item.state != PENDING or (item.target, item.key) in blocked:
            continue
        blocked.add((item.target, item.key))
        at = max(item.next_at, holds.get(item.target, 0.0))
        soonest = at if soonest is None else min(soonest, at)
    return soonest
