"""The owner's users page: add, change a password, remove; sessions end; the last owner stays."""

import json

import pytest

import webui_helpers as h
from firmware.webui.i18n import translations
from firmware.webui.users import UserError
from webui_helpers import english_client

PAGE = "/settings/users"
NEW_PW = "fresh-pass-9"


def snapshot(users):
    """users.json as it is on disk (hashes and generations included)."""
    return json.loads(users.path.read_text())["users"]


def add(client, **form):
    data = {"user": "ula", "role": "staff", "extension": "102", "password": NEW_PW,
            "confirm": NEW_PW, "csrf_token": h.page_token(client, PAGE)}
    data.update(form)
    return client.post(PAGE, data=data)


def signed_in(app, name, password):
    client = english_client(app)
    assert h.sign_in(client, name, password).status_code == 302
    return client


def signed_out(client) -> bool:
    answer = client.get("/calls")
    return answer.status_code == 302 and answer.headers["Location"].startswith("/login")


def test_owner_sees_users_and_forms(owner):
    html = owner.get(PAGE).get_data(as_text=True)
    for name in (h.OWNER, h.STAFF, h.OTHER):
        assert f"/settings/users/{name}/password" in html
    assert f"/settings/users/{h.STAFF}/delete" in html
    assert f"/settings/users/{h.OWNER}/delete" not in html     # no remove button for yourself
    assert '<option value="101">101 · Reception</option>' in html
    assert '<option value="102">102 · Sales</option>' in html
    assert 'href="/settings/users"' in owner.get("/settings/categories").get_data(as_text=True)


def test_owner_adds_staff_who_can_then_sign_in(owner, app, users):
    answer = add(owner)
    assert answer.status_code == 303 and answer.headers["Location"] == PAGE
    assert "User ula saved." in owner.get(PAGE).get_data(as_text=True)
    ula = users.get("ula")
    assert (ula.role, ula.extension) == ("staff", "102")
    client = english_client(app)
    answer = h.sign_in(client, "ula", NEW_PW)
    assert answer.status_code == 302 and answer.headers["Location"] == "/calls"


def test_adding_is_logged_without_the_password(owner, caplog):
    with caplog.at_level("INFO", logger="firmware.webui.team"):
        add(owner)
    lines = [r.getMessage() for r in caplog.records if r.name == "firmware.webui.team"]
    assert lines == ["olga added panel user ula (staff, extension 102)"]
    assert NEW_PW not in caplog.text


@pytest.mark.parametrize("form, message", [
    ({"password": "wrong-pass-1"}, "The two passwords differ."),
    ({"password": "short", "confirm": "short"}, "The password needs at least 8 characters"),
    ({"password": "x" * 201, "confirm": "x" * 201}, "The password may have at most 200"),
    ({"extension": ""}, "A staff user needs an extension"),
    ({"extension": "109"}, "Choose one of the box&#39;s extensions."),
    ({"extension": "101\n"}, "Choose one of the box&#39;s extensions."),
    ({"user": "x" * 10_000}, "User names are 1-32 letters"),
    ({"user": "ula\x00x"}, "User names are 1-32 letters"),
    ({"user": "ula\r\nSet-Cookie: a=b"}, "User names are 1-32 letters"),
    ({"user": ""}, "User names are 1-32 letters"),
    ({"role": "admin"}, "The role is owner or staff"),
    ({"role": "x" * 10_000}, "The role is owner or staff"),
], ids=["mismatch", "short", "long", "no-extension", "unknown-extension", "extension-newline",
        "long-name", "nul-name", "crlf-name", "empty-name", "admin", "long-role"])
def test_bad_new_user_refused_and_nothing_changed(owner, users, form, message):
    before = snapshot(users)
    answer = add(owner, **form)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert 'role="alert" data-field' in html and message in html
    assert snapshot(users) == before


def test_messages_on_the_page_have_polish():
    """The store's and the page's refusals are shown translated (the test of _() literals in
    test_i18n cannot see messages raised as UserError)."""
    for message in ("the role is owner or staff", "an extension is 2 to 6 digits",
                    "a staff user needs an extension (their desk phone)",
                    "the last owner cannot become staff", "the last owner cannot be removed"):
        assert translations("pl").ugettext(message) != message, message


def test_staff_get_403_everywhere(staff, users):
    before = snapshot(users)
    token = h.page_token(staff)
    assert staff.get(PAGE).status_code == 403
    form = {"user": "eve", "role": "owner", "password": NEW_PW, "confirm": NEW_PW,
            "csrf_token": token}
    assert staff.post(PAGE, data=form).status_code == 403
    assert staff.post(f"{PAGE}/{h.OWNER}/password", data=form).status_code == 403
    assert staff.post(f"{PAGE}/{h.OTHER}/delete", data={"csrf_token": token}).status_code == 403
    assert staff.post(f"{PAGE}/{h.STAFF}/password", data=form).status_code == 403
    assert snapshot(users) == before


def test_signed_out_visitors_go_to_sign_in(client):
    answer = client.get(PAGE)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")


@pytest.mark.parametrize("path, form", [
    (PAGE, {"user": "eve", "role": "owner", "password": NEW_PW, "confirm": NEW_PW}),
    (f"{PAGE}/{h.STAFF}/password", {"password": NEW_PW, "confirm": NEW_PW}),
    (f"{PAGE}/{h.STAFF}/delete", {}),
], ids=["add", "password", "delete"])
def test_posts_without_csrf_token_are_refused(owner, users, path, form):
    before = snapshot(users)
    answer = owner.post(path, data=form)
    assert answer.status_code == 400 and "expired" in answer.get_data(as_text=True)
    assert snapshot(users) == before


def test_password_change_ends_their_session_and_the_new_one_works(owner, app, users):
    sam = signed_in(app, h.STAFF, h.STAFF_PW)
    assert sam.get("/calls").status_code == 200
    answer = owner.post(f"{PAGE}/{h.STAFF}/password",
                        data={"password": NEW_PW, "confirm": NEW_PW,
                              "csrf_token": h.page_token(owner, PAGE)})
    assert answer.status_code == 303 and answer.headers["Location"] == PAGE
    assert signed_out(sam)
    assert users.verify(h.STAFF, h.STAFF_PW) is None
    signed_in(app, h.STAFF, NEW_PW)
    assert users.get(h.STAFF).extension == "101"      # role and extension kept
    assert owner.get(PAGE).status_code == 200         # the owner is still signed in


def test_bad_password_change_refused(owner, users):
    before = snapshot(users)
    token = h.page_token(owner, PAGE)
    answer = owner.post(f"{PAGE}/{h.STAFF}/password",
                        data={"password": NEW_PW, "confirm": "other-pass-1", "csrf_token": token})
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert "The two passwords differ." in html and "<details open>" in html
    answer = owner.post(f"{PAGE}/{h.STAFF}/password",
                        data={"password": "short", "confirm": "short", "csrf_token": token})
    assert answer.status_code == 400 and "at least 8" in answer.get_data(as_text=True)
    answer = owner.post(f"{PAGE}/nobody/password",
                        data={"password": NEW_PW, "confirm": NEW_PW, "csrf_token": token})
    assert answer.status_code == 404
    assert snapshot(users) == before


def test_owner_changing_own_password_keeps_this_session_only(owner, app, users):
    elsewhere = signed_in(app, h.OWNER, h.OWNER_PW)
    answer = owner.post(f"{PAGE}/{h.OWNER}/password",
                        data={"password": NEW_PW, "confirm": NEW_PW,
                              "csrf_token": h.page_token(owner, PAGE)})
    assert answer.status_code == 303
    assert owner.get(PAGE).status_code == 200
    assert signed_out(elsewhere)
    assert users.verify(h.OWNER, NEW_PW) is not None


def test_owner_cannot_remove_themselves(owner, app, users):
    users.set_password("otto", NEW_PW, "owner")          # not the last owner, still refused
    before = snapshot(users)
    answer = owner.post(f"{PAGE}/{h.OWNER}/delete", data={"csrf_token": h.page_token(owner, PAGE)})
    assert answer.status_code == 400
    assert "You cannot remove yourself" in answer.get_data(as_text=True)
    assert snapshot(users) == before


def test_last_owner_cannot_be_removed_or_demoted(owner, app, users):
    before = snapshot(users)
    answer = add(owner, user=h.OWNER, role="staff", extension="101")
    assert answer.status_code == 400 and "yourself staff" in answer.get_data(as_text=True)
    with pytest.raises(UserError, match="last owner"):         # the store refuses it too
        users.delete(h.OWNER)
    with pytest.raises(UserError, match="last owner"):
        users.set_password(h.OWNER, NEW_PW, "staff", "101")
    assert snapshot(users) == before
    # With a second owner, that one may demote and remove olga, but then not themselves.
    users.set_password("otto", NEW_PW, "owner")
    otto = signed_in(app, "otto", NEW_PW)
    assert add(otto, user=h.OWNER, role="staff", extension="101").status_code == 303
    assert users.get(h.OWNER).role == "staff" and signed_out(owner)
    answer = otto.post(f"{PAGE}/{h.OWNER}/delete", data={"csrf_token": h.page_token(otto, PAGE)})
    assert answer.status_code == 303 and users.get(h.OWNER) is None
    answer = add(otto, user="otto", role="staff", extension="101")
    assert answer.status_code == 400
    assert [u.name for u in users.all() if u.is_owner] == ["otto"]


def test_store_keeps_the_last_owner_even_when_asked_directly(users):
    users.set_password("otto", NEW_PW, "owner")
    users.delete("otto")
    with pytest.raises(UserError, match="last owner cannot be removed"):
        users.delete(h.OWNER)
    assert users.get(h.OWNER).is_owner


def test_removing_a_user_ends_their_session(owner, app, users, caplog):
    sam = signed_in(app, h.STAFF, h.STAFF_PW)
    assert sam.get("/calls").status_code == 200
    with caplog.at_level("INFO", logger="firmware.webui.team"):
        answer = owner.post(f"{PAGE}/{h.STAFF}/delete",
                            data={"csrf_token": h.page_token(owner, PAGE)})
    assert answer.status_code == 303 and answer.headers["Location"] == PAGE
    assert "User sam removed." in owner.get(PAGE).get_data(as_text=True)
    assert users.get(h.STAFF) is None and signed_out(sam)
    assert "olga removed panel user sam (staff)" in caplog.text
    assert h.sign_in(english_client(app), h.STAFF, h.STAFF_PW).status_code == 401
    assert owner.post(f"{PAGE}/{h.STAFF}/delete",
                      data={"csrf_token": h.page_token(owner, PAGE)}).status_code == 404


def test_a_new_user_with_a_removed_name_gets_no_old_sessions(owner, app, users):
    """Generations restart at 1 for a new name; a removed name's count is kept, so the old
    sam's cookie ("1:sam") does not sign in as the new sam."""
    old_sam = signed_in(app, h.STAFF, h.STAFF_PW)
    token = h.page_token(owner, PAGE)
    assert owner.post(f"{PAGE}/{h.STAFF}/delete", data={"csrf_token": token}).status_code == 303
    assert add(owner, user=h.STAFF, extension="102").status_code == 303
    assert users.get(h.STAFF).generation == 2
    assert signed_out(old_sam)
    signed_in(app, h.STAFF, NEW_PW)


def test_adding_an_existing_name_updates_them_and_ends_their_sessions(owner, app, users):
    tom = signed_in(app, h.OTHER, h.OTHER_PW)
    assert add(owner, user=h.OTHER, role="owner", extension="").status_code == 303
    tom_now = users.get(h.OTHER)
    assert tom_now.is_owner and tom_now.extension is None
    assert signed_out(tom)
    assert signed_in(app, h.OTHER, NEW_PW).get(PAGE).status_code == 200


def test_page_in_polish(owner):
    owner.get("/language/pl")
    html = owner.get(PAGE).get_data(as_text=True)
    assert "Dodaj użytkownika" in html and "Zmień hasło" in html
    answer = add(owner, role="admin")
    assert answer.status_code == 400 and "Rola to właściciel lub pracownik" in answer.get_data(
        as_text=True)
