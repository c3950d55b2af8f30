"""Webhooks against a real HTTP receiver on loopback: signed, at least once, in order per
call, retried with growing delays across restarts (frozen clock: `run_once(now)`)."""

import json
import logging

from tests.integrations.integ_helpers import SECRET, T0, config_with, h, webhook
from tests.integrations.receiver import Receiver
from firmware.integrations import webhooks
from firmware.integrations.http_post import post, url_problem
from firmware.tracker.query import CallFilter
from tests.e2e.rig import free_port_block


def deliveries(receiver):
    return [json.loads(g["body"]) for g in receiver.delivered()]


def test_an_ended_call_is_posted_signed_as_the_contract_says(make_integrations, make_tracker,
                                                             clock, caplog):
    caplog.set_level(logging.INFO)
    with Receiver() as receiver:
        config = config_with(webhook(receiver.url))
        service = make_integrations(config)
        tracker = make_tracker(config, service)
        h.feed(tracker, h.inbound(T0 - 100, h.MOBILE, h.SHOP, talk=60))
        assert service.run_once(clock.now) == 1
        got = receiver.delivered()[0]
        body = json.loads(got["body"])
        assert body["event"] == "call.ended" and body["delivery"].startswith("dlv_")
        assert body["at"].endswith("+01:00")
        call = body["data"]
        assert (call["caller"], call["campaign"], call["status"]) == (h.MOBILE, "Shop window",
                                                                      "answered")
        assert got["headers"]["X-Callbox-Delivery"] == body["delivery"]
        signature = got["headers"]["X-Callbox-Signature"]
        assert signature.startswith(f"t={int(T0)},v1=")
        assert webhooks.verify(SECRET, signature, got["body"], T0)
        assert not webhooks.verify("another-secret-xxxxx", signature, got["body"], T0)
        assert not webhooks.verify(SECRET, signature, got["body"] + b" ", T0)
        assert not webhooks.verify(SECRET, signature, got["body"], T0 + 3600)   # replayed
    assert SECRET not in caplog.text


def test_events_are_filtered_per_webhook(make_integrations, make_tracker, clock):
    with Receiver() as receiver:
        config = config_with(webhook(receiver.url, 'events = ["call.missed"]'))
        service = make_integrations(config)
        tracker = make_tracker(config, service)
        h.feed(tracker, h.inbound(T0 - 500, h.MOBILE, h.SHOP, talk=60),
               h.inbound(T0 - 300, h.MOBILE2, h.SHOP, talk=None))
        service.run_once(clock.now)
        assert [(d["event"], d["data"]["caller"]) for d in deliveries(receiver)] == \
            [("call.missed", h.MOBILE2)]


def test_fails_then_recovers_across_a_restart_with_the_same_delivery(
        make_integrations, make_tracker, clock):
    with Receiver(answers=[500, 500]) as receiver:
        config = config_with(webhook(receiver.url))
        service = make_integrations(config)
        tracker = make_tracker(config, service)
        h.feed(tracker, h.inbound(T0 - 100, h.MOBILE, h.SHOP, talk=60))
        service.run_once(clock.now)                     # 500
        item = service.deliveries()[0]
        assert (item.state, item.tries, item.last_status) == ("pending", 1, 500)
        assert item.next_at == T0 + 30
        clock.now += 10
        assert service.run_once(clock.now) == 0         # not yet
        clock.now += 20
        assert service.run_once(clock.now) == 1         # 500 again: next in 60 s
        assert service.deliveries()[0].next_at == clock.now + 60
        tracker.stop()
        service.stop()                                  # the box goes down ...
        clock.now += 5
        again = make_integrations(config)               # ... and comes back
        assert again.run_once(clock.now) == 1           # a restart tries at once
        item = again.deliveries()[0]
        assert (item.state, item.tries, item.last_status) == ("delivered", 3, 200)
        ids = {g["headers"]["X-Callbox-Delivery"] for g in receiver.got}
        assert ids == {item.id}                         # every try: one delivery id
        assert len({g["body"] for g in receiver.got}) == 1


def test_order_per_call_is_kept_while_the_first_event_waits(make_integrations, make_tracker,
                                                            clock):
    with Receiver(answers=[503]) as receiver:
        config = config_with(webhook(receiver.url))
        service = make_integrations(config)
        tracker = make_tracker(config, service)
        h.feed(tracker, h.inbound(T0 - 100, h.MOBILE, h.SHOP, talk=60))
        call_id = tracker.calls(CallFilter())[0]["id"]
        tracker.wrapup(call_id, {"rating": 5})
        service.run_once(clock.now)                     # call.ended: 503, the target waits
        clock.now += 30
        service.run_once(clock.now)
        assert [d["event"] for d in deliveries(receiver)] == ["call.ended", "wrapup.saved"]
        assert deliveries(receiver)[1]["data"]["wrapup"]["rating"] == 5


def test_a_thousand_calls_while_the_receiver_is_down_for_an_hour(make_integrations, clock):
    port = free_port_block(1)
    url = f"http://127.0.0.1:{port}/hooks"
    service = make_integrations(config_with(webhook(url)))
    for n in range(1000):
        service.listen("call.ended", {"id": f"call{n}", "direction": "inbound",
                                      "caller": h.MOBILE, "campaign": "Shop window"})
    tries = 0
    while clock.now < T0 + 3600:                       # an hour down: connection refused
        tries += service.run_once(clock.now)
        clock.now += 10
    assert tries < 20                                  # one probe per step, not 1,000
    with Receiver(port=port) as receiver:
        clock.now += 3600
        service.run_once(clock.now)
        got = deliveries(receiver)
    assert len(got) == 1000
    assert [d["data"]["id"] for d in got] == [f"call{n}" for n in range(1000)]
    assert len({d["delivery"] for d in got}) == 1000
    assert all(i.state == "delivered" for i in service.deliveries(2000))


def test_a_hanging_receiver_times_out_and_is_retried(make_integrations, clock):
    with Receiver() as receiver:
        receiver.hang = 1.5
        service = make_integrations(config_with(webhook(receiver.url)),
                                    sender=lambda u, b, hd: post(u, b, hd, timeout=0.3))
        service.listen("call.ended", {"id": "c1"})
        service.run_once(clock.now)
        item = service.deliveries()[0]
        assert item.state == "pending" and "no answer within 0.3 s" in item.last_error
        assert item.next_at == T0 + 30


def test_redirects_are_not_followed_and_a_4xx_holds_only_its_item(make_integrations, clock):
    with Receiver(answers=[302, 400]) as receiver:
        receiver.location = "http://127.0.0.1:9/elsewhere"
        service = make_integrations(config_with(webhook(receiver.url)))
        service.listen("call.ended", {"id": "c1"})
        service.listen("call.ended", {"id": "c2"})
        service.run_once(clock.now)
        first = {i.id: i for i in service.deliveries()}
        assert sorted(i.last_error for i in first.values()) == [
            "", "HTTP 302: redirects are not followed"]
        clock.now += 30
        service.run_once(clock.now)          # c1: 400 (about c1 only), c2 goes on: 200
        states = sorted((i.last_status, i.state) for i in service.deliveries())
        assert states == [(200, "delivered"), (400, "pending")]
        assert len(receiver.got) == 3 and receiver.got[0]["path"] == "/hooks/callbox"


def test_send_again_and_send_a_test(make_integrations, clock):
    with Receiver() as receiver:
        service = make_integrations(config_with(webhook(receiver.url)))
        service.listen("call.ended", {"id": "c1"})
        service.run_once(clock.now)
        first = service.deliveries()[0]
        service.send_again(first.id)
        test = service.send_test(receiver.url)
        clock.now += 1
        service.run_once(clock.now)
        got = deliveries(receiver)
        assert [d["delivery"] for d in got] == [first.id, first.id, test.id]
        assert got[2]["event"] == "test"
        assert service.deliveries()[-1].tries == 2 or any(
            i.tries == 2 for i in service.deliveries())


def test_a_removed_webhook_stops_its_deliveries(make_integrations, clock):
    service = make_integrations(config_with(webhook("http://127.0.0.1:9/x")))
    service.listen("call.ended", {"id": "c1"})
    service.reload_config(config_with(""))
    service.run_once(clock.now)
    item = service.deliveries()[0]
    assert (item.state, item.last_error) == ("failed", "no longer in the config")


def test_urls_must_be_https_outside_loopback():
    assert url_problem("https://crm.example/x") is None
    assert url_problem("http://127.0.0.5:8080/x") is None
    assert "https" in url_problem("http://crm.example/x")
    assert url_problem("ftp://crm.example/x")
    assert post("http://crm.example/x", b"{}", {}).error.startswith("URL must use https")


def test_a_call_recorded_but_not_queued_before_a_crash_is_queued_at_start(
        make_integrations, make_tracker, clock):
    with Receiver() as receiver:
        config = config_with(webhook(receiver.url, 'events = ["call.ended"]'))
        service = make_integrations(config)
        tracker = make_tracker(config, service)
        h.feed(tracker, h.inbound(T0 - 900, h.MOBILE, h.SHOP, talk=60))
        tracker._listeners.clear()        # the kill falls between the two fsyncs ...
        h.feed(tracker, h.inbound(T0 - 600, h.MOBILE2, h.SHOP, talk=30))
        tracker.stop()
        service.stop()
        again = make_integrations(config)
        tracker = make_tracker(config, again)
        again.start_mail(tracker)         # ... the restart queues the second call
        again.run_once(clock.now)
        callers = sorted(d["data"]["caller"] for d in deliveries(receiver))
        assert callers == sorted([h.MOBILE, h.MOBILE2])      # each once


def test_a_receiver_answering_garbage_is_a_clear_failure(make_integrations, clock):
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer_garbage():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"\x00\xffnot http at all\r\n\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        service = make_integrations(config_with(webhook(f"http://127.0.0.1:{port}/x")))
        service.listen("call.ended", {"id": "c1"})
        service.run_once(clock.now)
    finally:
        thread.join(5)
        listener.close()
    item = service.deliveries()[0]
    assert item.state == "pending" and item.last_status is None
    assert item.last_error.startswith("BadStatusLine") and item.next_at == T0 + 30
