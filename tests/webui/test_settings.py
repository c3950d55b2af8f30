"""The config settings page: validated, written atomically, applied live."""

import pytest

import webui_helpers as h
from firmware.webui.app import create_app
from webui_helpers import english_client


@pytest.fixture
def setup(tmp_path, config, tracker, users):
    path = tmp_path / "callbox.toml"
    path.write_text(h.CONFIG)
    applied = []
    app = create_app(config, tracker, users, secret_key="s", testing=True, config_path=path,
                     on_config=applied.append)
    client = english_client(app)
    h.sign_in(client, h.OWNER, h.OWNER_PW)
    return client, path, applied, app


def test_without_a_file_nothing_to_edit(owner):
    html = owner.get("/settings/config").get_data(as_text=True)
    assert "built-in demo settings" in html and "<textarea" not in html


def test_valid_config_is_saved_and_applied(setup):
    client, path, applied, app = setup
    html = client.get("/settings/config").get_data(as_text=True)
    assert "Hotel Zdroj" in html
    new = h.CONFIG.replace('name = "Hotel Zdroj"', 'name = "Hotel Zdrój Spa"')
    answer = client.post("/settings/config", data={"config": new, "csrf_token": h.csrf_from(html)})
    assert answer.status_code == 303
    assert path.read_text() == new and path.stat().st_mode & 0o777 == 0o600
    assert applied[0].box.name == "Hotel Zdrój Spa"
    assert app.extensions["callbox"].config.box.name == "Hotel Zdrój Spa"
    assert "Hotel Zdrój Spa" in client.get("/calls").get_data(as_text=True)


@pytest.mark.parametrize("text, problem", [
    ("[box\n", "not valid TOML"),
    (h.CONFIG.replace('number = "101"', 'number = "1x"'), "extension[1].number"),
    (h.CONFIG + "\n[web]\nlisten = 'nowhere'\n", "web"),
    ("x" * 55_000, "longer than"),
], ids=["toml", "extension", "listen", "size"])
def test_invalid_config_is_not_saved(setup, text, problem):
    client, path, applied, app = setup
    token = h.page_token(client, "/settings/config")
    answer = client.post("/settings/config", data={"config": text, "csrf_token": token})
    assert answer.status_code == 400 and problem in answer.get_data(as_text=True)
    assert path.read_text() == h.CONFIG and applied == []


def test_config_needs_owner_and_csrf(setup, users):
    client, path, applied, app = setup
    assert client.post("/settings/config", data={"config": h.CONFIG}).status_code == 400
    staff = english_client(app)
    h.sign_in(staff, h.STAFF, h.STAFF_PW)
    assert staff.get("/settings/config").status_code == 403
    assert applied == []


def test_the_config_page_never_shows_a_secret_and_saving_it_as_shown_keeps_them(setup):
    client, path, applied, app = setup
    secrets = [line.split("=", 1)[1].strip().strip('"') for line in path.read_text().splitlines()
               if line.split("=")[0].strip() in ("password", "secret", "token")]
    assert secrets
    html = client.get("/settings/config").get_data(as_text=True)
    assert not [s for s in secrets if s and s in html]
    shown = html.split("<textarea", 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    import html as html_lib
    text = html_lib.unescape(shown).replace('name = "Hotel Zdroj"', 'name = "Hotel Nowy"')
    answer = client.post("/settings/config", data={"config": text,
                                                   "csrf_token": h.csrf_from(html)})
    assert answer.status_code == 303
    saved = path.read_text()
    assert all(s in saved for s in secrets) and 'name = "Hotel Nowy"' in saved
