"""The toll-fraud guard (pbx/tollfraud.py): which numbers an extension may call out to."""

from __future__ import annotations

import logging

import pytest

from firmware.config import parse_config
from firmware.pbx import events
from firmware.pbx.routing import DialTrunk, Reject, RingExtensions
from firmware.pbx.tollfraud import allowed_prefixes, check_dial, guard

BASE = """
[box]
country = "{country}"
[[trunk]]
name = "provider"
host = "127.0.0.2"
register = false
[[extension]]
number = "101"
password = "secret-101"
"""
PL = parse_config(BASE.format(country="PL"))
PL_DE = parse_config(BASE.format(country="PL") + """
[security]
allowed_prefixes = ["+48", "+49"]
max_outbound_calls = 2
""")

DIALS = [
    # config, number, active outbound calls, refused?
    (PL, "+48221234567", 0, None),                      # Warsaw landline
    (PL, "+48600123456", 3, None),                      # mobile, 3 calls up, the limit is 4
    (PL, "+48800123456", 0, None),                      # toll-free
    (PL, "+48701234567", 0, "premium-rate"),            # 70x: premium rate
    (PL, "+48708123456", 0, "premium-rate"),
    (PL, "+48801234567", 0, "shared-cost"),             # 801: shared cost
    (PL, "+48999999999", 0, "not a valid number"),      # possible but unassigned
    (PL, "+49301234567", 0, "allowed_prefixes"),        # Berlin: another country
    (PL, "+882123456789", 0, "allowed_prefixes"),       # international networks
    (PL, "+48221234567", 4, "limit is 4"),
    (PL_DE, "+49301234567", 0, None),
    (PL_DE, "+4990012345678", 0, "not a valid number"),
    (PL_DE, "+48221234567", 2, "limit is 2"),
    (PL_DE, "+442071838750", 0, "allowed_prefixes"),
]


@pytest.mark.parametrize("config,number,active,refused", DIALS)
def test_check_dial(config, number, active, refused):
    reason = check_dial(number, config, active)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


def test_german_premium_rate_is_refused_even_when_germany_is_allowed():
    assert "premium-rate" in check_dial("+499001234567", PL_DE, 0)


def test_the_default_prefix_is_the_box_country():
    germany = parse_config(BASE.format(country="DE"))
    assert allowed_prefixes(germany) == ("+49",)
    assert check_dial("+49301234567", germany, 0) is None
    assert check_dial("+48221234567", germany, 0) is not None


def test_an_empty_prefix_list_allows_no_external_call_and_plus_allows_any():
    closed = parse_config(BASE.format(country="PL") + "[security]\nallowed_prefixes = []\n")
    assert check_dial("+48221234567", closed, 0) is not None
    world = parse_config(BASE.format(country="PL") + "[security]\nallowed_prefixes = [\"+\"]\n")
    assert check_dial("+442071838750", world, 0) is None
    assert check_dial("+48701234567", world, 0) is not None     # still no premium rate


def test_max_outbound_calls_zero_allows_no_external_call():
    config = parse_config(BASE.format(country="PL") + "[security]\nmax_outbound_calls = 0\n")
    assert check_dial("+48221234567", config, 0) is not None


def test_guard_turns_a_refused_dial_into_403_with_a_log_line(caplog):
    caplog.set_level(logging.WARNING, "firmware.pbx.tollfraud")
    route = guard("101", DialTrunk("provider", "+48701234567"), PL, 0)
    assert route == Reject(403, "Forbidden", events.FAILED)
    (record,) = caplog.records
    assert "101" in record.getMessage() and "+48701234567" in record.getMessage()


def test_guard_leaves_other_routes_alone():
    for route in (DialTrunk("provider", "+48221234567"), RingExtensions(("102",), "102"),
                  Reject(484, "Address Incomplete")):
        assert guard("101", route, PL, 0) is route
