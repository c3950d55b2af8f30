"""The contacts, tasks and funnel pages: forms with CSRF, the same rules as the API, names on
the call pages, the wrap-up moving the caller's stage in the same step."""

import io

from openpyxl import Workbook

import webui_helpers as h

OWNER = h.basic(h.OWNER, h.OWNER_PW)


def token(client, path="/contacts"):
    return h.csrf_from(client.get(path).get_data(as_text=True))


def make(client, **body):
    answer = client.post("/api/contacts", json=body, headers=OWNER)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_the_list_searches_and_links_to_the_card(owner):
    anna = make(owner, name="Anna Nowak", company="Zdrój", numbers=[h.MOBILE])
    make(owner, name="Bob", numbers=[h.FIXED])
    page = owner.get("/contacts?q=zdr").get_data(as_text=True)
    assert "Anna Nowak" in page and "Bob" not in page
    assert f'/contacts/{anna["id"]}' in page
    page = owner.get("/contacts?q=22+111").get_data(as_text=True)
    assert "Bob" in page and "Anna Nowak" not in page
    assert "No contact matches." in owner.get("/contacts?q=nobody").get_data(as_text=True)


def test_create_edit_and_the_409_in_the_form(owner):
    csrf = token(owner, "/contacts/new")
    answer = owner.post("/contacts/new", data={
        "csrf_token": csrf, "name": "Anna", "company": "", "numbers": "501 234 567, 22 111 11 11",
        "email": "", "campaign": "Shop window", "owner": h.STAFF, "priority": "high",
        "notes": "Walk-in", "stage": "new"})
    assert answer.status_code == 303
    card_url = answer.headers["Location"]
    card = owner.get(card_url).get_data(as_text=True)
    assert "Anna" in card and "Walk-in" in card and "Shop window" in card
    twice = owner.post("/contacts/new", data={"csrf_token": csrf, "name": "Again",
                                              "numbers": "+48501234567"})
    assert twice.status_code == 409 and "already belongs to Anna" in twice.get_data(as_text=True)
    bad = owner.post(card_url + "/edit", data={"csrf_token": csrf, "name": "Anna",
                                               "email": "nope"})
    assert bad.status_code == 400 and 'data-field="email"' in bad.get_data(as_text=True)
    saved = owner.post(card_url + "/edit", data={"csrf_token": csrf, "name": "Anna N.",
                                                 "numbers": "501234567", "priority": "normal"})
    assert saved.status_code == 303
    assert "Anna N." in owner.get(card_url).get_data(as_text=True)
    assert owner.post("/contacts/new", data={"name": "x"}).status_code == 400   # no CSRF


def test_the_card_moves_the_stage_and_keeps_notes(owner):
    anna = make(owner, name="Anna", numbers=[h.MOBILE])
    url = f"/contacts/{anna['id']}"
    csrf = token(owner, url)
    missing = owner.post(url + "/stage", data={"csrf_token": csrf, "stage": "in_progress",
                                               "next_contact_at": ""})
    assert missing.status_code == 400
    assert 'data-field="next_contact_at"' in missing.get_data(as_text=True)
    moved = owner.post(url + "/stage", data={"csrf_token": csrf, "stage": "in_progress",
                                             "next_contact_at": "2031-06-04T10:00"})
    assert moved.status_code == 303
    owner.post(url + "/note", data={"csrf_token": csrf, "note": "Wants a quote"})
    card = owner.get(url).get_data(as_text=True)
    assert "Wants a quote" in card and "In progress" in card and "04/06/2031" in card   # en reader, PL box
    assert owner.get("/api/contacts/" + anna["id"], headers=OWNER).get_json()[
        "next_contact_at"] == "2031-06-04T10:00:00+02:00"


def test_save_caller_as_contact_from_the_call_page(owner, seeded):
    call = _call(seeded, h.MOBILE)
    page = owner.get(f"/calls/{call['id']}").get_data(as_text=True)
    assert "Save caller as contact" in page
    answer = owner.post(f"/calls/{call['id']}/contact",
                        data={"csrf_token": h.csrf_from(page), "name": "Anna"})
    assert answer.status_code == 303
    contact = owner.get("/api/contacts?q=Anna", headers=OWNER).get_json()["contacts"][0]
    assert contact["numbers"] == [h.MOBILE] and contact["campaign"] == "Shop window"
    page = owner.get(f"/calls/{call['id']}").get_data(as_text=True)
    assert "Save caller as contact" not in page and f'/contacts/{contact["id"]}' in page
    assert "Anna" in owner.get("/calls").get_data(as_text=True)


def _call(tracker, number):
    from firmware.tracker.query import CallFilter
    return next(c for c in tracker.calls(CallFilter()) if c["caller"] == number)


def test_the_wrap_up_saves_the_caller_and_moves_the_stage(staff, seeded):
    call = _call(seeded, h.MOBILE)
    form = staff.get(f"/calls/{call['id']}/wrapup-form").get_data(as_text=True)
    assert 'name="contact_name"' in form and 'name="contact_stage"' in form
    csrf = token(staff, f"/calls/{call['id']}")
    bad = staff.post(f"/calls/{call['id']}/wrapup", data={
        "csrf_token": csrf, "rating": "4", "comment": "ok", "contact_name": "Anna",
        "contact_stage": "in_progress", "contact_next_contact_at": ""})
    assert bad.status_code == 400
    assert staff.get("/api/contacts", headers=OWNER).get_json()["contacts"] == []
    assert _call(seeded, h.MOBILE)["wrapup"] is None            # nothing half-saved
    good = staff.post(f"/calls/{call['id']}/wrapup", data={
        "csrf_token": csrf, "rating": "4", "comment": "ok", "contact_name": "Anna",
        "contact_stage": "in_progress", "contact_next_contact_at": "2031-01-02T09:30"})
    assert good.status_code == 302
    [anna] = staff.get("/api/contacts", headers=OWNER).get_json()["contacts"]
    assert anna["stage"] == "in_progress" and anna["numbers"] == [h.MOBILE]
    assert _call(seeded, h.MOBILE)["wrapup"]["rating"] == 4
    form = staff.get(f"/calls/{call['id']}/wrapup-form").get_data(as_text=True)
    assert 'name="contact_name"' not in form and "Anna" in form
    staff.post(f"/calls/{call['id']}/wrapup", data={
        "csrf_token": csrf, "rating": "5", "contact_stage": "won", "contact_value": "1 200,50"})
    won = staff.get(f"/api/contacts/{anna['id']}", headers=OWNER).get_json()
    assert won["stage"] == "won" and won["value"] == 1200.5


def test_tasks_page_and_take_the_next_one(staff, seeded):
    make(staff, name="Overdue", stage="in_progress", next_contact_at="2001-01-01T10:00",
         numbers=["+48601111111"])
    page = staff.get("/tasks").get_data(as_text=True)
    assert "Overdue" in page and "overdue" in page and "Call back" in page
    answer = staff.post("/tasks/next", data={"csrf_token": h.csrf_from(page)})
    assert answer.status_code == 303 and "/contacts/c1" in answer.headers["Location"]
    assert staff.get("/api/contacts/c1", headers=OWNER).get_json()["owner"] == h.STAFF


def xlsx(*rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_import_preview_then_import(owner):
    page = owner.get("/contacts/import").get_data(as_text=True)
    data = xlsx(("Имя", "Телефон", "Цвет"), ("Иван", "+359 2 123 4567", "red"),
                ("Пётр", "junk", None))
    preview = owner.post("/contacts/import/preview", content_type="multipart/form-data", data={
        "csrf_token": h.csrf_from(page), "campaign": "Newspaper",
        "file": (io.BytesIO(data), "people.xlsx")})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Иван" in text and "ignored" in text
    assert owner.get("/api/contacts", headers=OWNER).get_json()["contacts"] == []
    stash = text.split('name="token" value="')[1].split('"')[0]
    done = owner.post("/contacts/import/run", data={
        "csrf_token": h.csrf_from(text), "token": stash, "campaign": "Newspaper"})
    result = done.get_data(as_text=True)
    assert 'data-imported="1"' in result and "not a phone number: junk" in result
    again = owner.post("/contacts/import/run", data={
        "csrf_token": h.csrf_from(text), "token": stash, "campaign": "Newspaper"})
    assert again.status_code == 400                              # a preview imports once
    [ivan] = owner.get("/api/contacts", headers=OWNER).get_json()["contacts"]
    assert ivan["numbers"] == ["+35921234567"] and ivan["campaign"] == "Newspaper"


def test_import_and_funnel_are_the_owners(staff):
    assert staff.get("/contacts/import").status_code == 403
    assert staff.get("/funnel").status_code == 403
    assert staff.get("/contacts").status_code == 200


def test_funnel_page_and_lost_reasons(owner):
    make(owner, name="Bob", stage="lost", lost_reason="Too expensive")
    page = owner.get("/funnel").get_data(as_text=True)
    assert "Too expensive" in page
    owner.post("/funnel/reasons", data={"csrf_token": h.csrf_from(page),
                                        "reasons": "Moved away\nToo expensive\n"})
    assert owner.get("/api/lost-reasons", headers=OWNER).get_json()["lost_reasons"] == [
        "Moved away", "Too expensive"]


def test_pages_in_polish(owner):
    make(owner, name="Anna", stage="offered")
    owner.set_cookie("lang", "pl")
    assert "Oferta przedstawiona" in owner.get("/contacts").get_data(as_text=True)
    assert "Zadania" in owner.get("/tasks").get_data(as_text=True)
    assert "Lejek sprzedaży" in owner.get("/funnel").get_data(as_text=True)
    assert "Za drogo" in owner.get("/contacts/c1").get_data(as_text=True)


def test_the_funnel_exports_as_csv_and_xlsx(owner):
    from openpyxl import load_workbook

    make(owner, name="Bob", stage="lost", lost_reason="Too expensive",
         campaign="Shop window")
    csv_text = owner.get("/funnel/export.csv").get_data(as_text=True)
    lines = csv_text.splitlines()
    assert lines[0] == "section,name,contacts,won,lost,value"
    assert "campaign,Shop window,1,0,1,0.0" in lines
    assert "lost reason,Too expensive,1,,," in lines
    book = load_workbook(io.BytesIO(owner.get("/funnel/export.xlsx").get_data()))
    assert list(book.active.values)[0] == ("section", "name", "contacts", "won", "lost", "value")
    assert owner.get("/funnel/export.pdf").status_code == 404
    assert owner.get("/funnel/export.csv?from=junk").status_code == 400


def test_the_call_list_finds_a_contacts_calls_by_name_or_company(owner, seeded):
    make(owner, name="Anna Nowak", company="Zdrój", numbers=[h.MOBILE])
    by_name = owner.get("/calls?number=anna").get_data(as_text=True)
    by_company = owner.get("/calls?number=zdr%C3%B3j").get_data(as_text=True)
    everyone = owner.get("/calls").get_data(as_text=True)
    shown = lambda page: page.count('class="dir ')
    from firmware.tracker.query import CallFilter
    mine = [c for c in seeded.calls(CallFilter()) if h.MOBILE in (c["caller"], c["callee"])]
    assert shown(by_name) == shown(by_company) == len(mine)
    assert 0 < shown(by_name) < shown(everyone)
    assert shown(owner.get("/calls?number=nobody").get_data(as_text=True)) == 0
