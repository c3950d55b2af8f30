"""Every API parameter given junk: 400 with {"error", "field"}, and nothing changes."""

import pytest

import webui_helpers as h
from firmware.tracker.query import CallFilter

OWNER = h.basic(h.OWNER, h.OWNER_PW)
LIST_PATHS = ("/api/calls", "/api/calls.csv", "/api/calls.xlsx")


def state(tracker):
    return tracker.calls(CallFilter()), tracker.callbacks()


@pytest.mark.parametrize("query, field", [
    ("from=yesterday", "from"), ("to=2024-02-30", "to"), ("from=2024-1-1", "from"),
    ("from=2024-05-02&to=2024-05-01", "from"), ("from=1900-01-01&to=2024-01-01", "from"),
    ("from=" + "9" * 5000, "from"),
])
def test_summary_period_junk(client, seeded, query, field):
    before = state(seeded)
    answer = client.get(f"/api/summary?{query}", headers=OWNER)
    assert answer.status_code == 400
    assert answer.get_json()["field"] == field and answer.get_json()["error"]
    assert state(seeded) == before


@pytest.mark.parametrize("path", LIST_PATHS)
@pytest.mark.parametrize("query, field", [
    ("from=soon", "from"), ("to=2024-99-01", "to"), ("from=2024-05-02&to=2024-05-01", "from"),
    ("status=lost", "status"), ("direction=sideways", "direction"),
    ("extension=abc", "extension"), ("extension=1234567", "extension"),
    ("number=not-a-number", "number"), ("number=12", "number"),
    ("campaign=" + "x" * 101, "campaign"), ("source=" + "x" * 101, "source"),
])
def test_call_filter_junk(client, seeded, path, query, field):
    before = state(seeded)
    answer = client.get(f"{path}?{query}", headers=OWNER)
    assert answer.status_code == 400
    assert answer.get_json()["field"] == field
    assert state(seeded) == before


@pytest.mark.parametrize("body, field", [
    ({"rating": -1}, "rating"), ({"rating": 6}, "rating"), ({"rating": "5"}, "rating"),
    ({"rating": 2.5}, "rating"), ({"rating": True}, "rating"),
    ({"tags": "price"}, "tags"), ({"tags": [1]}, "tags"), ({"tags": [""]}, "tags"),
    ({"tags": ["x" * 41]}, "tags"), ({"tags": [f"t{n}" for n in range(21)]}, "tags"),
    ({"category": 5}, "category"), ({"category": "Not a category"}, "category"),
    ({"comment": 5}, "comment"), ({"comment": "x" * 2001}, "comment"),
    ({"value": -1}, "value"), ({"value": "100"}, "value"), ({"value": None}, "value"),
    ({"value": 1e13}, "value"),
    ({"answered_by": "999"}, "answered_by"), ({"answered_by": 101}, "answered_by"),
    ({"rating": 4, "shoe_size": 42}, "shoe_size"),
    ({"rating": 4, "value": -5}, "value"),      # one bad field: the good one is not saved
])
def test_wrapup_junk(client, seeded, body, field):
    call = next(c for c in seeded.calls(CallFilter()) if c["status"] == "answered")
    before = state(seeded)
    answer = client.post(f"/api/calls/{call['id']}/wrapup", json=body, headers=OWNER)
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["field"] == field
    assert state(seeded) == before


@pytest.mark.parametrize("data, content_type", [
    ("[1, 2]", "application/json"), ("{not json", "application/json"),
    ('"text"', "application/json"), ("rating=4", "application/x-www-form-urlencoded"),
    ("NaN", "application/json"),
])
def test_wrapup_body_junk(client, seeded, data, content_type):
    call = seeded.calls(CallFilter())[0]
    before = state(seeded)
    answer = client.post(f"/api/calls/{call['id']}/wrapup", data=data,
                         content_type=content_type, headers=OWNER)
    assert answer.status_code == 400 and answer.get_json()["field"] == "body"
    assert state(seeded) == before


def test_wrapup_nan_value(client, seeded):
    call = seeded.calls(CallFilter())[0]
    before = state(seeded)
    answer = client.post(f"/api/calls/{call['id']}/wrapup", data='{"value": NaN}',
                         content_type="application/json", headers=OWNER)
    assert answer.status_code == 400 and answer.get_json()["field"] == "value"
    assert state(seeded) == before


@pytest.mark.parametrize("call_id", ["nope", "x" * 500, "../../etc", "%00"])
def test_wrapup_unknown_call(client, seeded, call_id):
    before = state(seeded)
    answer = client.post(f"/api/calls/{call_id}/wrapup", json={"rating": 3}, headers=OWNER)
    assert answer.status_code == 404 and answer.get_json()["error"]
    assert state(seeded) == before


@pytest.mark.parametrize("number, body, status, field", [
    ("not-a-number", {"reason": "Spam"}, 400, "number"),
    ("1" * 40, {"reason": "Spam"}, 400, "number"),
    ("{waiting}", {}, 400, "reason"),
    ("{waiting}", {"reason": ""}, 400, "reason"),
    ("{waiting}", {"reason": "   "}, 400, "reason"),
    ("{waiting}", {"reason": 5}, 400, "reason"),
    ("{waiting}", {"reason": "x" * 201}, 400, "reason"),
    ("{waiting}", {"reason": "Spam", "by": "eve"}, 400, "by"),
    ("+48111222333", {"reason": "Spam"}, 404, None),
])
def test_dismiss_junk(client, seeded, number, body, status, field):
    waiting = seeded.callbacks()[0]["number"]
    before = state(seeded)
    answer = client.post(f"/api/callbacks/{number.format(waiting=waiting)}/dismiss",
                         json=body, headers=OWNER)
    assert answer.status_code == status
    if field:
        assert answer.get_json()["field"] == field
    assert state(seeded) == before


def test_dismiss_body_must_be_json(client, seeded):
    waiting = seeded.callbacks()[0]["number"]
    answer = client.post(f"/api/callbacks/{waiting}/dismiss", data={"reason": "Spam"},
                         headers=OWNER)
    assert answer.status_code == 400 and answer.get_json()["field"] == "body"
    assert seeded.queue_size() == 2


def test_dismiss_number_in_national_form(client, seeded):
    waiting = seeded.callbacks()[0]["number"]        # "+48..." -> "0048..." works too
    answer = client.post(f"/api/callbacks/00{waiting[1:]}/dismiss", json={"reason": "Spam"},
                         headers=OWNER)
    assert answer.status_code == 200 and seeded.queue_size() == 1


def test_too_big_body(client, seeded):
    call = seeded.calls(CallFilter())[0]
    answer = client.post(f"/api/calls/{call['id']}/wrapup", headers=OWNER,
                         data='{"comment": "' + "x" * 100_000 + '"}',
                         content_type="application/json")
    assert answer.status_code == 413 and answer.get_json()["error"]
