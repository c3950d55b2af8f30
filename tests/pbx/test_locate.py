"""RFC 3263 decisions: SRV order, the names asked, where the nameservers are."""

import random
from collections import Counter

import pytest

from firmware.pbx.dnswire import Srv
from firmware.pbx.locate import (
    is_ip_literal, order_srv, parse_host_port, parse_resolv_conf, parse_server, srv_name)


def test_srv_names_by_transport():
    assert srv_name("sip.provider.example.", "UDP") == "_sip._udp.sip.provider.example"
    assert srv_name("sip.provider.example", "tcp") == "_sip._tcp.sip.provider.example"


def test_lower_priority_always_first():
    records = [Srv(20, 100, 5060, "b.example"), Srv(10, 0, 5060, "a.example"),
               Srv(30, 5, 5060, "c.example")]
    for seed in range(20):
        order = order_srv(records, random.Random(seed))
        assert [r.target for r in order] == ["a.example", "b.example", "c.example"]


def test_weights_share_the_first_place_in_proportion():
    records = [Srv(10, 90, 5060, "heavy.example"), Srv(10, 10, 5060, "light.example")]
    rng = random.Random(1)
    firsts = Counter(order_srv(records, rng)[0].target for _ in range(2000))
    assert 1650 < firsts["heavy.example"] < 1950
    assert sorted(r.target for r in order_srv(records, rng)) == ["heavy.example",
                                                                "light.example"]


def test_zero_weights_come_last_unless_all_are_zero():
    records = [Srv(10, 0, 5060, "zero.example"), Srv(10, 1, 5060, "one.example")]
    rng = random.Random(3)
    # RFC 2782: zero-weight records have a very small chance of being picked first.
    firsts = Counter(order_srv(records, rng)[0].target for _ in range(500))
    assert firsts["one.example"] > 200
    both_zero = [Srv(10, 0, 5060, "x.example"), Srv(10, 0, 5060, "y.example")]
    assert len(order_srv(both_zero, rng)) == 2


def test_a_dot_target_means_no_service():
    assert order_srv([Srv(0, 0, 0, ".")], random.Random(0)) == []
    assert order_srv([Srv(0, 0, 0, "")], random.Random(0)) == []


def test_resolv_conf():
    text = ("# written by DHCP\nsearch lan\nnameserver 192.168.1.1\n"
            "nameserver fe80::1%eth0\nnameserver 9.9.9.9 # quad nine\noptions ndots:1\n"
            "nameserver not-an-address\n")
    assert parse_resolv_conf(text) == [("192.168.1.1", 53), ("9.9.9.9", 53)]
    assert parse_resolv_conf("") == []


def test_configured_servers_and_proxies():
    assert parse_server("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_server("10.0.0.1") == ("10.0.0.1", 53)
    for bad in ("dns.example", "1.2.3.4:0", "1.2.3.4:x", "::1"):
        with pytest.raises(ValueError):
            parse_server(bad)
    assert parse_host_port("proxy.example:5070") == ("proxy.example", 5070)
    assert parse_host_port("192.0.2.1") == ("192.0.2.1", 5060)
    for bad in ("proxy.example:99999", "a b:5060", ":5060", "sip:x@y:5060"):
        with pytest.raises(ValueError):
            parse_host_port(bad)
    assert is_ip_literal("192.0.2.1") and is_ip_literal("[2001:db8::1]")
    assert not is_ip_literal("sip.example")
