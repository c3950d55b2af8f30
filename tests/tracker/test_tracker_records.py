"""Call records from event sequences: the pure path (assembler, build_record, number history)."""

import logging
from datetime import date

import tracker_events as te
from firmware.pbx import events as ev
from firmware.tracker.records import CallAssembler, line_type, record_value, to_api

DAY = 86400


def test_answered_inbound_call(cfg):
    start = te.at(2024, 5, 6, 10)
    [r] = te.pure_records(cfg, te.inbound(start, ring=7, talk=95, by="102"))
    assert r["direction"] == "inbound"
    assert (r["caller"], r["callee"]) == (te.MOBILE, te.SHOP)
    assert (r["campaign"], r["source"]) == ("Shop window", "Outdoor")
    assert r["status"] == "answered" and r["missed_reason"] is None
    assert (r["wait_seconds"], r["talk_seconds"]) == (7, 95)
    assert r["answered_by"] == "102"
    assert r["rang"] == ["101", "102"]
    assert r["line_type"] == "mobile"
    assert r["first_time"] and r["target"]
    assert r["value"] == 300 == record_value(r)
    assert r["trunk"] == "provider"


def test_missed_reasons(cfg):
    start = te.at(2024, 5, 6, 10)
    reasons = [ev.CALLER_HANGUP, ev.RING_TIMEOUT, ev.NOBODY_AVAILABLE, ev.BUSY, ev.FAILED]
    seqs = [te.inbound(start + n * 100, te.FIXED, talk=None, ring=12, reason=reason)
            for n, reason in enumerate(reasons)]
    records = te.pure_records(cfg, *seqs)
    assert [r["missed_reason"] for r in records] == reasons
    assert {r["status"] for r in records} == {"missed"}
    assert all(r["wait_seconds"] == 12 and r["talk_seconds"] == 0 for r in records)
    assert all(r["value"] == 0 and not r["target"] for r in records)
    assert records[0]["line_type"] == "fixed_line"
    assert records[0]["answered_by"] is None


def test_national_numbers_become_e164(cfg):
    [r] = te.pure_records(cfg, te.inbound(te.at(2024, 5, 6), caller="501 234 567",
                                          dialled="22 123 45 67"))
    assert (r["caller"], r["callee"], r["campaign"]) == (te.MOBILE, te.SHOP, "Shop window")


def test_withheld_caller_is_kept_as_received(cfg):
    [r] = te.pure_records(cfg, te.inbound(te.at(2024, 5, 6), caller="anonymous", talk=None))
    assert r["caller"] == "anonymous" and r["line_type"] == "unknown"
    assert r["first_time"] is False


def test_non_campaign_number_is_recorded_without_campaign(cfg):
    [r] = te.pure_records(cfg, te.inbound(te.at(2024, 5, 6), dialled=te.OTHER))
    assert (r["campaign"], r["source"], r["value"]) == ("", "", 0)


def test_outbound_and_internal_calls(cfg):
    start = te.at(2024, 5, 6, 9)
    out_ok, out_no, internal = te.pure_records(
        cfg, te.outbound(start, te.FIXED, ext="102", ring=4, talk=30),
        te.outbound(start + 300, te.MOBILE, talk=None, ring=20),
        te.outbound(start + 600, "102", ext="101", talk=None))
    assert out_ok["direction"] == "outbound" and out_ok["status"] == "answered"
    assert (out_ok["caller"], out_ok["callee"], out_ok["extension"]) == ("102", te.FIXED, "102")
    assert out_ok["line_type"] == "fixed_line" and out_ok["value"] == 0
    assert not out_ok["first_time"] and not out_ok["target"]
    assert out_no["status"] == "unanswered" and out_no["wait_seconds"] == 20
    assert internal["direction"] == "internal" and internal["status"] == "unanswered"
    assert internal["callee"] == "102" and internal["line_type"] is None


def test_wait_and_talk_across_midnight(cfg):
    start = te.at(2024, 5, 6, 23, 59, 50)
    [r] = te.pure_records(cfg, te.inbound(start, ring=20, talk=600))
    assert (r["wait_seconds"], r["talk_seconds"]) == (20, 600)
    api = to_api(r, te.WARSAW)
    assert api["started_at"] == "2024-05-06T23:59:50+02:00"
    assert api["ended_at"] == "2024-05-07T00:10:10+02:00"


def test_iso_times_follow_dst(cfg):
    winter, summer = te.at(2024, 3, 31, 1, 30), te.at(2024, 3, 31, 3, 30)
    assert summer - winter == 3600          # 02:00-03:00 does not exist that night
    records = te.pure_records(cfg, te.inbound(winter), te.inbound(summer))
    assert [to_api(r, te.WARSAW)["started_at"] for r in records] == [
        "2024-03-31T01:30:00+01:00", "2024-03-31T03:30:00+02:00"]


def test_repeat_caller_inside_and_outside_the_window(cfg):
    start = te.at(2024, 1, 10)
    records = te.pure_records(
        cfg,
        te.inbound(start),                            # new
        te.inbound(start + 10 * DAY),                 # 10 days later: known
        te.inbound(start + 41 * DAY),                 # 31 days after the last call: new again
        te.inbound(start + 41 * DAY + 60, te.MOBILE2),  # another number: new
        te.inbound(start + 42 * DAY, dialled=te.OTHER, talk=None),  # any call counts
        te.inbound(start + 43 * DAY))
    assert [r["first_time"] for r in records] == [True, False, True, True, False, False]


def test_target_calls(cfg):
    start = te.at(2024, 1, 10)
    records = te.pure_records(
        cfg,
        te.inbound(start, talk=10),                   # too short
        te.inbound(start + 1 * DAY, talk=30),         # long enough, first: target
        te.inbound(start + 2 * DAY, talk=300),        # second within the window
        te.inbound(start + 2 * DAY + 60, talk=None),  # missed
        te.inbound(start + 40 * DAY, talk=31),        # 38 days after the last qualifying call
        te.inbound(start + 40 * DAY, te.MOBILE2, talk=45))
    assert [r["target"] for r in records] == [False, True, False, False, True, True]


def test_window_is_elapsed_time_across_dst(cfg):
    """30 days from a winter time to a summer time is 30 * 24 h, not 30 calendar days."""
    first = te.at(2024, 3, 20, 12)
    again = te.at(2024, 4, 19, 12, 30)     # 30 calendar days + 30 min, but 29 d 23.5 h elapsed
    records = te.pure_records(cfg, te.inbound(first), te.inbound(again))
    assert [r["first_time"] for r in records] == [True, False]


def test_events_of_unknown_calls_are_ignored(cfg, caplog):
    assembler = CallAssembler()
    with caplog.at_level(logging.WARNING):
        assert assembler.feed(ev.CallEnded("nope", ev.COMPLETED, 1.0), cfg) is None
    assert "unknown call nope" in caplog.text


def test_second_answer_is_ignored(cfg):
    start = te.at(2024, 5, 6)
    seq = te.inbound(start, ring=5, talk=60, by="101")
    seq.insert(-1, ev.CallAnswered(seq[0].call_id, "102", start + 9))
    [r] = te.pure_records(cfg, seq)
    assert r["answered_by"] == "101" and r["wait_seconds"] == 5


def test_stale_open_calls_are_forgotten(cfg):
    assembler = CallAssembler()
    assembler.feed(ev.CallOffered("old", te.SHOP, te.MOBILE, 0.0), cfg)
    assembler.feed(ev.CallOffered("new", te.SHOP, te.MOBILE, 13 * 3600.0), cfg)
    assert len(assembler) == 1


def test_line_types():
    assert line_type(te.MOBILE) == "mobile"
    assert line_type(te.FIXED) == "fixed_line"
    assert line_type("+48800123456") == "toll_free"
    assert line_type("anonymous") == "unknown"


def test_wrapup_value_overrides_lead_value(cfg):
    [answered, missed] = te.pure_records(cfg, te.inbound(te.at(2024, 5, 6)),
                                         te.inbound(te.at(2024, 5, 7), te.FIXED, talk=None))
    assert record_value({**answered, "wrapup": {"value": 1250}}) == 1250
    assert record_value({**answered, "wrapup": {"rating": 3}}) == 300
    assert record_value({**missed, "wrapup": {"value": 50}}) == 50


def test_a_transferred_call_keeps_its_campaign_and_wait_and_lists_who_handled_it(cfg):
    start = te.at(2024, 5, 6, 10)
    events = te.inbound(start, ring=4, talk=80, by="101", call_id="tr1")
    events.insert(-1, ev.CallTransferred("tr1", "102", start + 30))
    [r] = te.pure_records(cfg, events)
    api = to_api(r, te.WARSAW)
    assert (api["campaign"], api["wait_seconds"], api["answered_by"]) == ("Shop window", 4, "101")
    assert api["handled_by"] == ["101", "102"]
    assert api["talk_by"] == {"101": 26.0, "102": 54.0}
    from firmware.tracker.reports import per_person
    rows = {r["extension"]: r for r in per_person(
        [api], [("101", ""), ("102", "")], date(2024, 5, 6), date(2024, 5, 6))["rows"]}
    assert (rows["101"]["answered"], rows["101"]["total_talk"]) == (1, 26.0)
    assert (rows["102"]["answered"], rows["102"]["total_talk"]) == (0, 54.0)
    [plain] = te.pure_records(cfg, te.inbound(start, by="102"))
    assert to_api(plain, te.WARSAW)["handled_by"] == ["102"]
    [missed] = te.pure_records(cfg, te.inbound(start, talk=None))
    assert to_api(missed, te.WARSAW)["handled_by"] == []
