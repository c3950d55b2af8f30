"""config_edit and settings_forms: the settings forms' edits of the TOML text, comments and
layout kept."""

import tomllib

import pytest
from werkzeug.datastructures import MultiDict

from firmware.config import ConfigError
from firmware.webui import config_edit as ce
from firmware.webui import settings_forms as sf

TEXT = """# Hotel Zdroj: numbers from the provider's order of 2024-05-02
[box]
name = "Hotel Zdroj"   # shown in the panel

[[campaign]]
name = "Shop window"
number = "+48221234567"   # the sticker
lead_value = 300
ring = ["101"]
after_hours_forward = ["+48600000000"]

[tracking]
ring_timeout_seconds = 25
"""
VALUES = {"name": "Flyer", "number": "+48221234568", "source": 'Print "A5"',
          "lead_value": 150.5, "cost_per_month": 80.0, "ring": ["101", "102"]}


def test_a_new_campaign_lands_after_the_others_and_nothing_else_moves():
    text = ce.set_entry(TEXT, "campaign", None, VALUES)
    assert text.startswith(TEXT.split("[tracking]")[0])          # comments, order, spacing
    assert text.endswith("[tracking]\nring_timeout_seconds = 25\n")
    data = tomllib.loads(text)
    assert data["campaign"][1] == {**VALUES, "cost_per_month": 80}
    assert data["tracking"] == {"ring_timeout_seconds": 25}


def test_edit_changes_only_the_form_keys():
    text = ce.set_entry(TEXT, "campaign", 0, {**VALUES, "name": "Shop window"}, "name",
                        "Shop window")
    assert "# the sticker" in text
    campaign = tomllib.loads(text)["campaign"][0]
    assert campaign["after_hours_forward"] == ["+48600000000"]
    assert campaign["source"] == 'Print "A5"' and campaign["lead_value"] == 150.5


def test_first_campaign_in_a_file_without_any():
    text = ce.set_entry("[box]\nname = \"x\"\n", "campaign", None, VALUES)
    assert tomllib.loads(text)["campaign"][0]["name"] == "Flyer"
    assert ce.entry_count(text, "campaign") == 1


def test_delete_the_last_campaign_leaves_none():
    text = ce.delete_entry(TEXT, "campaign", 0, "name", "Shop window")
    assert "campaign" not in tomllib.loads(text)
    assert "[tracking]" in text and "# Hotel Zdroj" in text


@pytest.mark.parametrize("call", [
    lambda: ce.set_entry(TEXT, "campaign", 0, VALUES, "name", "Radio"),
    lambda: ce.delete_entry(TEXT, "campaign", 0, "name", "Radio"),
    lambda: ce.delete_entry(TEXT, "campaign", 5),
    lambda: ce.delete_entry(TEXT, "trunk", 0),
    lambda: ce.set_entry("[box\n", "campaign", None, VALUES),
])
def test_stale_pages_and_broken_files_change_nothing(call):
    with pytest.raises(ConfigError):
        call()


@pytest.mark.parametrize("typed, amount", [
    ("300", 300.0), ("300.5", 300.5), ("300,50", 300.5), ("1 200", 1200.0), ("", 0.0),
])
def test_amounts_as_people_type_them(typed, amount):
    form = MultiDict({"name": "a", "number": "1", "lead_value": typed, "ring": "101"})
    assert sf.entry_values(sf.CAMPAIGNS, form, ["101"], new=True)["lead_value"] == amount


@pytest.mark.parametrize("form, field", [
    ({"number": "1", "ring": "101"}, "name"),
    ({"name": "a", "ring": "101"}, "number"),
    ({"name": "a", "number": "1", "lead_value": "-1", "ring": "101"}, "lead_value"),
    ({"name": "a", "number": "1", "lead_value": "1.234", "ring": "101"}, "lead_value"),
    ({"name": "a", "number": "1", "cost_per_month": "99999999999", "ring": "101"},
     "cost_per_month"),
    ({"name": "a\nb", "number": "1", "ring": "101"}, "name"),
    ({"name": "a", "number": "1"}, "ring"),
    ({"name": "a", "number": "1", "ring": "103"}, "ring"),
])
def test_form_values_that_cannot_be_saved(form, field):
    with pytest.raises(sf.FieldError) as caught:
        sf.entry_values(sf.CAMPAIGNS, MultiDict(form), ["101", "102"], new=True)
    assert caught.value.field == field


def test_problems_of_the_edited_campaign_go_to_its_fields():
    problems = ["campaign[2].number: not a phone number", "campaign[1].ring: no extension 9",
                "campaign[2].after_hours_ring: no extension 7", "box.country: unknown"]
    fields, rest = ce.field_problems(problems, {"campaign[2]": ""})
    assert fields == {"number": "not a phone number",
                      "after_hours_ring": "no extension 7"}
    assert rest == [problems[1], problems[3]]


def test_plain_tables_are_set_and_emptied_keys_removed():
    text = ce.set_tables(TEXT, {"box": {"name": "Zdroj Spa", "currency": "EUR"},
                                "tracking": {"ring_timeout_seconds": None,
                                             "target_call_seconds": 45}})
    data = tomllib.loads(text)
    assert data["box"] == {"name": "Zdroj Spa", "currency": "EUR"}
    assert data["tracking"] == {"target_call_seconds": 45}
    assert "# shown in the panel" in text and "# the sticker" in text


def test_a_secret_left_empty_keeps_the_stored_one():
    form = MultiDict({"number": "101", "name": "Reception", "password": ""})
    assert sf.entry_values(sf.EXTENSIONS, form, [], new=False) == {"number": "101",
                                                                   "name": "Reception"}
    with pytest.raises(sf.FieldError) as caught:
        sf.entry_values(sf.EXTENSIONS, form, [], new=True)
    assert caught.value.field == "password"


@pytest.mark.parametrize("port, ok", [("5060", True), ("", True), ("0", False),
                                      ("70000", False), ("50 60", False), ("٥٠٦٠", False)])
def test_trunk_ports(port, ok):
    form = MultiDict({"name": "p", "host": "sip.example", "port": port, "register": "on"})
    if ok:
        values = sf.entry_values(sf.TRUNKS, form, [], new=True)
        assert values["port"] == (int(port) if port else None) and values["register"] is True
    else:
        with pytest.raises(sf.FieldError):
            sf.entry_values(sf.TRUNKS, form, [], new=True)
