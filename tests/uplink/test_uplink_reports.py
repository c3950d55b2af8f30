"""What the uplink keeps besides calls: the campaign set (at start and when a saved config
changes it, never twice the same) and contact changes (only those, from Tracker.subscribe)."""

from __future__ import annotations

from dataclasses import replace

from firmware.config import CentralLink
from firmware.uplink.outbox import Outbox
from firmware.uplink.sender import Uplink
from tests.tracker import tracker_events as te


def uplink(tmp_path) -> Uplink:
    link = CentralLink("http://127.0.0.1:9", "Kraków", "krakow-token-0123456789")
    return Uplink(link, "Europe/Warsaw", Outbox(tmp_path / "outbox").open())


def test_the_campaign_set_is_kept_at_start_and_on_a_change_only(tmp_path):
    box = uplink(tmp_path)
    config = te.config()
    box.report_config(config)
    box.report_config(config)                                   # nothing changed
    cheaper = replace(config, campaigns=(replace(config.campaigns[0], cost_per_month=99.0),))
    box.report_config(cheaper)
    kept = box.outbox.batch(10)
    assert [e["kind"] for e in kept] == ["campaigns", "campaigns"]
    assert [c["name"] for c in kept[0]["campaigns"]] == ["Shop window", "Newspaper"]
    assert kept[0]["campaigns"][0]["number"] == te.SHOP
    assert kept[1]["campaigns"] == [{**kept[0]["campaigns"][0], "cost_per_month": 99.0}]
    box.outbox.close()


def test_contact_changes_are_kept_and_the_integrations_kinds_ignored(tmp_path):
    box = uplink(tmp_path)
    box.listen_contacts("contact.changed", {"id": "c1", "name": "Anna", "numbers": ("+48501",)})
    box.listen_contacts("wrapup.saved", {"id": "x", "started_at": "2024-05-06T10:00:00+02:00"})
    box.listen_contacts("call.ended", {"id": "y"})
    kept = box.outbox.batch(10)
    assert [(e["kind"], e["contact"]["id"]) for e in kept] == [("contact", "c1")]
    box.outbox.close()
