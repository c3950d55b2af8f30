"""The JSON API as CONTRACT.md states it: auth, shapes, roles, CSRF, exports."""

import csv
import io
import time

import pytest
from openpyxl import load_workbook

import webui_helpers as h
from firmware.tracker.query import parse_period

CALL_KEYS = {"id", "started_at", "direction", "caller", "callee", "campaign", "source",
             "status", "wait_seconds", "talk_seconds", "answered_by", "target", "first_time",
             "line_type", "wrapup"}
OWNER = h.basic(h.OWNER, h.OWNER_PW)
STAFF = h.basic(h.STAFF, h.STAFF_PW)


def test_healthz_needs_no_sign_in(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"sip": "ok", "trunks": {"provider": "registered"},
                                 "storage": "ok"}


@pytest.mark.parametrize("path", ["/api/summary", "/api/calls", "/api/callbacks",
                                  "/api/calls.csv", "/api/calls.xlsx", "/api/me/pending-wrapup"])
def test_api_needs_sign_in(client, path):
    answer = client.get(path)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
    assert answer.get_json()["error"]
    assert client.get(path, headers=h.basic(h.OWNER, "wrong-password")).status_code == 401
    assert client.get(path, headers=OWNER).status_code == 200


def test_basic_failures_are_throttled(client):
    for _ in range(5):
        assert client.get("/api/calls", headers=h.basic(h.OWNER, "nope-nope")).status_code == 401
    answer = client.get("/api/calls", headers=OWNER)
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0


def test_summary_is_the_trackers_summary(client, seeded, config):
    answer = client.get("/api/summary", headers=OWNER).get_json()
    start, end = parse_period({}, config)
    assert answer == seeded.summary(start, end)
    for key in ("answered", "missed", "to_call_back", "avg_wait_seconds", "target_calls",
                "first_time_callers", "top_campaigns", "top_sources", "calls_by_hour",
                "value_over_time", "caller_line_types"):
        assert key in answer
    assert answer["answered"] == 3 and answer["missed"] == 2 and answer["to_call_back"] == 2
    assert len(answer["calls_by_hour"]) == 24 and len(answer["value_over_time"]) == 7
    today = answer["value_over_time"][-1]["date"]
    one_day = client.get(f"/api/summary?from={today}&to={today}", headers=OWNER).get_json()
    assert len(one_day["value_over_time"]) == 1


def test_calls_and_filters(client, seeded):
    calls = client.get("/api/calls", headers=OWNER).get_json()["calls"]
    assert len(calls) == 5 and CALL_KEYS <= set(calls[0])
    assert calls[0]["started_at"] > calls[-1]["started_at"]          # newest first
    missed = client.get("/api/calls?status=missed", headers=OWNER).get_json()["calls"]
    assert {c["status"] for c in missed} == {"missed"} and len(missed) == 2
    paper = client.get("/api/calls?campaign=Newspaper", headers=OWNER).get_json()["calls"]
    assert len(paper) == 2
    assert len(client.get("/api/calls?source=Outdoor", headers=OWNER).get_json()["calls"]) == 3
    by_102 = client.get("/api/calls?extension=102", headers=OWNER).get_json()["calls"]
    assert [c["answered_by"] for c in by_102] == ["102"]
    number = client.get("/api/calls?number=0048501234567", headers=OWNER).get_json()["calls"]
    assert [c["caller"] for c in number] == [h.MOBILE]
    out = client.get("/api/calls?direction=outbound", headers=OWNER).get_json()["calls"]
    assert out == []
    one = client.get(f"/api/calls/{calls[0]['id']}", headers=OWNER).get_json()
    assert one["id"] == calls[0]["id"]
    assert client.get("/api/calls/nope", headers=OWNER).status_code == 404


def test_staff_see_their_own_calls_only(client, seeded):
    calls = client.get("/api/calls", headers=STAFF).get_json()["calls"]
    assert calls and all("101" in (c["answered_by"], c.get("extension")) or c["status"] == "missed"
                         for c in calls)
    assert all(c["answered_by"] != "102" for c in calls)
    answer = client.get("/api/calls?extension=102", headers=STAFF)
    assert answer.status_code == 403 and answer.get_json()["field"] == "extension"
    assert client.get("/api/summary", headers=STAFF).status_code == 403
    other = next(c for c in seeded.calls(h_filter()) if c["answered_by"] == "102")
    assert client.get(f"/api/calls/{other['id']}", headers=STAFF).status_code == 404
    assert client.post(f"/api/calls/{other['id']}/wrapup", json={"rating": 1},
                       headers=STAFF).status_code == 404
    assert seeded.call(other["id"])["wrapup"] is None
    rows = list(csv.reader(io.StringIO(
        client.get("/api/calls.csv", headers=STAFF).get_data(as_text=True))))
    assert len(rows) == len(calls) + 1


def h_filter():
    from firmware.tracker.query import CallFilter
    return CallFilter()


def _answered_by(tracker, ext):
    return next(c for c in tracker.calls(h_filter()) if c["answered_by"] == ext)


def test_wrapup_with_basic_auth_needs_no_csrf(client, seeded):
    call = _answered_by(seeded, "101")
    answer = client.post(f"/api/calls/{call['id']}/wrapup", headers=STAFF, json={
        "rating": 5, "tags": ["price"], "category": "Sale", "comment": "ok", "value": 450})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["id"] == call["id"] and CALL_KEYS <= set(body)
    assert body["wrapup"]["rating"] == 5 and body["wrapup"]["value"] == 450
    assert seeded.call(call["id"])["wrapup"]["tags"] == ["price"]


def test_staff_cannot_change_who_answered(client, seeded):
    call = _answered_by(seeded, "101")
    answer = client.post(f"/api/calls/{call['id']}/wrapup", headers=STAFF,
                         json={"answered_by": "102"})
    assert answer.status_code == 403 and answer.get_json()["field"] == "answered_by"
    assert seeded.call(call["id"])["answered_by"] == "101"


def test_owner_corrects_who_answered_and_value(client, seeded):
    call = _answered_by(seeded, "101")
    answer = client.post(f"/api/calls/{call['id']}/wrapup", headers=OWNER,
                         json={"answered_by": "102", "value": 1000})
    assert answer.status_code == 200
    assert seeded.call(call["id"])["answered_by"] == "102"
    assert seeded.call(call["id"])["value"] == 1000


def test_session_post_needs_the_csrf_header(staff, seeded):
    call = _answered_by(seeded, "101")
    url = f"/api/calls/{call['id']}/wrapup"
    answer = staff.post(url, json={"rating": 3})
    assert answer.status_code == 400 and answer.get_json()["field"] == "X-CSRFToken"
    assert seeded.call(call["id"])["wrapup"] is None
    token = h.page_token(staff)
    answer = staff.post(url, json={"rating": 3}, headers={"X-CSRFToken": token})
    assert answer.status_code == 200
    assert seeded.call(call["id"])["wrapup"]["rating"] == 3


def test_api_posts_must_be_json(client, seeded):
    call = _answered_by(seeded, "101")
    answer = client.post(f"/api/calls/{call['id']}/wrapup", headers=OWNER,
                         data={"rating": "3"})
    assert answer.status_code == 400 and answer.get_json()["field"] == "body"


def test_callbacks_and_dismiss(client, seeded):
    waiting = client.get("/api/callbacks", headers=STAFF).get_json()["callbacks"]
    assert len(waiting) == 2
    assert {"number", "missed_calls", "first_missed_at", "last_missed_at",
            "campaign"} <= set(waiting[0])
    number = waiting[0]["number"]
    answer = client.post(f"/api/callbacks/{number}/dismiss", headers=STAFF,
                         json={"reason": "Spam"})
    assert answer.status_code == 200
    assert [c["number"] for c in answer.get_json()["callbacks"]] == [waiting[1]["number"]]
    again = client.post(f"/api/callbacks/{number}/dismiss", headers=STAFF,
                        json={"reason": "Spam"})
    assert again.status_code == 404
    assert seeded.queue_size() == 1


def test_csv_export(client, seeded):
    answer = client.get("/api/calls.csv?status=answered", headers=OWNER)
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert len(rows) == 3 and {r["status"] for r in rows} == {"answered"}
    assert rows[-1]["caller"] == h.MOBILE                      # numbers stay E.164


def test_xlsx_export(client, seeded):
    answer = client.get("/api/calls.xlsx?campaign=Newspaper", headers=OWNER)
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.data)).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("id", "started_at", "direction") and len(rows) == 3
    assert {r[5] for r in rows[1:]} == {"Newspaper"}


def test_pending_wrapup_for_the_users_extension(client, tracker):
    now = time.time()
    h.feed(tracker, h.inbound(now - 100, h.MOBILE, talk=60, by="101"),
           h.inbound(now - 90, h.MOBILE2, talk=30, by="102"),
           h.inbound(now - 80, h.FIXED, talk=None))
    mine = client.get("/api/me/pending-wrapup", headers=STAFF).get_json()["calls"]
    assert [c["caller"] for c in mine] == [h.MOBILE]
    client.post(f"/api/calls/{mine[0]['id']}/wrapup", headers=STAFF, json={"rating": 4})
    assert client.get("/api/me/pending-wrapup", headers=STAFF).get_json()["calls"] == []
    owner_has_no_phone = client.get("/api/me/pending-wrapup", headers=OWNER).get_json()
    assert owner_has_no_phone["calls"] == []


def test_old_calls_are_not_pending(client, tracker):
    h.feed(tracker, h.inbound(time.time() - 3 * 3600, h.MOBILE, talk=60, by="101"))
    assert client.get("/api/me/pending-wrapup", headers=STAFF).get_json()["calls"] == []


def test_basic_auth_makes_no_session(client):
    answer = client.get("/api/calls", headers=OWNER)
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers


def test_basic_header_decides_alone(owner):
    """A signed-in browser sending a wrong Basic header is not let in by its cookie."""
    assert owner.get("/api/calls").status_code == 200
    assert owner.get("/api/calls", headers=h.basic(h.OWNER, "wrong-password")).status_code == 401


def test_a_busy_tracker_is_503(client, seeded, monkeypatch):
    call = seeded.calls(h_filter())[0]

    def slow(*args):
        raise TimeoutError()

    monkeypatch.setattr(seeded, "wrapup", slow)
    answer = client.post(f"/api/calls/{call['id']}/wrapup", json={"rating": 1}, headers=OWNER)
    assert answer.status_code == 503 and answer.get_json()["error"]


def _health_with_bans():
    return {"sip": "ok", "trunks": {}, "storage": "ok",
            "bans": [{"address": "203.0.113.66", "reason": "auth",
                      "until": "2024-05-01T14:00:00+02:00"},
                     {"address": "203.0.113.77", "reason": "flood",
                      "until": "2024-05-01T14:01:00+02:00"}],
            "ban_count": 2, "bans_by_reason": {"auth": 1, "flood": 1}}


@pytest.fixture
def banning_app(config, tracker, users):
    from firmware.webui.app import create_app
    return create_app(config, tracker, users, secret_key="test-secret", testing=True,
                      health=_health_with_bans)


def test_healthz_shows_strangers_only_ban_counts(banning_app):
    """Issue 14.16: the banned addresses are for the signed-in owner only."""
    client = h.english_client(banning_app)
    anonymous = client.get("/healthz").get_json()
    assert "bans" not in anonymous and "203.0.113.66" not in str(anonymous)
    assert anonymous["ban_count"] == 2 and anonymous["bans_by_reason"] == {"auth": 1,
                                                                           "flood": 1}
    assert h.sign_in(client, h.STAFF, h.STAFF_PW).status_code == 302
    assert "bans" not in client.get("/healthz").get_json()
    owner = h.english_client(banning_app)
    assert h.sign_in(owner, h.OWNER, h.OWNER_PW).status_code == 302
    assert [b["address"] for b in owner.get("/healthz").get_json()["bans"]] == \
        ["203.0.113.66", "203.0.113.77"]


def test_public_health_counts_a_list_without_counts():
    from firmware.webui.api import public_health
    health = {"sip": "ok", "bans": [{"address": "a", "reason": "scanner", "until": "x"}]}
    assert public_health(health, signed_in_owner=False) == {
        "sip": "ok", "ban_count": 1, "bans_by_reason": {"scanner": 1}}
    assert public_health(health, signed_in_owner=True)["bans"] == health["bans"]
