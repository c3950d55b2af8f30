"""Who reads in which language: the account's own language, else the browser's, else the box's;
the users page sets it; config problems and trunk states shown in the reader's language."""

import webui_helpers as h
from firmware.config import parse_config
from firmware.webui.app import create_app

TRUNK = '\n[[trunk]]\nname = "provider"\nhost = "sip.provider.example"\nusername = "4822"\n' \
        'password = "trunk-secret-1"\n'


def _sign_in_with(app, user, password, accept="en"):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    assert h.sign_in(client, user, password).status_code == 302
    return client


def test_the_accounts_language_wins_over_the_browser(app, users):
    users.set_language(h.STAFF, "pl")
    staff = _sign_in_with(app, h.STAFF, h.STAFF_PW, accept="en-GB,en;q=0.9")
    html = staff.get("/calls").get_data(as_text=True)
    assert '<html lang="pl">' in html and "Połączenia" in html


def test_without_a_choice_the_browser_then_the_box_decide(app, users):
    assert '<html lang="en">' in _sign_in_with(app, h.STAFF, h.STAFF_PW, "en").get(
        "/calls").get_data(as_text=True)
    assert '<html lang="pl">' in _sign_in_with(app, h.OTHER, h.OTHER_PW, "de-DE").get(
        "/calls").get_data(as_text=True)                         # neither: the box's (PL)


def test_the_footer_switch_is_stored_on_the_account(app, users, owner):
    owner.get("/language/pl?next=/")
    assert users.get(h.OWNER).language == "pl"
    elsewhere = _sign_in_with(app, h.OWNER, h.OWNER_PW, accept="en")   # another browser
    assert '<html lang="pl">' in elsewhere.get("/").get_data(as_text=True)


def test_the_sign_in_page_follows_the_browser(client):
    page = client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert '<html lang="ru">' in page.get_data(as_text=True)
    page = client.get("/login", headers={"Accept-Language": "bg"})
    assert '<html lang="bg">' in page.get_data(as_text=True)


def test_the_first_owner_keeps_the_language_of_the_setup_page(config, tracker, empty_users):
    client = create_app(config, tracker, empty_users, secret_key="s", testing=True).test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "pl-PL"
    html = client.get("/setup").get_data(as_text=True)
    assert '<html lang="pl">' in html
    answer = client.post("/setup", data={"user": "ola", "password": "owner-pass-1",
                                         "confirm": "owner-pass-1",
                                         "csrf_token": h.csrf_from(html)})
    assert answer.status_code == 302
    assert empty_users.get("ola").language == "pl"


def test_the_users_page_sets_a_language(owner, users):
    page = owner.get("/settings/users").get_data(as_text=True)
    # a new user's language defaults from box.country (PL)
    assert '<option value="pl" selected>Polski</option>' in page
    token = h.page_token(owner, "/settings/users")
    answer = owner.post(f"/settings/users/{h.STAFF}/language",
                        data={"csrf_token": token, "language": "bg"})
    assert answer.status_code == 303 and users.get(h.STAFF).language == "bg"
    bad = owner.post(f"/settings/users/{h.STAFF}/language",
                     data={"csrf_token": token, "language": "xx"})
    assert bad.status_code == 400 and users.get(h.STAFF).language == "bg"
    assert owner.post("/settings/users/nobody/language",
                      data={"csrf_token": token, "language": "pl"}).status_code == 404
    answer = owner.post("/settings/users", data={
        "csrf_token": token, "user": "nina", "role": "staff", "extension": "101",
        "language": "ru", "password": "nina-pass-1", "confirm": "nina-pass-1"})
    assert answer.status_code == 303 and users.get("nina").language == "ru"


def test_staff_cannot_set_languages(staff, users):
    token = h.page_token(staff)
    assert staff.post(f"/settings/users/{h.OTHER}/language",
                      data={"csrf_token": token, "language": "pl"}).status_code == 403
    assert users.get(h.OTHER).language is None


def test_trunk_states_in_the_readers_language(tmp_path, tracker, users):
    path = tmp_path / "callbox.toml"
    path.write_text(h.CONFIG + TRUNK)
    app = create_app(parse_config(path.read_text()), tracker, users, secret_key="s",
                     testing=True, config_path=path,
                     health=lambda: {"sip": "ok", "trunks": {"provider": "failed"},
                                     "storage": "ok"})
    users.set_language(h.OWNER, "pl")
    html = _sign_in_with(app, h.OWNER, h.OWNER_PW).get("/settings/trunks").get_data(
        as_text=True)
    assert "rejestracja nieudana" in html and ">failed<" not in html


def test_config_problems_in_the_readers_language(tmp_path, tracker, users):
    path = tmp_path / "callbox.toml"
    path.write_text(h.CONFIG)
    app = create_app(parse_config(path.read_text()), tracker, users, secret_key="s",
                     testing=True, config_path=path)
    users.set_language(h.OWNER, "pl")
    owner = _sign_in_with(app, h.OWNER, h.OWNER_PW)
    token = h.page_token(owner, "/settings/config")
    answer = owner.post("/settings/config", data={
        "csrf_token": token, "config": h.CONFIG.replace('timezone = "Europe/Warsaw"',
                                                      'timezone = "Mars/Base"')})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "box.timezone: nieznana strefa czasowa" in html and "unknown time zone" not in html


def test_a_problem_no_catalog_knows_is_shown_as_it_is():
    from firmware.webui.config_words import translate
    from firmware.webui.i18n import using_language
    with using_language("pl"):
        assert translate("x.y: something new") == "x.y: something new"
        assert translate("hours.after_hours_forward: needs a [[trunk]] to forward through") \
            == "hours.after_hours_forward: wymaga [[trunk]], przez który przekierować"


def test_a_weak_desk_phone_password_is_explained_in_the_readers_language():
    """pbx/passwords.py's words (a config problem passed on as a value) are in the catalogs."""
    from firmware.pbx.passwords import sip_password_problem
    from firmware.webui.config_words import translate
    from firmware.webui.i18n import using_language
    problem = f"extension[1].password: {sip_password_problem('abc', '101')}"
    with using_language("pl"):
        assert translate(problem) == "extension[1].password: musi mieć co najmniej 8 znaków"
    with using_language("ru"):
        assert translate(problem).endswith("не менее 8 символов")
    with using_language("bg"):
        assert translate("extension[1].password: must mix letters with digits or symbols") \
            == "extension[1].password: трябва да съчетава букви с цифри или символи"


def test_the_trackers_input_errors_in_the_readers_language(app, users):
    users.set_language(h.OWNER, "pl")
    owner = _sign_in_with(app, h.OWNER, h.OWNER_PW)
    html = owner.get("/calls?from=junk").get_data(as_text=True)
    assert "musi być datą w formacie RRRR-MM-DD" in html and "must be a date" not in html
