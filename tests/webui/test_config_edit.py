"""config_edit: the campaign forms' edits of the TOML text, comments and layout kept."""

import tomllib

import pytest
from werkzeug.datastructures import MultiDict

from firmware.config import ConfigError
from firmware.webui import config_edit as ce

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
    text = ce.set_campaign(TEXT, None, VALUES)
    assert text.startswith(TEXT.split("[tracking]")[0])          # comments, order, spacing
    assert text.endswith("[tracking]\nring_timeout_seconds = 25\n")
    data = tomllib.loads(text)
    assert data["campaign"][1] == {**VALUES, "cost_per_month": 80}
    assert data["tracking"] == {"ring_timeout_seconds": 25}


def test_edit_changes_only_the_form_keys():
    text = ce.set_campaign(TEXT, 0, {**VALUES, "name": "Shop window"}, "Shop window")
    assert "# the sticker" in text
    campaign = tomllib.loads(text)["campaign"][0]
    assert campaign["after_hours_forward"] == ["+48600000000"]
    assert campaign["source"] == 'Print "A5"' and campaign["lead_value"] == 150.5


def test_first_campaign_in_a_file_without_any():
    text = ce.set_campaign("[box]\nname = \"x\"\n", None, VALUES)
    assert tomllib.loads(text)["campaign"][0]["name"] == "Flyer"
    assert ce.campaign_count(text) == 1


def test_delete_the_last_campaign_leaves_none():
    text = ce.delete_campaign(TEXT, 0, "Shop window")
    assert "campaign" not in tomllib.loads(text)
    assert "[tracking]" in text and "# Hotel Zdroj" in text


@pytest.mark.parametrize("call", [
    lambda: ce.set_campaign(TEXT, 0, VALUES, "Radio"),
    lambda: ce.delete_campaign(TEXT, 0, "Radio"),
    lambda: ce.delete_campaign(TEXT, 5, None),
    lambda: ce.set_campaign("[box\n", None, VALUES),
])
def test_stale_pages_and_broken_files_change_nothing(call):
    with pytest.raises(ConfigError):
        call()


@pytest.mark.parametrize("typed, amount", [
    ("300", 300.0), ("300.5", 300.5), ("300,50", 300.5), ("1 200", 1200.0), ("", 0.0),
])
def test_amounts_as_people_type_them(typed, amount):
    form = MultiDict({"name": "a", "number": "1", "lead_value": typed, "ring": "101"})
    assert ce.campaign_values(form, ["101"])["lead_value"] == amount


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
    with pytest.raises(ce.FieldError) as caught:
        ce.campaign_values(MultiDict(form), ["101", "102"])
    assert caught.value.field == field


def test_problems_of_the_edited_campaign_go_to_its_fields():
    problems = ["campaign[2].number: not a phone number", "campaign[1].ring: no extension 9",
                "campaign[2].after_hours_ring: no extension 7", "box.country: unknown"]
    fields, rest = ce.field_problems(problems, 1)
    assert fields == {"number": "not a phone number"}
    assert rest == problems[1:]
