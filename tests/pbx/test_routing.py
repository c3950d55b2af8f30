"""Routing rules from a table: where each new call goes."""

import pytest

from firmware.config import parse_config
from firmware.pbx import events
from firmware.pbx.routing import DialTrunk, Reject, RingExtensions, route_inbound, route_outbound

CONFIG = parse_config("""
[box]
country = "PL"
[[trunk]]
name = "provider"
host = "127.0.0.2"
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
name = "Shop window"
number = "+48221234567"
ring = ["101", "102"]
[[campaign]]
name = "Flyer"
number = "+48221234568"
ring = ["103"]
""")

INBOUND = [
    # dialled, registered, expected
    ("+48221234567", {"101", "102"}, RingExtensions(("101", "102"), "+48221234567", "Shop window")),
    ("221234567", {"101", "102"}, RingExtensions(("101", "102"), "+48221234567", "Shop window")),
    ("0048221234567", {"102"}, RingExtensions(("102",), "+48221234567", "Shop window")),
    ("+48221234567", set(), Reject(480, "Temporarily Unavailable", events.NOBODY_AVAILABLE)),
    ("+48221234568", {"101"}, Reject(480, "Temporarily Unavailable", events.NOBODY_AVAILABLE)),
    ("+48999999999", {"101"}, Reject(404, "Not Found", events.FAILED)),
    ("", {"101"}, Reject(404, "Not Found", events.FAILED)),
    ("101", {"101"}, RingExtensions(("101",), "101", "")),
]


@pytest.mark.parametrize("dialled,registered,expected", INBOUND)
def test_inbound(dialled, registered, expected):
    assert route_inbound(dialled, CONFIG, registered.__contains__, 0.0) == expected


OUTBOUND = [
    ("101", "102", {"102"}, RingExtensions(("102",), "102", "")),
    ("101", "102", set(), Reject(480, "Temporarily Unavailable", events.NOBODY_AVAILABLE)),
    ("101", "101", {"101"}, Reject(486, "Busy Here", events.BUSY)),
    ("101", "+48600000000", set(), DialTrunk("provider", "+48600000000")),
    ("101", "600000000", set(), DialTrunk("provider", "+48600000000")),
    ("101", "0049301234567", set(), DialTrunk("provider", "+49301234567")),
    ("101", "12", set(), Reject(484, "Address Incomplete")),
    ("101", "", set(), Reject(484, "Address Incomplete")),
]


@pytest.mark.parametrize("extension,dialled,registered,expected", OUTBOUND)
def test_outbound(extension, dialled, registered, expected):
    assert route_outbound(extension, dialled, CONFIG, registered.__contains__, 0.0) == expected


@pytest.mark.parametrize("country, dialled", [
    ("PL", "112"), ("PL", "997"), ("PL", "999"), ("US", "911"), ("BG", "150"), ("DE", "110")])
def test_emergency_numbers_always_go_out_through_the_first_trunk(country, dialled):
    config = parse_config(f'[box]\ncountry = "{country}"\n[[trunk]]\nname = "provider"\n'
                          'host = "127.0.0.2"\nregister = false\n'
                          '[security]\nallowed_prefixes = ["+48"]\nmax_outbound_calls = 1\n')
    route = route_outbound("101", dialled, config, lambda ext: True, 0.0)
    assert route == DialTrunk("provider", dialled, emergency=True)
    from firmware.pbx import tollfraud
    assert tollfraud.guard("101", route, config, active_outbound=5) is route


def test_an_extension_cannot_be_an_emergency_number():
    from firmware.config import ConfigError
    with pytest.raises(ConfigError) as caught:
        parse_config('[box]\ncountry = "RU"\n[[extension]]\nnumber = "101"\n'
                     'password = "secret-101-pw"\n')
    assert "extension[1].number: 101 is an emergency number in RU" in caught.value.problems


@pytest.mark.parametrize("country, written, e164", [
    ("BG", "0501234567", "+359501234567"),     # 0 is the trunk prefix in BG
    ("DE", "030123456", "+4930123456"),
    ("PL", "0501234567", "+48501234567"),      # not in PL, but written out of habit
    ("PL", "+48 501 234 567", "+48501234567"),
    ("PL", "0048501234567", "+48501234567"),
])
def test_national_dialling_follows_the_country(country, written, e164):
    from firmware.config import normalise_number
    assert normalise_number(written, country) == e164
