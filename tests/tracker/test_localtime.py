"""The fast ISO formatter writes exactly what datetime writes, across DST and odd offsets."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.tracker.localtime import IsoFormatter

ZONES = ["Europe/Warsaw", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe",
         "Pacific/Chatham", "America/Sao_Paulo", "UTC"]


def expected(ts, tz):
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(ZONES), st.floats(min_value=0, max_value=2 ** 32 - 1))
def test_same_text_as_datetime(zone, ts):
    tz = ZoneInfo(zone)
    formatter = IsoFormatter(tz)
    assert formatter(ts) == expected(ts, tz)
    moment = datetime.fromtimestamp(ts, tz)
    assert formatter.day_hour(ts) == (moment.toordinal(), moment.hour)


def test_around_the_dst_changes_in_warsaw():
    tz = ZoneInfo("Europe/Warsaw")
    formatter = IsoFormatter(tz)
    spring = datetime(2024, 3, 31, 1, 0, tzinfo=timezone.utc).timestamp()
    autumn = datetime(2024, 10, 27, 1, 0, tzinfo=timezone.utc).timestamp()
    for edge in (spring, autumn):
        for delta in range(-1900, 1900, 7):
            ts = edge + delta + 0.5
            assert formatter(ts) == expected(ts, tz)
    assert formatter(spring - 1) == "2024-03-31T01:59:59+01:00"
    assert formatter(spring) == "2024-03-31T03:00:00+02:00"


def test_fractions_and_none():
    tz = ZoneInfo("Europe/Warsaw")
    formatter = IsoFormatter(tz)
    for ts in (1714000000.0, 1714000000.4999, 1714000000.9999994, 1714000000.9999996, 0.0):
        assert formatter(ts) == expected(ts, tz)
    assert formatter(None) is None
