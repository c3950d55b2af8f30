"""Server-rendered pages: dashboard = /api/summary, history, call details, callbacks, settings."""

import re

import pytest

import webui_helpers as h
from firmware.tracker.query import CallFilter, parse_period


def figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="([a-z_]+)">([^<]*)<', html))


def test_dashboard_shows_the_summary(owner, seeded, config):
    start, end = parse_period({}, config)
    html = owner.get("/").get_data(as_text=True)
    summary = seeded.summary(start, end)
    shown = figures(html)
    for key in ("answered", "missed", "to_call_back", "target_calls", "first_time_callers"):
        assert shown[key] == str(summary[key]), key
    assert shown["avg_wait_seconds"] == f"{round(summary['avg_wait_seconds'])}\u00a0s"
    assert "Shop window" in html and "<svg" in html
    for name in ("campaigns", "sources", "hours", "value", "lines"):
        assert f'id="m-{name}"' in html
        assert f"/dashboard/{name}?from={start}" in html


def test_dashboard_custom_period(owner, seeded):
    html = owner.get("/?from=2020-01-01&to=2020-01-31").get_data(as_text=True)
    assert figures(html)["answered"] == "0"
    assert "No calls in this period." in html
    assert 'value="2020-01-01"' in html


def test_dashboard_junk_period_says_so(owner, seeded):
    answer = owner.get("/?from=junk")
    assert answer.status_code == 400
    assert "Dates not understood" in answer.get_data(as_text=True)


@pytest.mark.parametrize("name", ["campaigns", "sources", "hours", "value", "lines"])
def test_each_module_alone(owner, seeded, name):
    html = owner.get(f"/dashboard/{name}").get_data(as_text=True)
    assert "<svg" in html and 'class="data"' in html


def test_unknown_module(owner):
    assert owner.get("/dashboard/nope").status_code == 404


def test_history_filters(owner, seeded):
    html = owner.get("/calls?status=missed").get_data(as_text=True)
    assert html.count('class="status missed"') == 2
    assert 'class="status answered"' not in html
    html = owner.get("/calls?campaign=Newspaper&status=answered").get_data(as_text=True)
    assert html.count("<tr>") == 2                        # header + one call
    html = owner.get("/calls?number=%2B48501234567").get_data(as_text=True)
    assert "+48 501 234 567" in html
    answer = owner.get("/calls?status=lost")
    assert answer.status_code == 400 and "status" in answer.get_data(as_text=True)


def test_history_for_staff_is_their_own(staff, seeded):
    html = staff.get("/calls").get_data(as_text=True)
    assert ">102<" not in html
    assert 'name="extension"' not in html                # no person filter for staff
    other = next(c for c in seeded.calls(CallFilter()) if c["answered_by"] == "102")
    assert staff.get(f"/calls/{other['id']}").status_code == 404
    assert staff.get(f"/calls/{other['id']}/wrapup-form").status_code == 404


def test_call_details_and_form(owner, seeded):
    call = next(c for c in seeded.calls(CallFilter()) if c["answered_by"] == "101")
    html = owner.get(f"/calls/{call['id']}").get_data(as_text=True)
    assert "Call details" in html and 'name="answered_by"' in html
    assert f'name="value" inputmode="decimal" value="{call["value"]:g}"' in html
    assert owner.get("/calls/unknown").status_code == 404


def test_owner_corrects_through_the_form(owner, seeded):
    call = next(c for c in seeded.calls(CallFilter()) if c["answered_by"] == "101")
    token = h.page_token(owner, f"/calls/{call['id']}")
    answer = owner.post(f"/calls/{call['id']}/wrapup", data={
        "csrf_token": token, "rating": "4", "tags": "vip, parking", "category": "Sale",
        "comment": "Booked", "value": "1 250,50", "answered_by": "102"})
    assert answer.status_code == 302
    saved = seeded.call(call["id"])
    assert saved["answered_by"] == "102" and saved["value"] == 1250.5
    assert saved["wrapup"]["tags"] == ["vip", "parking"] and saved["wrapup"]["rating"] == 4
    assert "Wrap-up saved." in owner.get(answer.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("form, field", [
    ({"rating": "9"}, "rating"), ({"value": "lots"}, "value"), ({"rating": "9" * 5000}, "rating"),
    ({"category": "Nope"}, "category"), ({"answered_by": "999"}, "answered_by"),
])
def test_form_junk_changes_nothing(owner, seeded, form, field):
    call = next(c for c in seeded.calls(CallFilter()) if c["answered_by"] == "101")
    token = h.page_token(owner, f"/calls/{call['id']}")
    answer = owner.post(f"/calls/{call['id']}/wrapup", data=dict(form, csrf_token=token))
    assert answer.status_code == 400
    assert f'data-field="{field}"' in answer.get_data(as_text=True)
    assert seeded.call(call["id"]) == call


def test_staff_form_cannot_change_who_answered(staff, seeded):
    call = next(c for c in seeded.calls(CallFilter()) if c["answered_by"] == "101")
    token = h.page_token(staff, f"/calls/{call['id']}")
    answer = staff.post(f"/calls/{call['id']}/wrapup", data={
        "csrf_token": token, "rating": "5", "answered_by": "102"})
    assert answer.status_code == 302                       # the field is ignored for staff
    assert seeded.call(call["id"])["answered_by"] == "101"
    html = staff.get(f"/calls/{call['id']}").get_data(as_text=True)
    assert 'name="answered_by"' not in html


def test_wrapup_form_fragment(staff, seeded):
    call = next(c for c in seeded.calls(CallFilter()) if c["answered_by"] == "101")
    html = staff.get(f"/calls/{call['id']}/wrapup-form").get_data(as_text=True)
    assert "<form" in html and "<html" not in html
    assert f'data-api="/api/calls/{call["id"]}/wrapup"' in html


def test_callbacks_page_and_dismiss(staff, seeded):
    html = staff.get("/callbacks").get_data(as_text=True)
    waiting = seeded.callbacks()
    assert html.count('name="reason"') == 2
    number = waiting[0]["number"]
    assert staff.post(f"/callbacks/{number}/dismiss", data={"reason": "Spam"}).status_code == 400
    assert seeded.queue_size() == 2
    token = h.csrf_from(html)
    answer = staff.post(f"/callbacks/{number}/dismiss", data={"reason": "", "csrf_token": token})
    assert answer.status_code == 303 and seeded.queue_size() == 2
    answer = staff.post(f"/callbacks/{number}/dismiss",
                        data={"reason": "Spam", "csrf_token": token})
    assert answer.status_code == 303 and seeded.queue_size() == 1
    assert "taken off the list" in staff.get("/callbacks").get_data(as_text=True)


def test_categories(owner, app):
    token = h.page_token(owner, "/settings/categories")
    answer = owner.post("/settings/categories",
                        data={"categories": "Sale\n\n  Room  booking \nSale\n", "csrf_token": token})
    assert answer.status_code == 303
    assert app.extensions["callbox"].prefs.categories() == ["Sale", "Room booking"]
    answer = owner.post("/settings/categories", data={"categories": "x" * 41, "csrf_token": token})
    assert answer.status_code == 400
    assert app.extensions["callbox"].prefs.categories() == ["Sale", "Room booking"]


def test_nav_badge_counts_callbacks(owner, seeded):
    assert '<span class="badge">2</span>' in owner.get("/calls").get_data(as_text=True)


def test_not_found_page_is_html_and_api_is_json(owner):
    assert owner.get("/nope").mimetype == "text/html"
    assert owner.get("/api/nope").get_json()["error"]


@pytest.mark.parametrize("typed, value", [("1 250,50", 1250.5), ("1,250.50", 1250.5),
                                          ("1.250,50", 1250.5), ("300", 300.0),
                                          ("12,5", 12.5), ("lots", "lots")])
def test_amounts_as_people_type_them(typed, value):
    from firmware.webui.wrapup import parse_amount
    assert parse_amount(typed) == value


def test_tags_used_before_are_suggested(owner, seeded):
    first, second = [c for c in seeded.calls(CallFilter()) if c["status"] == "answered"][:2]
    token = h.page_token(owner, f"/calls/{first['id']}")
    owner.post(f"/calls/{first['id']}/wrapup", data={"csrf_token": token, "tags": "parking, vip"})
    html = owner.get(f"/calls/{second['id']}").get_data(as_text=True)
    assert 'data-tag="parking"' in html and 'data-tag="vip"' in html
