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
