"""The Tracker end to end: events in, API shapes out, one writer, restarts, LEDs."""

import threading
from datetime import date

import pytest

import tracker_events as te
from firmware.hw.indicators import Indicators
from firmware.tracker import store as store_module
from firmware.tracker.errors import BadInput, StoreError
from firmware.tracker.query import CallFilter
from firmware.tracker.service import Tracker

CALL_KEYS = {"id", "started_at", "direction", "caller", "callee", "campaign", "source", "status",
             "wait_seconds", "talk_seconds", "answered_by", "target", "first_time", "line_type",
             "wrapup"}
CALLBACK_KEYS = {"number", "missed_calls", "first_missed_at", "last_missed_at", "campaign"}
SUMMARY_KEYS = {"answered", "missed", "to_call_back", "avg_wait_seconds", "target_calls",
                "first_time_callers", "top_campaigns", "top_sources", "calls_by_hour",
                "value_over_time", "caller_line_types"}


def test_api_shapes(make_tracker):
    tracker = make_tracker()
    te.feed(tracker, te.inbound(te.at(2024, 5, 6, 10), talk=None),
            te.inbound(te.at(2024, 5, 6, 11), te.FIXED, ring=3, talk=45, by="102"))
    answered, missed = tracker.calls(CallFilter())
    assert CALL_KEYS <= set(answered)
    assert {k: answered[k] for k in CALL_KEYS} == {
        "id": answered["id"], "started_at": "2024-05-06T11:00:00+02:00",
        "direction": "inbound", "caller": te.FIXED, "callee": te.SHOP,
        "campaign": "Shop window", "source": "Outdoor", "status": "answered",
        "wait_seconds": 3, "talk_seconds": 45, "answered_by": "102", "target": True,
        "first_time": True, "line_type": "fixed_line", "wrapup": None}
    assert missed["missed_reason"] == "caller_hangup" and missed["id"] < answered["id"]
    assert tracker.call(missed["id"]) == missed and tracker.call("nope") is None
    [entry] = tracker.callbacks()
    assert CALLBACK_KEYS <= set(entry)
    assert SUMMARY_KEYS <= set(tracker.summary(date(2024, 5, 6), date(2024, 5, 6)))


def test_everything_survives_a_restart(make_tracker, tmp_path):
    tracker = make_tracker()
    te.feed(tracker, te.inbound(te.at(2024, 5, 6, 10)),
            te.inbound(te.at(2024, 5, 6, 11), te.FIXED, talk=None))
    call_id = tracker.calls(CallFilter(status="answered"))[0]["id"]
    tracker.wrapup(call_id, {"rating": 4, "tags": ["price"], "value": 50})
    before = (tracker.calls(CallFilter()), tracker.callbacks(),
              tracker.summary(date(2024, 5, 1), date(2024, 5, 31)))
    tracker.stop()
    tracker.stop()                                     # idempotent
    again = make_tracker()
    after = (again.calls(CallFilter()), again.callbacks(),
             again.summary(date(2024, 5, 1), date(2024, 5, 31)))
    assert after == before
    # flags and history carry on from the journal
    te.feed(again, te.inbound(te.at(2024, 5, 7, 10)))
    assert again.calls(CallFilter())[0]["first_time"] is False


def test_wrapup(make_tracker):
    tracker = make_tracker(clock=lambda: 1715000000.0)
    te.feed(tracker, te.inbound(te.at(2024, 5, 6, 10)))
    [call] = tracker.calls(CallFilter())
    updated = tracker.wrapup(call["id"], {"rating": 5, "comment": "wants a quote",
                                          "category": "sales"})
    assert updated["wrapup"]["rating"] == 5 and updated["value"] == 300
    updated = tracker.wrapup(call["id"], {"value": 0, "answered_by": "102", "tags": ["a"]})
    assert updated["wrapup"]["comment"] == "wants a quote"        # merged, not replaced
    assert updated["value"] == 0 and updated["answered_by"] == "102"
    assert tracker.call(call["id"]) == updated


@pytest.mark.parametrize("fields, field", [
    ({"rating": 6}, "rating"), ({"rating": True}, "rating"), ({"rating": "5"}, "rating"),
    ({"tags": "a"}, "tags"), ({"tags": ["x" * 41]}, "tags"), ({"tags": [1]}, "tags"),
    ({"category": 3}, "category"), ({"comment": "x" * 2001}, "comment"),
    ({"value": -1}, "value"), ({"value": float("inf")}, "value"), ({"value": "10"}, "value"),
    ({"answered_by": "999"}, "answered_by"), ({"mood": "good"}, "mood"),
])
def test_wrapup_rejects(make_tracker, fields, field):
    tracker = make_tracker()
    te.feed(tracker, te.inbound(te.at(2024, 5, 6, 10)))
    [call] = tracker.calls(CallFilter())
    with pytest.raises(BadInput) as bad:
        tracker.wrapup(call["id"], fields)
    assert bad.value.field == field
    assert tracker.call(call["id"])["wrapup"] is None


def test_wrapup_of_unknown_call(make_tracker):
    with pytest.raises(KeyError):
        make_tracker().wrapup("nope", {"rating": 1})


def test_callback_led_from_start_up(make_tracker, tmp_path, mock_pins):
    tracker = make_tracker()
    led = mock_pins.pin(17)
    assert led.state is False
    te.feed(tracker, te.inbound(te.at(2024, 5, 6, 10), talk=None))
    assert led.state is True
    tracker.stop()
    mock_pins.reset()
    make_tracker()
    assert mock_pins.pin(17).state is True                        # lit right from start-up


def test_callback_led_goes_dark_when_the_queue_empties(make_tracker, mock_pins):
    tracker = make_tracker()
    te.feed(tracker, te.inbound(te.at(2024, 5, 6, 10), talk=None))
    tracker.dismiss_callback(te.MOBILE, "spam", "owner")
    assert mock_pins.pin(17).state is False


def test_status_led(tmp_path, cfg, mock_pins):
    leds = Indicators(cfg.hw, pin_factory=mock_pins)
    tracker = Tracker(cfg, tmp_path)
    tracker.published.listen(leds.listen)
    with tracker, leds.status as status:
        assert status.mode == "blink"             # "provider" registers: down until it reports
        tracker.set_trunk_state("provider", True)
        assert status.mode == "on" and mock_pins.pin(27).state is True
        tracker.set_trunk_state("provider", False)
        assert status.mode == "blink"


def test_no_leds_configured(tmp_path, cfg):
    import dataclasses
    config = dataclasses.replace(cfg, hw=dataclasses.replace(cfg.hw, callback_led=None,
                                                             status_led=None))
    with Tracker(config, tmp_path) as tracker:          # no pin factory needed at all
        te.feed(tracker, te.inbound(te.at(2024, 5, 6, 10), talk=None))
        tracker.set_trunk_state("provider", True)
        assert tracker.queue_size() == 1


def test_second_tracker_on_the_same_folder_is_refused(make_tracker, tmp_path, cfg, mock_pins):
    from firmware.tracker.errors import StoreLocked
    make_tracker()
    other = Tracker(cfg, tmp_path, pin_factory=mock_pins)
    with pytest.raises(StoreLocked):
        other.start()
    other.stop()


def test_readers_while_writing(make_tracker):
    tracker = make_tracker()
    start = te.at(2024, 5, 6, 8)
    errors = []

    def read():
        try:
            for _ in range(50):
                tracker.calls(CallFilter())
                tracker.summary(date(2024, 5, 6), date(2024, 5, 6))
                tracker.callbacks()
        except Exception as exc:  # reported below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    te.feed(tracker, *[te.inbound(start + 60 * n, f"+48501000{n:03d}", talk=None if n % 2 else 40)
                       for n in range(200)])
    for thread in readers:
        thread.join()
    assert errors == []
    assert len(tracker.calls(CallFilter())) == 200 and tracker.queue_size() == 100


def test_a_failed_write_is_retried(make_tracker, monkeypatch, caplog):
    tracker = make_tracker()
    real_append = store_module.Store.append
    failing = {"on": True}

    def append(self, month, doc):
        if failing["on"]:
            raise StoreError("disk full")
        return real_append(self, month, doc)

    monkeypatch.setattr(store_module.Store, "append", append)
    with pytest.raises(StoreError, match="1 call records not yet written: .*disk full"):
        te.feed(tracker, te.inbound(te.at(2024, 5, 6, 10)))
    assert tracker.storage_state() == "error: disk full"
    assert len(tracker.calls(CallFilter())) == 1                  # shown, not yet durable
    failing["on"] = False
    tracker.flush()
    assert tracker.storage_state() == "ok"
    tracker.stop()
    assert len(make_tracker().calls(CallFilter())) == 1


def test_submit_after_stop_is_dropped(make_tracker, caplog):
    tracker = make_tracker()
    tracker.stop()
    tracker.submit(te.inbound(te.at(2024, 5, 6))[0])
    tracker.flush()
    assert "dropped" in caplog.text


def test_a_bad_event_does_not_stop_the_writer(make_tracker, caplog):
    tracker = make_tracker()
    tracker.submit("not an event")
    te.feed(tracker, te.inbound(te.at(2024, 5, 6)))
    assert len(tracker.calls(CallFilter())) == 1


def test_damaged_file_is_reported_and_the_rest_loaded(make_tracker, tmp_path, caplog):
    tracker = make_tracker()
    te.feed(tracker, te.inbound(te.at(2024, 5, 6, 10)), te.inbound(te.at(2024, 6, 6, 10)))
    tracker.stop()
    with open(tmp_path / "calls" / "calls-2024-06.jsonl", "ab") as f:
        f.write(b'{"id": "half')
    again = make_tracker()
    assert len(again.calls(CallFilter())) == 2
    assert again.repaired_files() == ["calls-2024-06.jsonl"]
    assert again.storage_state() == "ok"
    assert "torn last line" in caplog.text


def test_an_unusable_pin_leaves_the_led_dark(tmp_path, cfg, mock_pins, caplog):
    from gpiozero import LED
    with LED(17, pin_factory=mock_pins):              # someone else holds GPIO 17
        leds = Indicators(cfg.hw, pin_factory=mock_pins)
        tracker = Tracker(cfg, tmp_path)
        tracker.published.listen(leds.listen)
        with tracker:
            te.feed(tracker, te.inbound(te.at(2024, 5, 6, 10), talk=None))
            assert tracker.queue_size() == 1
        leds.close()
    assert "CallbackLed on GPIO 17 unusable" in caplog.text
