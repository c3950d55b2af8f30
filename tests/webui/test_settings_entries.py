"""Desk phones, trunks and the general settings as forms: the same save path as campaigns."""

import tomllib

import pytest

import webui_helpers as h
from firmware.config import parse_config
from firmware.webui.app import create_app
from webui_helpers import english_client

TRUNK = '\n[[trunk]]\nname = "provider"\nhost = "sip.provider.example"\nusername = "4822"\n' \
        'password = "trunk-secret-1"\n'


@pytest.fixture
def setup(tmp_path, tracker, users):
    path = tmp_path / "callbox.toml"
    path.write_text(h.CONFIG + TRUNK)
    applied = []
    app = create_app(parse_config(path.read_text()), tracker, users, secret_key="s", testing=True, config_path=path,
                     on_config=applied.append,
                     health=lambda: {"sip": "ok", "trunks": {"provider": "registered"},
                                     "storage": "ok"})
    client = english_client(app)
    h.sign_in(client, h.OWNER, h.OWNER_PW)
    return client, path, applied, app


def post(client, url, data, page=None):
    return client.post(url, data={**data, "csrf_token": h.page_token(client, page or url)})


def stored(path):
    return tomllib.loads(path.read_text())


def test_a_desk_phone_is_added_and_can_register_at_once(setup):
    client, path, applied, app = setup
    answer = post(client, "/settings/extensions/new",
                  {"number": "103", "name": "Kitchen", "password": "kitchen-pw-1"})
    assert answer.status_code == 303
    assert stored(path)["extension"][2] == {"number": "103", "name": "Kitchen",
                                            "password": "kitchen-pw-1"}
    assert applied[-1].extension("103").password == "kitchen-pw-1"
    html = client.get("/settings/extensions").get_data(as_text=True)
    assert "Kitchen" in html and "kitchen-pw-1" not in html


def test_a_password_is_never_shown_and_an_empty_one_keeps_the_old(setup):
    client, path, applied, app = setup
    html = client.get("/settings/extensions/0").get_data(as_text=True)
    assert "secret-101" not in html
    answer = post(client, "/settings/extensions/0",
                  {"number": "101", "name": "Front desk", "password": ""})
    assert answer.status_code == 303
    assert stored(path)["extension"][0] == {"number": "101", "name": "Front desk",
                                            "password": "secret-101"}


def test_a_phone_a_campaign_rings_cannot_be_removed(setup):
    client, path, applied, app = setup
    before = path.read_text()
    answer = post(client, "/settings/extensions/1/delete", {"identity": "102"},
                  page="/settings/extensions/1")
    assert answer.status_code == 303
    assert path.read_text() == before and applied == []
    html = client.get("/settings/extensions").get_data(as_text=True)
    assert "campaign[1].ring: no extension 102" in html


@pytest.mark.parametrize("form, field", [
    ({"number": "1x3", "password": "long-enough-1"}, "number"),
    ({"number": "101", "password": "long-enough-1"}, "number"),      # already there
    ({"number": "103", "password": "short"}, "password"),
    ({"number": "103", "password": ""}, "password"),
    ({"number": "103", "password": "12345678"}, "password"),          # issue 14.5: weak
    ({"number": "103", "password": "103103103"}, "password"),
    ({"number": "103", "password": "password1"}, "password"),
    ({"number": "103", "password": "abcdefghij"}, "password"),
])
def test_bad_desk_phones_are_refused(setup, form, field):
    client, path, applied, app = setup
    before = path.read_text()
    answer = post(client, "/settings/extensions/new", form)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert f'data-field="{field}"' in html or f"extension[3].{field}" in html, html
    assert path.read_text() == before and applied == []


def test_trunk_edit_keeps_its_password_and_says_when_it_applies(setup):
    client, path, applied, app = setup
    assert "registered" in client.get("/settings/trunks").get_data(as_text=True)
    answer = post(client, "/settings/trunks/0", {"name": "provider", "host": "sip2.example",
                                                 "port": "5080", "username": "4822",
                                                 "password": "", "register": "on"})
    assert answer.status_code == 303
    assert stored(path)["trunk"][0] == {"name": "provider", "host": "sip2.example",
                                        "username": "4822", "password": "trunk-secret-1",
                                        "port": 5080, "register": True}
    assert "registers with the new settings right away" in \
        client.get("/settings/trunks").get_data(as_text=True)


def test_a_registering_trunk_needs_credentials(setup):
    client, path, applied, app = setup
    answer = post(client, "/settings/trunks/new", {"name": "second", "host": "sip.example",
                                                   "register": "on"})
    assert answer.status_code == 400
    assert 'data-field="register"' in answer.get_data(as_text=True)
    answer = post(client, "/settings/trunks/new", {"name": "second", "host": "10.0.0.9"})
    assert answer.status_code == 303
    assert stored(path)["trunk"][1] == {"name": "second", "host": "10.0.0.9",
                                        "username": "", "password": "", "register": False}


def test_general_settings_are_saved_and_applied(setup):
    client, path, applied, app = setup
    form = {"name": "Hotel Zdrój Spa", "timezone": "Europe/Warsaw", "country": "PL",
            "currency": "PLN", "ring_timeout_seconds": "25", "target_call_seconds": "45",
            "unique_window_days": ""}
    assert post(client, "/settings/general", form).status_code == 303
    data = stored(path)
    assert data["box"]["name"] == "Hotel Zdrój Spa"
    assert data["tracking"] == {"ring_timeout_seconds": 25, "target_call_seconds": 45}
    assert applied[-1].tracking.target_call_seconds == 45
    assert applied[-1].tracking.unique_window_days == 30          # the default


@pytest.mark.parametrize("change, field", [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"country": "XX"}, "country"),
    ({"currency": "zloty"}, "currency"),
    ({"ring_timeout_seconds": "2"}, "ring_timeout_seconds"),
    ({"target_call_seconds": "soon"}, "target_call_seconds"),
    ({"name": ""}, "name"),
])
def test_bad_general_settings_are_refused(setup, change, field):
    client, path, applied, app = setup
    before = path.read_text()
    form = {"name": "Hotel", "timezone": "Europe/Warsaw", "country": "PL", "currency": "PLN",
            "ring_timeout_seconds": "30", "target_call_seconds": "30",
            "unique_window_days": "30", **change}
    answer = post(client, "/settings/general", form)
    assert answer.status_code == 400
    assert f'data-field="{field}"' in answer.get_data(as_text=True)
    assert path.read_text() == before and applied == []


@pytest.mark.parametrize("url", ["/settings/extensions", "/settings/extensions/new",
                                 "/settings/trunks", "/settings/trunks/0",
                                 "/settings/general"])
def test_owner_only(setup, url):
    client, path, applied, app = setup
    staff = english_client(app)
    h.sign_in(staff, h.STAFF, h.STAFF_PW)
    assert staff.get(url).status_code == 403
    assert client.post(url, data={"name": "x"}).status_code in (400, 405)   # no CSRF token
