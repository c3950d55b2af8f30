"""Contacts as the tracker shows them: names on calls and callbacks, the cheap look-up for the
desk phones' display, the first call of a contact, the funnel and task folds."""

import time
import zoneinfo

import tracker_events as te
from firmware.tracker import funnel
from firmware.tracker.contact_rules import Rules

WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
RULES = Rules(country="PL", tz=WARSAW, campaigns=("Shop window",))


def test_calls_and_callbacks_carry_the_contact(make_tracker):
    tracker = make_tracker()
    anna = tracker.contacts.create({"name": "Anna", "numbers": [te.MOBILE]}, "olga", RULES)
    te.feed(tracker, te.inbound(te.at(2024, 5, 6, 10), te.MOBILE, talk=None),
            te.inbound(te.at(2024, 5, 6, 11), te.FIXED))
    calls = tracker.calls(_all())
    by_caller = {c["caller"]: c["contact"] for c in calls}
    assert by_caller == {te.MOBILE: {"id": anna["id"], "name": "Anna"}, te.FIXED: None}
    assert tracker.call(calls[0]["id"])["contact"] == by_caller[calls[0]["caller"]]
    [entry] = tracker.callbacks()
    assert entry["contact"] == {"id": anna["id"], "name": "Anna"}
    assert tracker.contact_name(te.MOBILE) == "Anna"
    assert tracker.contact_name(te.FIXED) is None
    assert tracker.first_call_at([te.FIXED, te.MOBILE]) == te.at(2024, 5, 6, 10)
    assert tracker.first_call_at(["+48600000000"]) is None


def test_contacts_survive_a_restart_of_the_tracker(make_tracker, tmp_path, cfg, mock_pins):
    tracker = make_tracker()
    tracker.contacts.create({"name": "Anna", "numbers": [te.MOBILE]}, "olga", RULES)
    tracker.stop()
    again = make_tracker()
    assert again.contact_name(te.MOBILE) == "Anna"


def _all():
    from firmware.tracker.query import CallFilter
    return CallFilter()


def test_tasks_put_the_most_urgent_first():
    now = te.at(2024, 5, 6, 12)
    callbacks = [{"number": te.MOBILE, "first_missed_at": "2024-05-06T11:00:00+02:00",
                  "missed_calls": 2, "campaign": "Shop window", "contact": None}]
    contacts = [
        {"id": "c1", "name": "Later", "company": "", "numbers": [], "campaign": "",
         "owner": "sam", "next_contact_at": te.at(2024, 5, 7, 10)},
        {"id": "c2", "name": "Overdue", "company": "", "numbers": [te.FIXED], "campaign": "",
         "owner": "", "next_contact_at": te.at(2024, 5, 6, 8)},
    ]
    found = funnel.tasks(callbacks, contacts, now, WARSAW)
    assert [(t["kind"], t["contact"] and t["contact"]["name"], t["overdue"]) for t in found] == [
        ("follow_up", "Overdue", True), ("callback", None, True), ("follow_up", "Later", False)]
    assert found[0]["due_at"] == "2024-05-06T08:00:00+02:00" and found[0]["number"] == te.FIXED


def test_the_funnel_counts_contacts_created_in_the_period():
    day = 86400
    base = te.at(2024, 5, 6, 12)
    contacts = [
        {"id": "c1", "stage": "won", "campaign": "Shop window", "owner": "sam", "value": 500.0,
         "lost_reason": "", "numbers": [te.MOBILE], "created_at": base},
        {"id": "c2", "stage": "lost", "campaign": "Shop window", "owner": "", "value": None,
         "lost_reason": "Too expensive", "numbers": [], "created_at": base},
        {"id": "c3", "stage": "new", "campaign": "", "owner": "", "value": None,
         "lost_reason": "", "numbers": [], "created_at": base},
        {"id": "c4", "stage": "won", "campaign": "", "owner": "", "value": 9.0,
         "lost_reason": "", "numbers": [], "created_at": base - 30 * day},
    ]
    figures = funnel.funnel(contacts, base - day, base + day,
                            won_at=lambda cid: base + 4 * day,
                            first_call_at=lambda numbers: base - 2 * day if numbers else None,
                            sources={"Shop window": "Outdoor"})
    assert figures["stages"] == {"new": 1, "in_progress": 0, "offered": 0, "won": 1, "lost": 1}
    assert figures["by_campaign"][0] == {"name": "Shop window", "contacts": 2, "won": 1,
                                         "lost": 1, "value": 500.0}
    assert figures["lost_reasons"] == [{"reason": "Too expensive", "count": 1}]
    assert figures["avg_days_to_won"] == 6.0
    assert figures["by_source"][0]["name"] == "Outdoor"


def test_the_callback_led_lights_for_an_overdue_follow_up(make_tracker, mock_pins, monkeypatch):
    """Lit while a follow-up is past due, as for a caller waiting; the idle writer re-checks."""
    from firmware.tracker import service

    now = [te.at(2024, 5, 6, 9)]
    monkeypatch.setattr(service, "LED_TICK", 0.05)
    tracker = make_tracker(clock=lambda: now[0])
    led = mock_pins.pin(17)
    tracker.contacts.create({"name": "Anna", "stage": "in_progress",
                             "next_contact_at": "2024-05-06T10:00"}, "olga", RULES)
    tracker.refresh_callback_led()
    assert led.state is False
    now[0] = te.at(2024, 5, 6, 10, 1)
    deadline = time.monotonic() + 5
    while led.state is not True and time.monotonic() < deadline:
        time.sleep(0.02)
    assert led.state is True
    tracker.contacts.change("c1", {"stage": "won"}, "olga", RULES)
    tracker.refresh_callback_led()
    assert led.state is False


def test_each_contact_change_reaches_the_listeners_once_durable(make_tracker):
    tracker = make_tracker()
    heard = []
    tracker.subscribe(lambda event, data: heard.append((event, data["name"], data["stage"])))
    made = tracker.contacts.create({"name": "Anna Nowak", "numbers": ["601234567"]}, "boss",
                                   RULES)
    tracker.contacts.change(made["id"], {"stage": "offered"}, "boss", RULES)
    tracker.flush()
    assert heard == [("contact.changed", "Anna Nowak", "new"),
                     ("contact.changed", "Anna Nowak", "offered")]
