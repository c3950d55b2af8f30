"""Real boxes report their campaign set and their contacts into a real central: the central's
/api/campaigns for a site equals the box's own (same campaigns, costs and figures), also after
the box's config changes; /api/contacts shows each box's contacts, in the box's shape."""

from __future__ import annotations

import urllib.parse
from dataclasses import replace
from datetime import date

from firmware.tracker.contact_rules import Rules, to_api
from tests.central.test_central_boxes import CentralServer, boxes, calls_for, drained, owner
from tests.e2e.rig import free_port_block
from tests.tracker import tracker_events as te

__all__ = ["boxes", "owner"]          # fixtures used here

PERIODS = [(date(2024, 5, 1), date(2024, 5, 31)), (date(2024, 5, 6), date(2024, 5, 7)),
           (date(2024, 6, 1), date(2024, 6, 30))]
COSTS = """
[[campaign]]
name = "Radio"
number = "+48221234570"
source = "Radio"
lead_value = 50
cost_per_month = 900
"""


def quoted(name: str) -> str:
    return urllib.parse.quote(name)


def test_campaigns_and_contacts_reach_the_central_as_the_boxes_have_them(owner, boxes):
    server = CentralServer(owner, free_port_block(1))
    try:
        krakow_config = te.config(COSTS)
        krakow, krakow_link = boxes("Kraków", server.url, config=krakow_config)
        gdansk, gdansk_link = boxes("Gdańsk", server.url)
        te.feed(krakow, *calls_for(6), *calls_for(7, te.FIXED))
        te.feed(gdansk, *calls_for(6, "+48123456789"))
        rules = Rules(country="PL", tz=te.WARSAW, campaigns=("Shop window",), owners=None)
        anna = krakow.contacts.create({"name": "Anna Nowak", "numbers": [te.MOBILE],
                                       "campaign": "Shop window"}, "anna", rules)
        krakow.contacts.change(anna["id"], {"stage": "offered"}, "anna", rules)
        gdansk.contacts.create({"company": "Bud-Mar", "numbers": ["+48123456789"]}, "jan",
                               rules)
        drained(krakow_link)
        drained(gdansk_link)
        for start, end in PERIODS:
            span = f"from={start}&to={end}"
            for name, tracker in (("Kraków", krakow), ("Gdańsk", gdansk)):
                got = server.get(f"/api/campaigns?site={quoted(name)}&{span}")["campaigns"]
                assert got == tracker.campaigns(start, end), (name, span)
        may = server.get("/api/campaigns?from=2024-05-01&to=2024-05-31")["campaigns"]
        assert [c["name"] for c in may] == ["Shop window", "Newspaper", "Radio"]   # Gdańsk first
        one, two = krakow.campaigns(date(2024, 5, 1), date(2024, 5, 31)), \
            gdansk.campaigns(date(2024, 5, 1), date(2024, 5, 31))
        shop = {c["name"]: c for c in may}["Shop window"]
        assert shop["calls"] == sum(c["calls"] for c in one + two if c["name"] == "Shop window")
        assert {c["name"]: c for c in may}["Radio"]["cost"] == 930.0   # 31 days of 900 / 30

        # a config change on the box (a cost, a campaign gone) reaches the central
        changed = replace(krakow_config, campaigns=tuple(
            replace(c, cost_per_month=300.0) if c.name == "Radio" else c
            for c in krakow_config.campaigns if c.name != "Newspaper"))
        krakow.reload_config(changed)
        krakow_link.report_config(changed)          # what Box.apply_config does
        drained(krakow_link)
        span = "from=2024-05-01&to=2024-05-31"
        got = server.get(f"/api/campaigns?site=Krak%C3%B3w&{span}")["campaigns"]
        assert got == krakow.campaigns(date(2024, 5, 1), date(2024, 5, 31))
        assert {c["name"]: c["cost"] for c in got}["Radio"] == 310.0

        listed = server.get("/api/contacts")["contacts"]
        assert [(c["site"], c["name"] or c["company"]) for c in listed] == [
            ("Kraków", "Anna Nowak"), ("Gdańsk", "Bud-Mar")]
        mine = server.get("/api/contacts?site=Krak%C3%B3w")["contacts"]
        box_view = [to_api(c, te.WARSAW) for c in krakow.contacts.search()]
        assert [{k: v for k, v in c.items() if k != "site"} for c in mine] == box_view
        assert mine[0]["stage"] == "offered"
        found = server.get("/api/contacts?q=501&stage=offered")["contacts"]
        assert [c["name"] for c in found] == ["Anna Nowak"]
    finally:
        boxes.stop_uplinks()
        server.close()
