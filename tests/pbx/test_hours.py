"""Opening hours and after-hours routing, from tables: where a campaign's call goes by the clock
and by night mode."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from firmware.config import ConfigError, Hours, parse_config
from firmware.pbx import events
from firmware.pbx.hours import is_open, parse_day
from firmware.pbx.routing import Reject, RingExtensions, route_inbound

WARSAW = ZoneInfo("Europe/Warsaw")

CONFIG = parse_config("""
[box]
country = "PL"
timezone = "Europe/Warsaw"
[hours]
mon = "08:00-18:00"
tue = "08:00-18:00"
wed = "08:00-12:00, 13:00-18:00"
thu = "08:00-18:00"
fri = "08:00-24:00"
sat = "10:00-14:00"
sun = ""
after_hours_ring = ["103"]
after_hours_forward = ["600 000 000"]
[[trunk]]
name = "provider"
host = "127.0.0.2"
register = false
[[trunk]]
name = "backup"
host = "127.0.0.3"
register = false
[[extension]]
number = "101"
password = "secret-101"
[[extension]]
number = "102"
password = "secret-102"
[[extension]]
number = "103"
password = "secret-103"
[[campaign]]
name = "Shop window"          # the [hours] defaults: ring 103 and forward to a mobile
number = "+48221234567"
ring = ["101", "102"]
[[campaign]]
name = "Flyer"                # its own list: ring 101 only, no forwarding
number = "+48221234568"
ring = ["102"]
after_hours_ring = ["101"]
after_hours_forward = []
[[campaign]]
name = "Radio"                # forward only
number = "+48221234569"
ring = ["101"]
after_hours_ring = []
after_hours_forward = ["+48600111222", "+48600333444"]
[[campaign]]
name = "Web"                  # nothing after hours: rings as by day
number = "+48221234570"
ring = ["102"]
after_hours_ring = []
after_hours_forward = []
""")


def at(text: str) -> float:
    """A Unix time from a local Warsaw time "2024-05-06 08:00" (a Monday)."""
    return datetime.fromisoformat(text).replace(tzinfo=WARSAW).timestamp()


@pytest.mark.parametrize("text,ranges", [
    ("08:00-18:00", ((480, 1080),)),
    (" 8:30 - 12:00 ,13:00-17:15", ((510, 720), (780, 1035))),
    ("13:00-17:00, 08:00-12:00", ((480, 720), (780, 1020))),
    ("00:00-24:00", ((0, 1440),)),
    ("", ()),
    ("   ", ()),
])
def test_parse_day(text, ranges):
    assert parse_day(text) == ranges


@pytest.mark.parametrize("text", ["8-18", "08:00", "18:00-08:00", "08:00-08:00", "25:00-26:00",
                                  "08:60-09:00", "08:00-24:01", "08:00-12:00, 11:00-13:00",
                                  "08:00-12:00;13:00-14:00"])
def test_parse_day_refuses(text):
    with pytest.raises(ValueError):
        parse_day(text)


OPEN = [
    # local Warsaw time, open?
    ("2024-05-06 07:59", False),   # Monday before opening
    ("2024-05-06 08:00", True),    # opening minute
    ("2024-05-06 17:59", True),
    ("2024-05-06 18:00", False),   # closing minute is closed
    ("2024-05-08 12:30", False),   # Wednesday lunch break
    ("2024-05-08 13:00", True),
    ("2024-05-10 23:59", True),    # Friday till midnight
    ("2024-05-11 00:30", False),   # ... not past it
    ("2024-05-11 10:00", True),    # Saturday
    ("2024-05-11 14:00", False),
    ("2024-05-12 12:00", False),   # Sunday closed
    ("2024-03-31 12:00", False),   # a Sunday with the DST change
    ("2024-10-28 08:30", True),    # Monday after the switch back to winter time
    ("2024-10-28 07:30", False),
]


@pytest.mark.parametrize("local,expected", OPEN)
def test_is_open(local, expected):
    assert is_open(CONFIG.hours, "Europe/Warsaw", at(local)) is expected
    assert is_open(CONFIG.hours, WARSAW, at(local)) is expected


def test_no_hours_is_always_open():
    assert is_open(Hours(), "Europe/Warsaw", at("2024-05-12 03:00"))
    config = parse_config('[hours]\nafter_hours_ring = []\n')
    assert config.hours.week is None


def test_days_left_out_are_closed():
    hours = parse_config('[hours]\nmon = "08:00-18:00"\n').hours
    assert is_open(hours, "UTC", datetime(2024, 5, 6, 9, tzinfo=ZoneInfo("UTC")).timestamp())
    assert not is_open(hours, "UTC", datetime(2024, 5, 7, 9, tzinfo=ZoneInfo("UTC")).timestamp())


EVERYONE = {"101", "102", "103"}
MOBILE = ("+48600000000",)

ROUTES = [
    # dialled, local time, night mode, registered, expected
    ("+48221234567", "2024-05-06 09:00", False, EVERYONE,
     RingExtensions(("101", "102"), "+48221234567", "Shop window")),
    ("+48221234567", "2024-05-06 19:00", False, EVERYONE,
     RingExtensions(("103",), "+48221234567", "Shop window", MOBILE, "provider")),
    ("+48221234567", "2024-05-06 09:00", True, EVERYONE,       # night mode by hand
     RingExtensions(("103",), "+48221234567", "Shop window", MOBILE, "provider")),
    ("+48221234567", "2024-05-12 12:00", False, {"101"},        # 103 away: the mobile alone
     RingExtensions((), "+48221234567", "Shop window", MOBILE, "provider")),
    ("+48221234568", "2024-05-06 19:00", False, EVERYONE,
     RingExtensions(("101",), "+48221234568", "Flyer")),
    ("+48221234568", "2024-05-06 19:00", False, {"102"},       # nobody of the night list
     Reject(480, "Temporarily Unavailable", events.NOBODY_AVAILABLE)),
    ("+48221234568", "2024-05-06 09:00", False, {"102"},
     RingExtensions(("102",), "+48221234568", "Flyer")),
    ("+48221234569", "2024-05-11 15:00", False, set(),
     RingExtensions((), "+48221234569", "Radio", ("+48600111222", "+48600333444"), "provider")),
    ("+48221234570", "2024-05-06 19:00", False, EVERYONE,      # no after-hours targets
     RingExtensions(("102",), "+48221234570", "Web")),
    ("101", "2024-05-06 19:00", True, EVERYONE,                # DID to extension: no hours
     RingExtensions(("101",), "101", "")),
]


@pytest.mark.parametrize("dialled,local,night,registered,expected", ROUTES)
def test_after_hours_routing(dialled, local, night, registered, expected):
    route = route_inbound(dialled, CONFIG, registered.__contains__, at(local), night=night)
    assert route == expected


def test_config_problems_name_the_key():
    with pytest.raises(ConfigError) as caught:
        parse_config("""
[hours]
mon = "8-18"
tue = 8
sunday = ""
after_hours_ring = ["109"]
after_hours_forward = ["+48600000000", "nonsense"]
[[extension]]
number = "101"
password = "secret-101"
[[campaign]]
name = "Shop"
number = "+48221234567"
after_hours_ring = ["108"]
after_hours_forward = ["+48600000001"]
""")
    problems = caught.value.problems
    assert any(p.startswith("hours.mon: '8-18' is not a range") for p in problems)
    assert "hours.tue: must be a string" in problems
    assert "hours.sunday: unknown key" in problems
    assert "hours.after_hours_ring: no extension 109" in problems
    assert "hours.after_hours_forward: 'nonsense' is not a phone number" in problems
    assert "hours.after_hours_forward: needs a [[trunk]] to forward through" in problems
    assert "campaign[1].after_hours_ring: no extension 108" in problems
    assert "campaign[1].after_hours_forward: needs a [[trunk]] to forward through" in problems


def test_night_hardware_pins_parse():
    config = parse_config("[hw]\nnight_button = 22\nnight_led = 23\n")
    assert (config.hw.night_button, config.hw.night_led) == (22, 23)
    with pytest.raises(ConfigError) as caught:
        parse_config("[hw]\nnight_button = 40\n")
    assert caught.value.problems == ["hw.night_button: must be between 0 and 27"]
