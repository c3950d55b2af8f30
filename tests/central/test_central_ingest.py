"""/api/ingest: per-site tokens, idempotent upserts keyed by (site, call id), bad input."""

from __future__ import annotations

import logging

import psycopg

from tests.central.conftest import TOKENS
from tests.tracker import tracker_events as te

KRAKOW = "Kraków"


def records():
    cfg = te.config()
    return [r.to_doc() if hasattr(r, "to_doc") else dict(r) for r in te.pure_records(
        cfg, te.inbound(te.at(2024, 5, 6, 10)), te.inbound(te.at(2024, 5, 6, 11), talk=None),
        te.outbound(te.at(2024, 5, 6, 12)))]


def post(client, entries, site=KRAKOW, token=None, **extra):
    body = {"site": site, "timezone": "Europe/Warsaw", "version": "0.1.0",
            "entries": entries, **extra}
    return client.post("/api/ingest", json=body, headers={
        "Authorization": f"Bearer {token or TOKENS[site]}"})


def stored(dsn):
    with psycopg.connect(dsn) as conn:
        return {row[0]: row[1:] for row in conn.execute(
            "SELECT call_id, seq, status, value, doc FROM calls")}


def test_records_are_stored_once_however_often_they_come(central_client, pg_dsn):
    docs = records()
    entries = [{"seq": n, "kind": "call", "record": doc} for n, doc in enumerate(docs, 1)]
    answer = post(central_client, entries)
    assert answer.status_code == 200
    assert answer.json == {"accepted": 3, "refused": [], "upto": 3}
    assert post(central_client, entries).status_code == 200          # a retry
    assert post(central_client, entries[::-1]).status_code == 200    # any order
    rows = stored(pg_dsn)
    assert sorted(rows) == sorted(d["id"] for d in docs)
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT calls FROM sites").fetchone()[0] == 3


def test_a_newer_version_replaces_an_older_one_never_the_reverse(central_client, pg_dsn):
    doc = records()[0]
    wrapped = {**doc, "value": 999.0, "wrapup": {"rating": 5, "at": doc["ended_at"] + 10}}
    assert post(central_client, [{"seq": 10, "kind": "call", "record": doc}]).status_code == 200
    assert post(central_client, [{"seq": 11, "kind": "call",
                                  "record": wrapped}]).status_code == 200
    assert post(central_client, [{"seq": 10, "kind": "call", "record": doc}]).status_code == 200
    seq, _, value, stored_doc = stored(pg_dsn)[doc["id"]]
    assert (seq, value, stored_doc["wrapup"]["rating"]) == (11, 999.0, 5)


def test_fields_of_a_newer_box_version_are_kept(central_client, pg_dsn):
    doc = {**records()[0], "handled_by": ["101", "102"], "recording": "/rec/1.ogg"}
    assert post(central_client, [{"seq": 1, "kind": "call", "record": doc}]).status_code == 200
    assert stored(pg_dsn)[doc["id"]][3]["handled_by"] == ["101", "102"]


def test_a_wrong_token_is_refused_and_logged(central_client, pg_dsn, caplog):
    caplog.set_level(logging.WARNING)
    entries = [{"seq": 1, "kind": "call", "record": records()[0]}]
    assert post(central_client, entries, token="not-the-token-at-all").status_code == 401
    no_header = central_client.post("/api/ingest", json={"site": KRAKOW, "entries": []})
    assert no_header.status_code == 401
    assert "wrong or missing token" in caplog.text
    # Gdańsk's token cannot write Kraków's calls.
    wrong_site = post(central_client, entries, token=TOKENS["Gdańsk"])
    assert wrong_site.status_code == 403 and wrong_site.json["field"] == "site"
    assert stored(pg_dsn) == {}


def test_bad_entries_are_refused_alone_and_bad_batches_whole(central_client, pg_dsn):
    good = records()[0]
    answer = post(central_client, [
        {"seq": 1, "kind": "call", "record": good},
        {"seq": 2, "kind": "call", "record": {"id": "x"}},                 # no times
        {"seq": 3, "kind": "call", "record": {**good, "id": "y", "caller": 5}},
        {"seq": 4, "kind": "weather"},
        {"seq": "5", "kind": "call", "record": good},
        {"seq": 6, "kind": "call", "record": {**good, "id": "z", "status": "lost"}},
        {"seq": 7, "kind": "call", "record": {**good, "id": "n", "extra": float("nan")}},
    ])
    assert answer.status_code == 200
    assert answer.json["accepted"] == 1
    assert [r["index"] for r in answer.json["refused"]] == [1, 2, 3, 4, 5, 6]
    assert "NaN" in answer.json["refused"][-1]["error"]
    assert list(stored(pg_dsn)) == [good["id"]]
    for body in ("not json", {"site": KRAKOW}, {"site": KRAKOW, "entries": {}},
                 {"site": KRAKOW, "entries": [], "timezone": "Mars/Olympus"}):
        kwargs = {"json": body} if isinstance(body, dict) else {"data": body}
        bad = central_client.post("/api/ingest", headers={
            "Authorization": f"Bearer {TOKENS[KRAKOW]}"}, **kwargs)
        assert bad.status_code == 400 and "error" in bad.json


def test_the_callback_queue_keeps_the_newest_snapshot(central_client, pg_dsn):
    first = [{"number": "+48501234567", "missed_calls": 1, "campaign": "Shop window",
              "first_missed_at": "2024-05-06T11:00:00+02:00",
              "last_missed_at": "2024-05-06T11:00:00+02:00"}]
    assert post(central_client, [{"seq": 5, "kind": "queue", "callbacks": first}]
                ).status_code == 200
    assert post(central_client, [{"seq": 4, "kind": "queue", "callbacks": []}]
                ).status_code == 200                                # late and old: ignored
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT entries FROM callback_queues").fetchone()[0] == first
    assert post(central_client, [{"seq": 6, "kind": "queue", "callbacks": []}]
                ).status_code == 200
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT entries FROM callback_queues").fetchone()[0] == []


CONTACT = {"id": "c1", "name": "Anna Nowak", "company": "", "numbers": ["+48501234567"],
           "email": "", "campaign": "Shop window", "stage": "new", "next_contact_at": None,
           "owner": "", "priority": "normal", "value": None, "lost_reason": "", "notes": "",
           "created_at": 1714986000.0, "created_by": "anna", "updated_at": 1714986000.0}


def contacts_stored(dsn):
    with psycopg.connect(dsn) as conn:
        return {row[0]: row[1:] for row in conn.execute(
            "SELECT contact_id, seq, stage, doc FROM contacts")}


def test_contacts_are_upserts_that_only_take_newer_versions(central_client, pg_dsn):
    offered = {**CONTACT, "stage": "offered", "updated_at": 1714990000.0,
               "score": 7}                                    # a newer box's field: kept
    assert post(central_client, [{"seq": 1, "kind": "contact", "contact": CONTACT},
                                 {"seq": 3, "kind": "contact", "contact": offered}]
                ).json["accepted"] == 2
    assert post(central_client, [{"seq": 2, "kind": "contact", "contact": CONTACT}]
                ).status_code == 200                          # late and old: ignored
    assert post(central_client, [{"seq": 3, "kind": "contact", "contact": offered}]
                ).status_code == 200                          # a replay
    seq, stage, doc = contacts_stored(pg_dsn)["c1"]
    assert (seq, stage, doc["score"]) == (3, "offered", 7)
    central_client.application.extensions["central"].users.set_password(
        "anna", "a-long-password", "owner")
    import base64
    auth = {"Authorization": "Basic " + base64.b64encode(b"anna:a-long-password").decode()}
    listed = central_client.get("/api/contacts?site=Krak%C3%B3w", headers=auth).json
    assert [(c["id"], c["stage"], c["site"], c["created_at"]) for c in listed["contacts"]] == [
        ("c1", "offered", KRAKOW, "2024-05-06T11:00:00+02:00")]
    assert central_client.get("/api/contacts?stage=maybe", headers=auth).status_code == 400


def test_bad_contacts_and_campaign_sets_are_refused_alone(central_client, pg_dsn):
    answer = post(central_client, [
        {"seq": 1, "kind": "contact", "contact": {**CONTACT, "id": ""}},
        {"seq": 2, "kind": "contact", "contact": {**CONTACT, "numbers": "+48501234567"}},
        {"seq": 3, "kind": "contact", "contact": {**CONTACT, "updated_at": "yesterday"}},
        {"seq": 4, "kind": "campaigns", "campaigns": [{"name": "A"}, {"name": "A"}]},
        {"seq": 5, "kind": "campaigns", "campaigns": [{"name": "B", "cost_per_month": -1}]},
        {"seq": 6, "kind": "campaigns", "campaigns": {"name": "C"}},
        {"seq": 7, "kind": "campaigns", "campaigns": [{"name": "D", "cost_per_month": 9}]},
    ])
    assert answer.status_code == 200 and answer.json["accepted"] == 1
    assert [r["index"] for r in answer.json["refused"]] == [0, 1, 2, 3, 4, 5]
    assert contacts_stored(pg_dsn) == {}
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT campaigns FROM site_campaigns").fetchone()[0] == [
            {"name": "D", "cost_per_month": 9}]
