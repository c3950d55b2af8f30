"""Staff fix "who answered" on a call they took on a forwarded mobile (issue 21), through the
API and the call's page. A fixed day of May 2024 (never today)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import webui_helpers as h
from firmware.pbx import events as ev
from firmware.tracker.query import CallFilter

OWNER = h.basic(h.OWNER, h.OWNER_PW)
SAM = h.basic(h.STAFF, h.STAFF_PW)       # extension 101: rung by both campaigns
TOM = h.basic(h.OTHER, h.OTHER_PW)       # extension 102: rung by Shop window only
DAY = "from=2024-05-06&to=2024-05-06"


def at(hour):
    return datetime(2024, 5, 6, hour, tzinfo=ZoneInfo("Europe/Warsaw")).timestamp()


def forwarded(start, dialled, call_id):
    """Answered by a mobile the call was forwarded to: no extension answered."""
    return [ev.CallOffered(call_id, dialled, h.MOBILE, start, "provider"),
            ev.CallAnswered(call_id, "", start + 6), ev.CallEnded(call_id, ev.COMPLETED,
                                                                 start + 100)]


@pytest.fixture
def calls(tracker):
    h.feed(tracker, forwarded(at(20), h.SHOP, "fwd-shop"),
           forwarded(at(21), h.PAPER, "fwd-paper"),
           h.inbound(at(10), h.MOBILE2, h.SHOP, by="102"), h.inbound(at(11), h.FIXED, by="101"))
    found = {}
    for call in tracker.calls(CallFilter()):
        key = "shop" if call["started_at"][11:13] == "20" else \
            "paper" if call["started_at"][11:13] == "21" else call["answered_by"]
        found[key] = call["id"]
    return found


def wrapup(client, call_id, headers, **fields):
    return client.post(f"/api/calls/{call_id}/wrapup", json=fields, headers=headers)


def test_staff_see_and_claim_a_forwarded_call(client, calls):
    listed = {c["id"] for c in client.get(f"/api/calls?{DAY}", headers=SAM).get_json()["calls"]}
    assert {calls["shop"], calls["paper"], calls["101"]} <= listed and calls["102"] not in listed
    assert wrapup(client, calls["shop"], SAM, answered_by="102").status_code == 403
    claimed = wrapup(client, calls["shop"], SAM, answered_by="101", rating=4)
    assert claimed.status_code == 200
    assert claimed.get_json()["answered_by"] == "101"
    assert claimed.get_json()["wrapup"]["rating"] == 4
    # claimed: no longer Tom's to see or claim
    assert client.get(f"/api/calls/{calls['shop']}", headers=TOM).status_code == 404
    assert wrapup(client, calls["shop"], TOM, answered_by="102").status_code == 404
    person = client.get(f"/api/calls?{DAY}&extension=101", headers=SAM).get_json()["calls"]
    assert calls["shop"] in {c["id"] for c in person}


def test_staff_claim_only_on_campaigns_that_ring_them(client, calls):
    tom = {c["id"] for c in client.get(f"/api/calls?{DAY}", headers=TOM).get_json()["calls"]}
    assert calls["shop"] in tom and calls["paper"] not in tom
    assert wrapup(client, calls["paper"], TOM, answered_by="102").status_code == 404
    assert wrapup(client, calls["paper"], SAM, answered_by="101").status_code == 200


def test_staff_cannot_move_calls_answered_at_a_desk_phone(client, calls):
    assert wrapup(client, calls["101"], SAM, answered_by="101").status_code == 200
    assert wrapup(client, calls["101"], SAM, answered_by="102").status_code == 403
    assert wrapup(client, calls["102"], SAM, answered_by="101").status_code == 404
    assert wrapup(client, calls["102"], OWNER, answered_by="101").get_json()["answered_by"] == "101"


def test_the_call_page_offers_the_claim_and_the_rating_scale(client, calls):
    assert h.sign_in(client, h.STAFF, h.STAFF_PW).status_code == 302
    page = client.get(f"/calls/{calls['shop']}").get_data(as_text=True)
    assert "I took this call (forwarded to my mobile)" in page
    assert "0: no chance" in page and "5: ready to sign" in page
    token = h.csrf_from(page)
    answer = client.post(f"/calls/{calls['shop']}/wrapup",
                         data={"csrf_token": token, "claim": "101", "rating": "5"})
    assert answer.status_code == 302
    page = client.get(f"/calls/{calls['shop']}").get_data(as_text=True)
    assert "I took this call" not in page
    call = client.get(f"/api/calls/{calls['shop']}", headers=SAM).get_json()
    assert call["answered_by"] == "101" and call["wrapup"]["rating"] == 5
