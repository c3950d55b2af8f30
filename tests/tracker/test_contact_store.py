"""The contacts store: the funnel's rules, one owner per number, every change kept, and the
journal's bar (durable appends, all-or-nothing imports, damaged files set aside)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zoneinfo

import pytest

from firmware.tracker.contact_store import ContactStore, ImportRow, NumberTaken
from firmware.tracker.contact_rules import Rules
from firmware.tracker.errors import BadInput, StoreLocked

WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
RULES = Rules(country="PL", tz=WARSAW, campaigns=("Shop window",), owners=("olga", "sam"))
NOW = 1_717_400_000.0          # 2024-06-03 09:33:20 Warsaw


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        self.now += 1
        return self.now


@pytest.fixture
def open_store(tmp_path):
    made = []

    def make():
        store = ContactStore(tmp_path / "contacts", clock=Clock())
        store.open()
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(open_store):
    return open_store()


def test_numbers_are_stored_in_e164_with_the_box_country(store):
    made = store.create({"name": "Anna Nowak", "numbers": ["501 234 567", "+48 22 111 11 11"]},
                        "olga", RULES)
    assert made["numbers"] == ["+48501234567", "+48221111111"]
    assert made["stage"] == "new" and made["id"] == "c1"
    assert store.contact_name("+48501234567") == "Anna Nowak"
    assert store.contact_name("+48600000000") is None


def test_a_number_belongs_to_one_contact(store):
    store.create({"name": "Anna", "numbers": ["501234567"]}, "olga", RULES)
    bob = store.create({"name": "Bob", "numbers": ["601234567"]}, "olga", RULES)
    with pytest.raises(NumberTaken) as caught:
        store.create({"name": "Anna again", "numbers": ["+48501234567"]}, "olga", RULES)
    assert caught.value.contact == {"id": "c1", "name": "Anna"}
    with pytest.raises(NumberTaken):
        store.change(bob["id"], {"numbers": ["601234567", "501234567"]}, "olga", RULES)
    assert len(store) == 2 and store.get("c2")["numbers"] == ["+48601234567"]


@pytest.mark.parametrize("body, field", [
    ({"stage": "in_progress"}, "next_contact_at"),
    ({"stage": "lost"}, "lost_reason"),
    ({"stage": "lost", "lost_reason": "Because"}, "lost_reason"),
    ({"stage": "won", "value": -5}, "value"),
    ({"stage": "done"}, "stage"),
    ({"next_contact_at": "tomorrow"}, "next_contact_at"),
    ({"numbers": ["12"]}, "numbers"),
    ({"email": "not-mail"}, "email"),
    ({"owner": "nobody"}, "owner"),
    ({"campaign": "Radio"}, "campaign"),
    ({"priority": "urgent"}, "priority"),
    ({"name": "x" * 201}, "name"),
    ({"colour": "red"}, "colour"),
    ({"name": "", "numbers": []}, "name"),
])
def test_a_bad_change_names_its_field_and_changes_nothing(store, body, field):
    made = store.create({"name": "Anna", "numbers": ["501234567"]}, "olga", RULES)
    written = store.bytes_written
    with pytest.raises(BadInput) as caught:
        store.change(made["id"], body, "sam", RULES)
    assert caught.value.field == field
    assert store.get(made["id"]) == made and store.bytes_written == written


def test_the_funnel_and_its_history(store):
    made = store.create({"name": "Anna", "numbers": ["501234567"]}, "olga", RULES)
    moved = store.change(made["id"], {"stage": "in_progress",
                                      "next_contact_at": "2024-06-04T10:00"}, "sam", RULES)
    assert moved["next_contact_at"] == 1717488000.0          # 10:00 Warsaw time
    store.change(made["id"], {"stage": "offered"}, "sam", RULES)
    store.change(made["id"], {"stage": "lost", "lost_reason": "Too expensive"}, "olga", RULES)
    back = store.change(made["id"], {"stage": "won", "value": 1200}, "olga", RULES)
    assert back["lost_reason"] == "" and back["value"] == 1200.0
    store.add_note(made["id"], "Signed on the phone", "sam")
    history = store.history(made["id"])
    stages = [h["fields"]["stage"] for h in history if "stage" in h.get("fields", {})]
    assert stages == ["new", "in_progress", "offered", "lost", "won"]
    assert [h["by"] for h in history] == ["olga", "sam", "sam", "olga", "olga", "sam"]
    assert all(h["at"] > NOW for h in history)
    assert history[-1]["text"] == "Signed on the phone"


def test_the_owner_edits_the_lost_reasons(store):
    made = store.create({"name": "Anna"}, "olga", RULES)
    store.set_reasons(["Went abroad", "Too expensive"], "olga")
    with pytest.raises(BadInput):
        store.change(made["id"], {"stage": "lost", "lost_reason": "Chose a competitor"},
                     "olga", RULES)
    assert store.change(made["id"], {"stage": "lost", "lost_reason": "Went abroad"},
                        "olga", RULES)["stage"] == "lost"
    with pytest.raises(BadInput):
        store.set_reasons([], "olga")


def test_everything_survives_a_restart(tmp_path, open_store):
    store = open_store()
    store.create({"name": "Anna", "company": "Zdrój", "numbers": ["501234567"]}, "olga", RULES)
    store.set_reasons(["Went abroad"], "olga")
    store.add_note("c1", "hello", "sam")
    store.close()
    again = open_store()
    assert again.get("c1")["company"] == "Zdrój" and again.reasons() == ["Went abroad"]
    assert len(again.history("c1")) == 2 and again.contact_name("+48501234567") == "Anna"
    assert again.create({"name": "Bob"}, "olga", RULES)["id"] == "c2"


def test_a_second_process_cannot_write(tmp_path, store):
    other = ContactStore(tmp_path / "contacts")
    with pytest.raises(StoreLocked):
        other.open()


def test_a_damaged_file_is_set_aside_and_good_lines_kept(tmp_path, open_store, caplog):
    store = open_store()
    store.create({"name": "Anna", "numbers": ["501234567"]}, "olga", RULES)
    store.create({"name": "Bob"}, "olga", RULES)
    store.close()
    path = tmp_path / "contacts" / "contacts-000001.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b"{not json\n" + lines[1] + b'{"op": "set", "id": "c3"')
    again = open_store()
    assert [c["name"] for c in again.search()] == ["Anna", "Bob"]
    assert again.repaired_files() == ["contacts-000001.jsonl"]
    kept = list((tmp_path / "contacts").glob("contacts-000001.jsonl.corrupt-*"))
    assert len(kept) == 1 and b"{not json" in kept[0].read_bytes()
    assert "line(s) 2, 4" in caplog.text
    assert again.create({"name": "Cleo"}, "olga", RULES)["id"] == "c3"


def test_a_kill_never_loses_an_acknowledged_change(tmp_path):
    script = textwrap.dedent(f"""
        import zoneinfo
        from pathlib import Path
        from firmware.tracker.contact_store import ContactStore
        from firmware.tracker.contact_rules import Rules
        rules = Rules(country="PL", tz=zoneinfo.ZoneInfo("Europe/Warsaw"))
        store = ContactStore(Path({str(tmp_path)!r}))
        store.open()
        n = 0
        while True:
            store.create({{"name": f"n{{n}}", "notes": "x" * 700}}, "olga", rules)
            print(n, flush=True)
            n += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    acknowledged = -1
    deadline = time.monotonic() + 10
    while acknowledged < 100 and time.monotonic() < deadline:
        acknowledged = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    store = ContactStore(tmp_path)
    store.open()
    try:
        assert len(store) >= acknowledged + 1
        assert store.get(f"c{acknowledged + 1}")["name"] == f"n{acknowledged}"
    finally:
        store.close()


def rows(*specs):
    return [ImportRow(row=n, fields=fields, numbers=numbers)
            for n, (fields, numbers) in enumerate(specs, 2)]


def test_an_import_matches_by_number_and_rejects_rows_with_reasons(store):
    store.create({"name": "Anna", "email": "anna@example.com", "numbers": ["501234567"]},
                 "olga", RULES)
    store.create({"name": "Bob", "numbers": ["601234567"]}, "olga", RULES)
    result = store.import_rows(rows(
        ({"name": "Anna Nowak", "email": ""}, ["+48 501 234 567", "22 111 11 11"]),
        ({"name": "Cleo", "company": "Sklep"}, ["22 333 44 55"]),
        ({"name": "Dan"}, ["abc"]),
        ({"name": "Mix"}, ["501234567", "601234567"]),
        ({"name": "Cleo twice"}, ["223334455"]),
        ({"name": "", "company": ""}, []),
    ), "Shop window", "olga", RULES)
    assert result.to_api() == {"imported": 1, "updated": 2, "rejected": [
        {"row": 4, "error": "not a phone number: abc"},
        {"row": 5, "error": "its numbers belong to different contacts"},
        {"row": 7, "error": "name: give a name or a phone number"}]}
    anna = store.get("c1")
    assert anna["name"] == "Anna Nowak" and anna["email"] == "anna@example.com"
    assert anna["numbers"] == ["+48501234567", "+48221111111"]
    assert anna["campaign"] == "Shop window"
    cleo = store.get("c3")
    assert cleo["name"] == "Cleo twice" and cleo["stage"] == "new"
    assert cleo["company"] == "Sklep" and cleo["campaign"] == "Shop window"


def test_an_import_is_one_line_all_or_nothing(tmp_path, open_store):
    store = open_store()
    store.import_rows(rows(*[({"name": f"P{n}"}, [f"+4850{n:07d}"]) for n in range(50)]),
                      "", "olga", RULES)
    store.close()
    path = tmp_path / "contacts" / "contacts-000001.jsonl"
    [line] = path.read_bytes().splitlines()
    assert json.loads(line)["op"] == "batch"
    path.write_bytes(path.read_bytes()[:-200])        # the write cut short by a power cut
    again = open_store()
    assert len(again) == 0


def test_search_by_name_company_and_number(store):
    store.create({"name": "Anna Nowak", "company": "Hotel Zdrój", "numbers": ["501234567"]},
                 "olga", RULES)
    store.create({"name": "Bob", "company": "Sklep", "numbers": ["+442079460000"]},
                 "olga", RULES)
    names = lambda q: [c["name"] for c in store.search(q)]  # noqa: E731
    assert names("anna") == ["Anna Nowak"]
    assert names("zdrój") == ["Anna Nowak"]
    assert names("501 234") == ["Anna Nowak"]
    assert names("+48501234567") == ["Anna Nowak"]
    assert names("020 7946 0000") == ["Bob"]
    assert names("") == ["Anna Nowak", "Bob"]
    assert [c["name"] for c in store.search(stage="won")] == []


def test_a_hand_edited_line_with_bad_values_is_set_aside(tmp_path, open_store):
    store = open_store()
    store.create({"name": "Anna", "numbers": ["501234567"]}, "olga", RULES)
    store.close()
    path = tmp_path / "contacts" / "contacts-000001.jsonl"
    with open(path, "ab") as out:
        out.write(b'{"op":"set","id":"c1","at":1,"by":"x","fields":{"numbers":"abc"}}\n')
        out.write(b'{"op":"set","id":"c1","at":1,"by":"x","fields":{"stage":"maybe"}}\n')
        out.write(b'{"op":"set","id":"c1","at":1,"by":"x","fields":{"shoe":1}}\n')
    again = open_store()
    assert again.get("c1")["numbers"] == ["+48501234567"] and again.get("c1")["stage"] == "new"
    assert again.repaired_files() == ["contacts-000001.jsonl"]
