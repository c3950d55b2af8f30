"""GA4 Measurement Protocol: one `phone_call` per ended inbound campaign call, to a local
receiver standing in for GA4, kept while offline up to 72 h; "validate" asks the debug
endpoint and shows its answer."""

import json

from firmware.integrations import ga4
from tests.integrations.integ_helpers import T0, config_with, h
from tests.integrations.receiver import Receiver
from tests.e2e.rig import free_port_block

GA4 = '\n[ga4]\nmeasurement_id = "G-TEST123"\napi_secret = "ga4-secret"\nendpoint = "{}"\n'


def ga4_config(port: int):
    return config_with(GA4.format(f"http://127.0.0.1:{port}/mp/collect"))


def test_one_phone_call_event_per_inbound_campaign_call(make_integrations, make_tracker, clock):
    with Receiver() as receiver:
        config = ga4_config(receiver.port)
        service = make_integrations(config)
        tracker = make_tracker(config, service)
        h.feed(tracker, h.inbound(T0 - 600, h.MOBILE, h.SHOP, talk=95),
               h.inbound(T0 - 300, h.MOBILE2, h.PAPER, talk=None))
        tracker.submit(h.ev.DialledOut("out1", "101", h.MOBILE, T0 - 200))   # outbound: no
        tracker.submit(h.ev.CallAnswered("out1", "", T0 - 190))
        tracker.submit(h.ev.CallEnded("out1", h.ev.COMPLETED, T0 - 100))
        tracker.flush()
        service.run_once(clock.now)
        got = receiver.delivered()
    assert len(got) == 2
    assert got[0]["path"] == "/mp/collect?measurement_id=G-TEST123&api_secret=ga4-secret"
    first, second = (json.loads(g["body"]) for g in got)
    assert first["events"] == [{"name": "phone_call", "params": {
        "campaign": "Shop window", "source": "Outdoor", "status": "answered", "duration": 95,
        "value": 300.0, "currency": "PLN"}}]
    assert first["timestamp_micros"] == int((T0 - 600 + 5 + 95) * 1_000_000)
    assert second["events"][0]["params"]["status"] == "missed"
    assert second["events"][0]["params"]["campaign"] == "Newspaper"
    # the caller's number never leaves the box; the same caller keeps one client_id
    assert h.MOBILE not in got[0]["body"].decode() and first["client_id"] != second["client_id"]


def test_events_wait_while_offline_and_arrive_within_72_hours(make_integrations, clock):
    port = free_port_block(1)
    service = make_integrations(ga4_config(port))
    call = {"id": "c1", "direction": "inbound", "campaign": "Shop window", "source": "Outdoor",
            "status": "answered", "talk_seconds": 30, "value": 0, "caller": h.MOBILE,
            "started_at": "2023-11-14T23:00:00+01:00"}
    service.listen("call.ended", call)
    service.listen("call.ended", {**call, "id": "c2"})
    while clock.now < T0 + 70 * 3600:                  # 70 hours without the internet
        service.run_once(clock.now)
        clock.now += 600
    assert {i.state for i in service.deliveries()} == {"pending"}
    with Receiver(port=port) as receiver:
        clock.now += 3600
        service.run_once(clock.now)
        assert len(receiver.delivered()) == 2


def test_events_older_than_72_hours_are_given_up(make_integrations, clock):
    service = make_integrations(ga4_config(free_port_block(1)))
    service.listen("call.ended", {"id": "c1", "direction": "inbound", "campaign": "Shop window",
                                  "started_at": "2023-11-14T23:00:00+01:00"})
    while clock.now < T0 + 73 * 3600:
        service.run_once(clock.now)
        clock.now += 600
    item = service.deliveries()[0]
    assert item.state == "failed"


def test_validate_asks_the_debug_endpoint_and_returns_its_answer(make_integrations):
    with Receiver() as receiver:
        receiver.body = b'{"validationMessages": []}'
        service = make_integrations(ga4_config(receiver.port))
        answer = service.validate_ga4()
    assert (answer.status, answer.body) == (200, '{"validationMessages": []}')
    assert receiver.got[0]["path"].startswith("/debug/mp/collect?measurement_id=G-TEST123")
    assert json.loads(receiver.got[0]["body"])["events"][0]["name"] == "phone_call"


def test_debug_endpoint_of_the_real_and_eu_servers():
    assert ga4.debug_endpoint("https://www.google-analytics.com/mp/collect") == \
        "https://www.google-analytics.com/debug/mp/collect"
    assert ga4.debug_endpoint("https://region1.google-analytics.com/mp/collect") == \
        "https://region1.google-analytics.com/debug/mp/collect"
