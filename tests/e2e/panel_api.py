"""The box's HTTP API as an end-to-end test reads it: what a person or a script would check.

A call through the running box is over for a test when `/api/calls` lists it, which happens a
moment after the SIP exchange ends (the tracker records on its own thread, fsync'd). So tests
poll: `wait_call(box, direction="inbound", status="answered", answered_by="101")` returns the
first listed call whose fields equal those given, or fails with what the API listed.

`make_owner(data_dir)` creates the panel owner before the box starts (straight into the user
store: no CLI round trip); the box needs `box.web_port` set by its fixture.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from pathlib import Path

from firmware.webui.users import UserStore

OWNER, OWNER_PW = "owner", "owner-e2e-password-1"


def make_owner(data_dir: Path, user: str = OWNER, password: str = OWNER_PW) -> None:
    """An owner account in `data_dir`, for HTTP Basic against the box about to start there."""
    UserStore(data_dir).set_password(user, password, "owner")


def api(box, path: str, user: str = OWNER, password: str = OWNER_PW) -> dict:
    """GET `path` on the box's panel with HTTP Basic; the decoded JSON answer."""
    request = urllib.request.Request(f"http://127.0.0.1:{box.web_port}{path}")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def calls(box, auth: tuple[str, str] = (OWNER, OWNER_PW)) -> list[dict]:
    """Every call `/api/calls` lists (no period: all of them), newest first."""
    return api(box, "/api/calls", *auth)["calls"]


def wait_call(box, timeout: float = 15.0, auth: tuple[str, str] = (OWNER, OWNER_PW),
              **expected) -> dict:
    """The newest call whose fields equal `expected`, polled until listed or `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        listed = calls(box, auth)
        for call in listed:
            if all(call.get(key) == value for key, value in expected.items()):
                return call
        if time.monotonic() > deadline:
            raise AssertionError(f"no call with {expected} in /api/calls: {listed}")
        time.sleep(0.1)
