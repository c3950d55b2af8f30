"""Bindings: which addresses are registered phones' (the transaction table's protected hosts),
kept right through puts, removals, expiry and a restart (dump, load)."""

from __future__ import annotations

import json

from firmware.pbx.bindings import Binding, BindingFile, Bindings

NOW = 1000.0


def binding(contact: str, host: str, expires_at: float = NOW + 600) -> Binding:
    return Binding(contact, expires_at, host, 5060, "UDP", "call-1", 1, "phone")


def test_reached_from_names_the_hosts_of_live_bindings_only():
    bindings = Bindings()
    bindings.put("101", binding("sip:101@10.0.0.7", "203.0.113.5"))
    bindings.put("102", binding("sip:102@10.0.0.8", "203.0.113.5", expires_at=NOW + 60))
    bindings.put("103", binding("sip:103@10.0.0.9", "198.51.100.9"))
    assert bindings.reached_from("203.0.113.5", NOW)
    assert bindings.reached_from("198.51.100.9", NOW)
    assert not bindings.reached_from("192.0.2.1", NOW)
    assert not bindings.reached_from("10.0.0.7", NOW)              # a Contact is no source
    assert not bindings.reached_from("198.51.100.9", NOW + 601)    # expired
    bindings.remove("101")
    assert bindings.reached_from("203.0.113.5", NOW)               # 102 is still there
    assert not bindings.reached_from("203.0.113.5", NOW + 61)


def test_a_phone_that_moved_is_no_longer_reached_from_its_old_address():
    bindings = Bindings()
    bindings.put("101", binding("sip:101@10.0.0.7", "203.0.113.5"))
    bindings.put("101", binding("sip:101@10.0.0.7", "203.0.113.77"))   # same contact, new NAT
    assert bindings.reached_from("203.0.113.77", NOW)
    assert not bindings.reached_from("203.0.113.5", NOW)
    bindings.remove("101", "sip:101@10.0.0.7")
    assert not bindings.reached_from("203.0.113.77", NOW)
    assert bindings.extensions() == []


def test_reached_from_survives_a_restart(tmp_path):
    bindings = Bindings()
    bindings.put("101", binding("sip:101@10.0.0.7", "203.0.113.5"))
    bindings.put("102", binding("sip:102@10.0.0.8", "198.51.100.9", expires_at=NOW + 10))
    file = BindingFile(tmp_path / "bindings.json")
    file.write(bindings)
    restored = file.read(NOW + 20)                  # 102's binding ran out while it was down
    assert restored.reached_from("203.0.113.5", NOW + 20)
    assert not restored.reached_from("198.51.100.9", NOW + 20)
    assert json.loads((tmp_path / "bindings.json").read_text())["101"][0]["source_host"] \
        == "203.0.113.5"
