"""First-run setup, sign-in, sign-out, throttling, CSRF, session cookie, roles on pages."""

import pytest

import webui_helpers as h
from webui_helpers import english_client
from firmware.webui.app import create_app


@pytest.fixture
def fresh(config, tracker, empty_users):
    """A client of a box with no users yet."""
    return english_client(create_app(config, tracker, empty_users, secret_key="s", testing=True))


def test_first_visit_asks_for_the_owner(fresh, empty_users):
    assert fresh.get("/").headers["Location"] == "/setup"
    assert fresh.get("/login").headers["Location"] == "/setup"
    page = fresh.get("/setup").get_data(as_text=True)
    token = h.csrf_from(page)
    answer = fresh.post("/setup", data={"user": "anna", "password": "long-password",
                                         "confirm": "long-password", "csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert empty_users.get("anna").is_owner
    assert fresh.get("/").status_code == 200                  # signed in straight away
    assert fresh.get("/setup").headers["Location"] == "/login"  # and setup is closed


@pytest.mark.parametrize("form, message", [
    ({"user": "anna", "password": "long-password", "confirm": "other-password"}, "differ"),
    ({"user": "anna", "password": "short", "confirm": "short"}, "at least 8"),
    ({"user": "a b", "password": "long-password", "confirm": "long-password"}, "user names"),
    ({"user": "", "password": "long-password", "confirm": "long-password"}, "Fill in"),
])
def test_setup_refuses_bad_input(fresh, empty_users, form, message):
    token = h.csrf_from(fresh.get("/setup").get_data(as_text=True))
    answer = fresh.post("/setup", data=dict(form, csrf_token=token))
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    assert not empty_users.has_users()


@pytest.mark.parametrize("host", ["rebind.attacker.example", "rebind.attacker.example:8080",
                                  "localhost.attacker.example", "bad host"])
def test_setup_under_a_foreign_name_is_refused(fresh, empty_users, host):
    """Issue 14.18: DNS rebinding must not claim a fresh box."""
    token = h.csrf_from(fresh.get("/setup").get_data(as_text=True))
    page = fresh.get("/setup", headers={"Host": host})
    assert page.status_code == 400 and "by its address" in page.get_data(as_text=True)
    answer = fresh.post("/setup", headers={"Host": host},
                        data={"user": "mallory", "password": "long-password",
                              "confirm": "long-password", "csrf_token": token})
    assert answer.status_code == 400
    assert not empty_users.has_users()


@pytest.mark.parametrize("host", ["192.168.1.20:8080", "[fe80::1]:8080", "localhost:8080"])
def test_setup_by_address_or_the_box_name_works(fresh, empty_users, host):
    page = fresh.get("/setup", headers={"Host": host})
    assert page.status_code == 200


def test_setup_without_csrf_token_is_refused(fresh, empty_users):
    fresh.get("/setup")
    answer = fresh.post("/setup", data={"user": "anna", "password": "long-password",
                                         "confirm": "long-password"})
    assert answer.status_code == 400 and "expired" in answer.get_data(as_text=True)
    assert not empty_users.has_users()


def test_sign_in_and_out(client):
    assert client.get("/").headers["Location"].startswith("/login")
    answer = h.sign_in(client, h.OWNER, h.OWNER_PW)
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200
    assert client.get("/logout").status_code == 405          # signing out is a POST
    token = h.page_token(client)
    assert client.post("/logout", data={}).status_code == 400  # without the token: refused
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_staff_land_on_their_calls(client):
    answer = h.sign_in(client, h.STAFF, h.STAFF_PW)
    assert answer.headers["Location"] == "/calls"
    assert client.get("/").headers["Location"] == "/calls"
    assert client.get("/dashboard/hours").status_code == 403
    assert client.get("/settings/categories").status_code == 403
    assert client.get("/callbacks").status_code == 200


def test_wrong_password(client):
    answer = h.sign_in(client, h.OWNER, "wrong-password")
    assert answer.status_code == 401
    assert "Wrong user name or password." in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_failed_sign_ins_are_throttled_per_address_and_user(client):
    for _ in range(5):
        assert h.sign_in(client, h.OWNER, "wrong-password").status_code == 401
    answer = h.sign_in(client, h.OWNER, h.OWNER_PW)          # even the right one waits
    assert answer.status_code == 429 and "Too many" in answer.get_data(as_text=True)
    assert h.sign_in(client, h.STAFF, h.STAFF_PW).status_code == 302


def test_a_guesser_elsewhere_cannot_lock_the_owner_out(client):
    """Issue 14.11: the owner's right password from another address gets in."""
    guesser = english_client(client.application)
    token = h.csrf_from(guesser.get("/login").get_data(as_text=True))
    for _ in range(8):
        guesser.post("/login", data={"user": h.OWNER, "password": "wrong-password",
                                     "csrf_token": token},
                     environ_base={"REMOTE_ADDR": "10.6.6.6"})
    answer = h.sign_in(client, h.OWNER, h.OWNER_PW)          # from 127.0.0.1
    assert answer.status_code == 302


def test_failed_sign_ins_are_throttled_per_address(client):
    for n in range(20):
        h.sign_in(client, f"nobody{n}", "wrong-password")
    assert h.sign_in(client, h.STAFF, h.STAFF_PW).status_code == 429
    other = english_client(client.application)
    token = h.csrf_from(other.get("/login").get_data(as_text=True))
    answer = other.post("/login", data={"user": h.STAFF, "password": h.STAFF_PW,
                                        "csrf_token": token},
                        environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert answer.status_code == 302


@pytest.mark.parametrize("target, expected", [
    ("/calls?status=missed", "/calls?status=missed"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
])
def test_sign_in_goes_back_only_to_our_pages(client, target, expected):
    token = h.csrf_from(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", query_string={"next": target},
                         data={"user": h.OWNER, "password": h.OWNER_PW, "csrf_token": token})
    assert answer.headers["Location"] == expected


def test_password_change_signs_out_old_sessions(owner, users):
    assert owner.get("/").status_code == 200
    users.set_password(h.OWNER, "a-new-password", "owner")
    assert owner.get("/").status_code == 302


def test_language_switch(owner):
    assert ">Answered<" in owner.get("/").get_data(as_text=True)
    answer = owner.get("/language/pl", query_string={"next": "/calls"})
    assert answer.headers["Location"] == "/calls"
    assert "Odebrane" in owner.get("/").get_data(as_text=True)
    assert owner.get("/language/xx").status_code == 404
    assert owner.get("/language/en?next=https://evil.example").headers["Location"] == "/"


def test_browser_language_is_the_default(client):
    page = client.get("/login", headers={"Accept-Language": "pl-PL,pl;q=0.9"})
    assert "Zaloguj" in page.get_data(as_text=True)
    page = client.get("/login", headers={"Accept-Language": "de-DE"})   # neither: the box's
    assert "Zaloguj" in page.get_data(as_text=True)


def test_security_headers(owner):
    answer = owner.get("/")
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Cache-Control"] == "no-store"


def test_secret_key_is_made_once_and_private(tmp_path):
    from firmware.webui.app import load_or_create_secret

    key = load_or_create_secret(tmp_path)
    assert len(key) >= 32 and load_or_create_secret(tmp_path) == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
