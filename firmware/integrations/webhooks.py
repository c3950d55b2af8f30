"""What a webhook delivery is on the wire (CONTRACT.md, "Integrations"; docs/webhooks.md).

    POST url
    X-Callbox-Delivery: dlv_...
    X-Callbox-Signature: t=1700000000,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
    {"event": "call.ended", "delivery": "dlv_...", "at": "2024-05-06T10:00:00+02:00", "data": {...}}

Pure: the body is made once when the event happens and kept in the outbox, so every try sends
the same bytes with the same delivery id; only `t` (and so `v1`) is fresh on each try.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

EVENTS = ("call.ended", "call.missed", "wrapup.saved", "callback.cleared", "contact.changed")
TEST_EVENT = "test"
TOLERANCE = 300     # seconds a receiver should accept between `t` and its own clock


def body(event: str, delivery: str, at: str, data: Any) -> str:
    return json.dumps({"event": event, "delivery": delivery, "at": at, "data": data},
                      ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def sign(secret: str, t: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{t}.".encode("ascii") + body, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


def headers(secret: str, delivery: str, body: bytes, now: float) -> dict[str, str]:
    return {"X-Callbox-Delivery": delivery,
            "X-Callbox-Signature": sign(secret, int(now), body)}


def verify(secret: str, header: str, body: bytes, now: float,
           tolerance: float = TOLERANCE) -> bool:
    """What a receiver does (docs/webhooks.md has it in Python and PHP)."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        t = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError):
        return False
    if abs(now - t) > tolerance:
        return False
    expected = sign(secret, t, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)
