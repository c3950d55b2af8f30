"""The GA4 Measurement Protocol event of an ended inbound campaign call (pure).

GA4 wants a `client_id` for every event. A phone call has no browser, so the box makes one
from the caller's number with a keyed hash (HMAC, key kept in the data folder): the same
caller gets the same id, and the number itself never leaves the box.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

MAX_AGE = 72 * 3600          # GA4 takes events up to 72 h old (timestamp_micros)


def wanted(event: str, call: dict[str, Any]) -> bool:
    """Whether a tracker event is a GA4 `phone_call`: an ended inbound campaign call."""
    return event == "call.ended" and call.get("direction") == "inbound" \
        and bool(call.get("campaign"))


def client_id(key: bytes, caller: str) -> str:
    digest = hmac.new(key, caller.encode("utf-8"), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:4], 'big')}.{int.from_bytes(digest[4:8], 'big')}"


def event_body(call: dict[str, Any], currency: str, key: bytes) -> str:
    ended = call.get("ended_at") or call["started_at"]
    micros = int(datetime.fromisoformat(ended).timestamp() * 1_000_000)
    params = {"campaign": call.get("campaign") or "", "source": call.get("source") or "",
              "status": call.get("status") or "", "duration": round(call.get("talk_seconds") or 0),
              "value": float(call.get("value") or 0), "currency": currency}
    return json.dumps({"client_id": client_id(key, call.get("caller") or ""),
                       "timestamp_micros": micros, "non_personalized_ads": True,
                       "events": [{"name": "phone_call", "params": params}]},
                      ensure_ascii=False, separators=(",", ":"))


def collect_url(endpoint: str, measurement_id: str, api_secret: str) -> str:
    sep = "&" if urlsplit(endpoint).query else "?"
    return f"{endpoint}{sep}measurement_id={quote(measurement_id)}&api_secret={quote(api_secret)}"


def debug_endpoint(endpoint: str) -> str:
    """GA4's validation server: the same path under /debug (".../debug/mp/collect")."""
    parts = urlsplit(endpoint)
    path = parts.path
    if "/debug/" not in path:
        path = path.replace("/mp/collect", "/debug/mp/collect") if "/mp/collect" in path \
            else "/debug" + path
    return urlunsplit(parts._replace(path=path))
