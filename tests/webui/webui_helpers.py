"""Shared helpers for the web panel tests: the test config, calls as events, sign-in."""

from __future__ import annotations

import base64
import itertools
import re
import time

from argon2 import PasswordHasher

from firmware.config import parse_config
from firmware.pbx import events as ev

SHOP = "+48221234567"      # campaign "Shop window", source "Outdoor", lead value 300
PAPER = "+48221234568"     # campaign "Newspaper", source "Print", lead value 100
MOBILE = "+48501234567"
MOBILE2 = "+48601234567"
FIXED = "+48221111111"

OWNER, OWNER_PW = "olga", "owner-pass-1"
STAFF, STAFF_PW = "sam", "staff-pass-1"
OTHER, OTHER_PW = "tom", "staff-pass-2"

CONFIG = f"""
[box]
name = "Hotel Zdroj"
timezone = "Europe/Warsaw"
country = "PL"
currency = "PLN"

[[extension]]
number = "101"
name = "Reception"
password = "secret-101"

[[extension]]
number = "102"
name = "Sales"
password = "secret-102"

[[campaign]]
name = "Shop window"
number = "{SHOP}"
source = "Outdoor"
lead_value = 300
ring = ["101", "102"]

[[campaign]]
name = "Newspaper"
number = "{PAPER}"
source = "Print"
lead_value = 100
ring = ["101"]
"""

_ids = itertools.count(1)

# Cheap argon2 parameters: the tests sign in hundreds of times.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def english_client(app):
    """A test client whose browser asks for English (the test box is in Poland)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def config():
    return parse_config(CONFIG, "<test>")


def inbound(start: float, caller: str = MOBILE, dialled: str = SHOP, *, ring: float = 5,
            talk: float | None = 60, by: str = "101") -> list:
    """An inbound call: answered by `by` after `ring` s, talked `talk` s; missed when talk=None."""
    call_id = f"w{next(_ids)}"
    events = [ev.CallOffered(call_id, dialled, caller, start, "provider"),
              ev.CallRinging(call_id, "101", start + 0.5)]
    if talk is None:
        events.append(ev.CallEnded(call_id, ev.CALLER_HANGUP, start + ring))
    else:
        events += [ev.CallAnswered(call_id, by, start + ring),
                   ev.CallEnded(call_id, ev.COMPLETED, start + ring + talk)]
    return events


def feed(tracker, *sequences) -> None:
    for event in sorted((e for seq in sequences for e in seq), key=lambda e: e.at):
        tracker.submit(event)
    tracker.flush()


def seed(tracker, now: float | None = None) -> None:
    """Five calls within the last hour: three answered (101, 101, 102), two missed, both
    campaigns. Just after midnight some fall on yesterday, so tests use the 7-day default."""
    now = now or time.time()
    feed(tracker,
         inbound(now - 3000, MOBILE, SHOP, talk=90, by="101"),
         inbound(now - 2500, FIXED, PAPER, talk=20, by="101"),
         inbound(now - 2000, MOBILE2, SHOP, talk=None),
         inbound(now - 1500, "+48221231234", SHOP, talk=45, by="102"),
         inbound(now - 1000, "+48221239876", PAPER, talk=None))


def basic(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html) or \
        re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client, user: str, password: str):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"user": user, "password": password, "csrf_token": token})


def page_token(client, path: str = "/calls") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))
