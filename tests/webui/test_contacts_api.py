"""Contacts through the JSON API, as CONTRACT.md "Contacts and the sales funnel" states it."""

import hashlib
import io

import pytest
from openpyxl import Workbook

import webui_helpers as h

OWNER = h.basic(h.OWNER, h.OWNER_PW)
STAFF = h.basic(h.STAFF, h.STAFF_PW)
CONTACT_KEYS = ["id", "name", "company", "numbers", "email", "campaign", "stage",
                "next_contact_at", "owner", "priority", "value", "lost_reason", "notes",
                "created_at", "updated_at"]


def create(client, body, headers=OWNER):
    return client.post("/api/contacts", json=body, headers=headers)


def xlsx(*rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, campaign: str = "", path="/api/contacts/import"):
    return client.post(path, headers=OWNER, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "contacts.xlsx"), "campaign": campaign})


def test_create_list_and_search(client):
    answer = create(client, {"name": "Anna Nowak", "company": "Zdrój",
                             "numbers": ["501 234 567"], "email": "anna@example.com"})
    assert answer.status_code == 201
    anna = answer.get_json()
    assert list(anna) == CONTACT_KEYS
    assert anna["numbers"] == [h.MOBILE] and anna["stage"] == "new"
    assert anna["created_at"].endswith(("+01:00", "+02:00"))
    create(client, {"name": "Bob", "company": "Sklep", "numbers": [h.FIXED]})
    names = lambda q: [c["name"] for c in client.get(  # noqa: E731
        "/api/contacts", query_string={"q": q}, headers=STAFF).get_json()["contacts"]]
    assert names("") == ["Anna Nowak", "Bob"]
    assert names("zdr") == ["Anna Nowak"] and names("sklep") == ["Bob"]
    assert names("22 111") == ["Bob"] and names("+48501234567") == ["Anna Nowak"]
    stage = client.get("/api/contacts?stage=won", headers=OWNER).get_json()["contacts"]
    assert stage == []
    assert client.get("/api/contacts?stage=done", headers=OWNER).get_json()["field"] == "stage"


def test_a_number_belongs_to_one_contact(client):
    anna = create(client, {"name": "Anna", "numbers": [h.MOBILE]}).get_json()
    answer = create(client, {"name": "Other", "numbers": ["+48 501 234 567"]})
    assert answer.status_code == 409
    assert answer.get_json()["field"] == "numbers"
    assert answer.get_json()["contact"] == {"id": anna["id"], "name": "Anna"}
    bob = create(client, {"name": "Bob"}).get_json()
    answer = client.patch(f"/api/contacts/{bob['id']}", json={"numbers": [h.MOBILE]},
                          headers=OWNER)
    assert answer.status_code == 409
    assert len(client.get("/api/contacts", headers=OWNER).get_json()["contacts"]) == 2


@pytest.mark.parametrize("body, field", [
    ({"stage": "in_progress"}, "next_contact_at"),
    ({"stage": "lost"}, "lost_reason"),
    ({"stage": "won", "value": "lots"}, "value"),
    ({"numbers": ["call me"]}, "numbers"),
    ({"shoe_size": 44}, "shoe_size"),
    ({"owner": "nobody"}, "owner"),
])
def test_bad_changes_are_400_naming_the_field(client, body, field):
    anna = create(client, {"name": "Anna", "numbers": [h.MOBILE]}).get_json()
    answer = client.patch(f"/api/contacts/{anna['id']}", json=body, headers=OWNER)
    assert answer.status_code == 400 and answer.get_json()["field"] == field
    assert answer.get_json()["error"]
    assert client.get(f"/api/contacts/{anna['id']}", headers=OWNER).get_json() == anna


def test_junk_requests(client):
    assert create(client, {"company": ""}).get_json()["field"] == "name"
    assert client.post("/api/contacts", data="x", headers=OWNER).get_json()["field"] == "body"
    assert client.patch("/api/contacts/c999", json={}, headers=OWNER).status_code == 404
    assert client.patch("/api/contacts/" + "x" * 300, json={}, headers=OWNER).status_code == 404
    assert client.get("/api/contacts?q=" + "x" * 101, headers=OWNER).status_code == 400


def test_the_funnel_moves_and_keeps_who_and_when(client):
    anna = create(client, {"name": "Anna", "numbers": [h.MOBILE]}).get_json()
    url = f"/api/contacts/{anna['id']}"
    moved = client.patch(url, json={"stage": "in_progress",
                                    "next_contact_at": "2031-06-04T10:00:00+02:00"},
                         headers=STAFF).get_json()
    assert moved["stage"] == "in_progress"
    assert moved["next_contact_at"] == "2031-06-04T10:00:00+02:00"
    client.patch(url, json={"stage": "offered"}, headers=STAFF)
    lost = client.patch(url, json={"stage": "lost", "lost_reason": "Too expensive"},
                        headers=OWNER).get_json()
    assert lost["lost_reason"] == "Too expensive"
    won = client.patch(url, json={"stage": "won", "value": 2500}, headers=OWNER).get_json()
    assert won["value"] == 2500 and won["lost_reason"] == ""
    note = client.post(f"{url}/notes", json={"text": "Signed"}, headers=STAFF)
    assert note.status_code == 201
    events = client.get(f"{url}/timeline", headers=OWNER).get_json()["events"]
    assert [(e["kind"], e.get("stage"), e["by"]) for e in events] == [
        ("note", None, h.STAFF), ("stage", "won", h.OWNER), ("stage", "lost", h.OWNER),
        ("stage", "offered", h.STAFF), ("stage", "in_progress", h.STAFF),
        ("stage", "new", h.OWNER)]
    assert events[4]["next_contact_at"] == "2031-06-04T10:00:00+02:00"
    changes = client.get(f"{url}/changes", headers=OWNER).get_json()["changes"]
    assert len(changes) == 6 and all(c["at"] and c["by"] for c in changes)


def test_the_owner_edits_the_lost_reasons(client):
    assert client.put("/api/lost-reasons", json={"lost_reasons": ["Moved away"]},
                      headers=STAFF).status_code == 403
    answer = client.put("/api/lost-reasons", json={"lost_reasons": ["Moved away", " "]},
                        headers=OWNER)
    assert answer.get_json() == {"lost_reasons": ["Moved away"]}
    anna = create(client, {"name": "Anna"}).get_json()
    bad = client.patch(f"/api/contacts/{anna['id']}",
                       json={"stage": "lost", "lost_reason": "Too expensive"}, headers=OWNER)
    assert bad.status_code == 400 and bad.get_json()["field"] == "lost_reason"


def test_staff_assign_only_themselves(client):
    assert create(client, {"name": "A", "owner": h.OTHER}, STAFF).status_code == 403
    assert create(client, {"name": "A", "owner": h.STAFF}, STAFF).status_code == 201
    assert create(client, {"name": "B", "owner": h.OTHER}, OWNER).status_code == 201


def test_calls_carry_their_contact_everywhere(client, seeded):
    anna = create(client, {"name": "Anna", "numbers": [h.MOBILE]}).get_json()
    create(client, {"name": "Mia", "numbers": [h.MOBILE2]})
    calls = client.get("/api/calls", headers=OWNER).get_json()["calls"]
    contacts = {c["caller"]: c["contact"] for c in calls}
    assert contacts[h.MOBILE] == {"id": anna["id"], "name": "Anna"}
    assert contacts[h.FIXED] is None
    [waiting] = [c for c in client.get("/api/callbacks", headers=OWNER).get_json()["callbacks"]
                 if c["number"] == h.MOBILE2]
    assert waiting["contact"]["name"] == "Mia"
    export = client.get("/api/calls.csv", headers=OWNER).get_data(as_text=True)
    assert export.splitlines()[0].endswith(",contact") and ",Anna\r\n" in export
    events = client.get(f"/api/contacts/{anna['id']}/timeline", headers=OWNER).get_json()
    [call] = [e for e in events["events"] if e["kind"] == "call"]
    assert call["caller"] == h.MOBILE and call["at"] == call["started_at"]
    assert call["contact"]["id"] == anna["id"]


def test_tasks_list_callbacks_and_follow_ups(client, seeded):
    anna = create(client, {"name": "Anna", "numbers": ["+48601111111"], "owner": h.OTHER,
                           "stage": "in_progress",
                           "next_contact_at": "2001-01-01T10:00:00"}).get_json()
    create(client, {"name": "Later", "stage": "in_progress",
                    "next_contact_at": "2099-01-01T10:00:00"})
    tasks = client.get("/api/tasks", headers=OWNER).get_json()["tasks"]
    assert [(t["kind"], t["overdue"]) for t in tasks] == [
        ("follow_up", True), ("callback", True), ("callback", True), ("follow_up", False)]
    assert tasks[0]["contact"] == {"id": anna["id"], "name": "Anna"}
    assert tasks[0]["due_at"] == "2001-01-01T10:00:00+01:00"
    assert tasks[0]["number"] == "+48601111111"
    assert set(tasks[1]) >= {"kind", "number", "contact", "due_at", "overdue"}
    staff = client.get("/api/tasks", headers=STAFF).get_json()["tasks"]
    assert [t["contact"]["name"] for t in staff if t["kind"] == "follow_up"] == ["Later"]


def test_the_funnel_report(client):
    anna = create(client, {"name": "Anna", "campaign": "Shop window"}).get_json()
    create(client, {"name": "Bob", "stage": "lost", "lost_reason": "Too expensive"})
    client.patch(f"/api/contacts/{anna['id']}", json={"stage": "won", "value": 900},
                 headers=OWNER)
    assert client.get("/api/funnel", headers=STAFF).status_code == 403
    figures = client.get("/api/funnel", headers=OWNER).get_json()
    assert figures["stages"] == {"new": 0, "in_progress": 0, "offered": 0, "won": 1, "lost": 1}
    assert figures["by_campaign"][0] == {"name": "Shop window", "contacts": 1, "won": 1,
                                         "lost": 0, "value": 900.0}
    assert figures["lost_reasons"] == [{"reason": "Too expensive", "count": 1}]
    assert figures["avg_days_to_won"] == 0.0
    assert client.get("/api/funnel?from=2020-01-01&to=2020-01-31",
                      headers=OWNER).get_json()["stages"]["won"] == 0
    assert client.get("/api/funnel?from=junk", headers=OWNER).get_json()["field"] == "from"


def test_import_matches_by_number_and_lists_rejected_rows(client):
    create(client, {"name": "Anna", "email": "anna@example.com", "numbers": [h.MOBILE]})
    data = xlsx(("Imię i nazwisko", "Firma", "Telefon", "Telefon 2", "E-mail"),
                ("Anna Nowak", "Zdrój", "501 234 567", None, None),
                ("Cleo", None, "22 333 44 55", "+48 601 999 999", "cleo@example.com"),
                ("Dan", None, "no phone", None, None))
    preview = upload(client, data, path="/api/contacts/import/preview").get_json()
    assert preview["rows"] == 3
    assert [c["field"] for c in preview["columns"]] == ["name", "company", "phone", "phone",
                                                      "email"]
    assert client.get("/api/contacts", headers=OWNER).get_json()["contacts"][0]["name"] == \
        "Anna"                                                # a preview changes nothing
    answer = upload(client, data, "Newspaper")
    assert answer.get_json() == {"imported": 1, "updated": 1, "rejected": [
        {"row": 4, "error": "not a phone number: no phone"}]}
    found = {c["name"]: c for c in client.get("/api/contacts", headers=OWNER)
             .get_json()["contacts"]}
    assert found["Anna Nowak"]["email"] == "anna@example.com"
    assert found["Anna Nowak"]["company"] == "Zdrój"
    assert found["Cleo"]["numbers"] == ["+48223334455", "+48601999999"]
    assert found["Cleo"]["campaign"] == "Newspaper" and found["Cleo"]["stage"] == "new"
    again = upload(client, data, "Newspaper").get_json()
    assert again["imported"] == 0 and again["updated"] == 2


def test_an_unreadable_file_changes_nothing(client):
    answer = upload(client, b"PK\x03\x04 junk")
    assert answer.status_code == 400 and answer.get_json()["field"] == "file"
    assert upload(client, xlsx(("Name",), ("A",)), "Radio").get_json()["field"] == "campaign"
    no_file = client.post("/api/contacts/import", headers=OWNER, data={"campaign": ""})
    assert no_file.get_json()["field"] == "file"
    assert client.get("/api/contacts", headers=OWNER).get_json()["contacts"] == []
    staff = client.post("/api/contacts/import", headers=STAFF, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(xlsx(("Name",), ("A",))), "a.xlsx")})
    assert staff.status_code == 403


def test_a_spreadsheet_bigger_than_the_form_limit_is_accepted(client):
    rows = [(f"Person {hashlib.sha256(str(n).encode()).hexdigest()}", f"+4850{n:07d}")
            for n in range(3000)]
    data = xlsx(("Name", "Phone"), *rows)
    assert len(data) > 64 * 1024
    assert upload(client, data).get_json()["imported"] == 3000


def test_the_session_needs_the_csrf_token(owner):
    assert owner.post("/api/contacts", json={"name": "A"}).status_code == 400
    token = h.csrf_from(owner.get("/contacts").get_data(as_text=True))
    assert owner.post("/api/contacts", json={"name": "A"},
                      headers={"X-CSRFToken": token}).status_code == 201


def test_an_upload_over_the_limit_is_refused_whole(client, monkeypatch):
    from firmware.webui import contacts_api

    monkeypatch.setattr(contacts_api, "UPLOAD_LIMIT", 100_000)
    answer = upload(client, b"PK" + b"x" * 150_000)
    assert answer.status_code == 413 and answer.get_json()["error"]
    assert client.get("/api/contacts", headers=OWNER).get_json()["contacts"] == []
