"""The campaigns settings page: forms that edit the config file, validated and applied live."""

import tomllib

import pytest

import webui_helpers as h
from firmware.pbx import events as ev
from firmware.tracker.query import CallFilter
from firmware.webui.app import create_app
from webui_helpers import english_client

COMMENTED = h.CONFIG.replace('[[campaign]]\nname = "Shop window"',
                             '# the sticker on the door\n[[campaign]]\nname = "Shop window"')
FLYER = {"name": "Flyer", "number": "22 123 45 69", "source": "Print", "lead_value": "150,50",
         "cost_per_month": "80", "ring": ["102"]}


@pytest.fixture
def setup(tmp_path, config, tracker, users):
    path = tmp_path / "callbox.toml"
    path.write_text(COMMENTED)
    applied = []

    def apply(new):
        applied.append(new)
        tracker.reload_config(new)

    app = create_app(config, tracker, users, secret_key="s", testing=True, config_path=path,
                     on_config=apply)
    client = english_client(app)
    h.sign_in(client, h.OWNER, h.OWNER_PW)
    return client, path, applied, app


def post(client, url, data, page=None):
    token = h.page_token(client, page or url)
    return client.post(url, data={**data, "csrf_token": token})


def test_list_shows_the_campaigns(setup):
    client, *_ = setup
    html = client.get("/settings/campaigns").get_data(as_text=True)
    assert "Shop window" in html and "Newspaper" in html
    assert "+48 22 123 45 67" in html and "101 · Reception" in html


def test_a_new_campaign_is_saved_applied_and_tracked(setup, tracker):
    client, path, applied, app = setup
    answer = post(client, "/settings/campaigns/new", FLYER)
    assert answer.status_code == 303
    text = path.read_text()
    assert "# the sticker on the door" in text          # the owner's comments stay
    flyer = tomllib.loads(text)["campaign"][2]
    assert flyer == {"name": "Flyer", "number": "22 123 45 69", "source": "Print",
                     "lead_value": 150.5, "cost_per_month": 80, "ring": ["102"]}
    assert [c.name for c in applied[-1].campaigns] == ["Shop window", "Newspaper", "Flyer"]
    assert applied[-1].campaigns[2].number == "+48221234569"
    # the very next call to the number counts for the campaign
    tracker.submit(ev.CallOffered("c1", "+48221234569", h.MOBILE, 1714000000.0, "provider"))
    tracker.submit(ev.CallEnded("c1", ev.CALLER_HANGUP, 1714000010.0))
    tracker.flush()
    [call] = tracker.calls(CallFilter())
    assert call["campaign"] == "Flyer" and call["source"] == "Print"
    assert "Flyer" in client.get("/settings/campaigns").get_data(as_text=True)


def test_editing_keeps_what_the_form_does_not_show(setup):
    client, path, applied, app = setup
    path.write_text(COMMENTED.replace('ring = ["101"]\n', 'ring = ["101"]\nafter_hours_ring = ["102"]\n'))
    form = {"name": "Newspaper", "number": h.PAPER, "source": "Local paper", "lead_value": "120",
            "cost_per_month": "", "ring": ["101", "102"]}
    assert post(client, "/settings/campaigns/1", form).status_code == 303
    paper = tomllib.loads(path.read_text())["campaign"][1]
    assert paper["source"] == "Local paper" and paper["ring"] == ["101", "102"]
    assert paper["after_hours_ring"] == ["102"] and paper["lead_value"] == 120


@pytest.mark.parametrize("change, field", [
    ({"number": "12"}, "number"),
    ({"number": h.SHOP}, "number"),                       # already the Shop window's number
    ({"name": "Shop window"}, "name"),                     # two campaigns with one name
    ({"name": ""}, "name"),
    ({"lead_value": "lots"}, "lead_value"),
    ({"lead_value": "1e400"}, "lead_value"),
    ({"cost_per_month": "-5"}, "cost_per_month"),
    ({"ring": ["999"]}, "ring"),
    ({"ring": []}, "ring"),
    ({"name": "x" * 10_000}, "name"),
    ({"source": "tab\there"}, "source"),
])
def test_bad_input_is_refused_and_nothing_changes(setup, change, field):
    client, path, applied, app = setup
    answer = post(client, "/settings/campaigns/new", {**FLYER, **change})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400, html
    assert f'data-field="{field}"' in html or f"campaign[3].{field}" in html
    assert path.read_text() == COMMENTED and applied == []


def test_delete_removes_the_campaign_and_keeps_comments(setup):
    client, path, applied, app = setup
    answer = post(client, "/settings/campaigns/1/delete", {"identity": "Newspaper"},
                  page="/settings/campaigns/1")
    assert answer.status_code == 303
    assert [c["name"] for c in tomllib.loads(path.read_text())["campaign"]] == ["Shop window"]
    assert "# the sticker on the door" in path.read_text()
    assert [c.name for c in applied[-1].campaigns] == ["Shop window"]


def test_an_edit_from_a_stale_page_is_refused(setup):
    """The file changed under the form (someone edited it by hand): never overwrite another
    campaign with this one."""
    client, path, applied, app = setup
    token = h.page_token(client, "/settings/campaigns/1")
    path.write_text(COMMENTED.replace('name = "Newspaper"', 'name = "Radio"'))
    answer = client.post("/settings/campaigns/1/delete",
                         data={"identity": "Newspaper", "csrf_token": token})
    assert answer.status_code == 303
    assert "Radio" in path.read_text() and applied == []
    assert "has changed" in client.get("/settings/campaigns").get_data(as_text=True)


def test_owner_only_and_csrf(setup):
    client, path, applied, app = setup
    assert client.post("/settings/campaigns/new", data=FLYER).status_code == 400
    staff = english_client(app)
    h.sign_in(staff, h.STAFF, h.STAFF_PW)
    assert staff.get("/settings/campaigns").status_code == 403
    assert staff.get("/settings/campaigns/new").status_code == 403
    assert path.read_text() == COMMENTED and applied == []


def test_without_a_config_file_the_list_is_read_only(owner):
    html = owner.get("/settings/campaigns").get_data(as_text=True)
    assert "Shop window" in html and "built-in demo settings" in html
    assert owner.get("/settings/campaigns/new").status_code == 404


def test_record_and_voicemail_switches_are_saved_and_shown(setup):
    client, path, applied, app = setup
    html = client.get("/settings/campaigns/new").get_data(as_text=True)
    assert 'name="record"' in html and 'name="voicemail"' in html
    assert 'name="record" checked' not in html            # off for a new campaign (default)
    form = {"name": "Newspaper", "number": h.PAPER, "source": "Print", "lead_value": "100",
            "ring": ["101"], "record": "on", "voicemail": "on"}
    assert post(client, "/settings/campaigns/1", form).status_code == 303
    paper = tomllib.loads(path.read_text())["campaign"][1]
    assert paper["record"] is True and paper["voicemail"] is True
    assert applied[-1].campaigns[1].record and applied[-1].campaigns[1].voicemail
    html = client.get("/settings/campaigns/1").get_data(as_text=True)
    assert 'name="record" checked' in html and 'name="voicemail" checked' in html
    # switched off again: the keys leave the file (false is the default)
    del form["record"], form["voicemail"]
    assert post(client, "/settings/campaigns/1", form).status_code == 303
    paper = tomllib.loads(path.read_text())["campaign"][1]
    assert "record" not in paper and "voicemail" not in paper
    assert not applied[-1].campaigns[1].record and not applied[-1].campaigns[1].voicemail
