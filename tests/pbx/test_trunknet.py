"""Where a trunk's requests go (RFC 3263), looked up in a real dnsmasq on loopback."""

import asyncio
import dataclasses
import random
import socket

import pytest

from firmware.config import Trunk
from firmware.pbx.dnsclient import DnsClient, DnsError
from firmware.pbx.transport import Address
from firmware.pbx.trunknet import DNS_FAILED, RESOLVED, TrunkNetwork
from tests.e2e.dnsmasq import Dnsmasq
from tests.e2e.rig import free_port_block

TRUNK = Trunk("provider", "trunk.test", 5060, "48221234567", "secret", True)


@pytest.fixture
def dns():
    server = Dnsmasq(free_port_block(), srv=(
        "_sip._udp.trunk.test,sip1.trunk.test,5071,10,50",
        "_sip._udp.trunk.test,sip2.trunk.test,5072,20,0",
        "_sip._tcp.trunk.test,sip2.trunk.test,5073,10,0",
        "_sip._udp.orphan.trunk.test,gone.trunk.test,5060,10,0",
        *(f"_sip._udp.big.trunk.test,target-number-{n}.trunk.test,{6000 + n},{n},0"
          for n in range(30)),
    ), hosts=("sip1.trunk.test,127.0.0.3", "sip2.trunk.test,127.0.0.4",
              "trunk.test,127.0.0.5", "plain.trunk.test,127.0.0.6",
              "proxy.trunk.test,127.0.0.7")).start()
    yield server
    server.stop()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def network(server, *trunks, clock=None, **kwargs):
    clock = clock or Clock()
    client = DnsClient([("127.0.0.1", server.port)], timeout=1.0, clock=clock)
    return TrunkNetwork(trunks or (TRUNK,), client, clock=clock, rng=random.Random(5), **kwargs)


def resolve(net, *names):
    async def run():
        for name in names:
            await net.refresh(name)
    asyncio.run(run())


def test_srv_targets_in_priority_order_with_fail_over(dns):
    changes = []
    net = network(dns, on_change=lambda hosts: changes.append(dict(hosts)))
    assert net.route("provider") is None and net.state("provider") == "resolving"
    resolve(net, "provider")
    assert net.state("provider") == RESOLVED
    first = net.route("provider")
    assert first.dest == Address("127.0.0.3", 5071, "UDP") and first.route == ()
    assert net.trunk_hosts == {"127.0.0.3": "provider", "127.0.0.4": "provider"}
    assert changes == [net.trunk_hosts]
    assert net.report_failure("provider", first.dest, "no answer") is True
    assert net.route("provider").dest == Address("127.0.0.4", 5072, "UDP")
    # A late failure report of the first target does not skip the second.
    assert net.report_failure("provider", first.dest, "no answer") is False
    assert net.route("provider").dest == Address("127.0.0.4", 5072, "UDP")
    assert net.report_failure("provider", Address("127.0.0.4", 5072), "503") is False
    assert net.route("provider").dest == first.dest     # every target tried: start over


def test_tcp_asks_for_the_tcp_service(dns):
    net = network(dns, dataclasses.replace(TRUNK, transport="tcp"))
    resolve(net, "provider")
    route = net.route("provider")
    assert route.dest == Address("127.0.0.4", 5073, "TCP") and route.transport == "TCP"


def test_no_srv_falls_back_to_the_hosts_address(dns):
    net = network(dns, dataclasses.replace(TRUNK, host="plain.trunk.test"))
    resolve(net, "provider")
    assert net.route("provider").dest == Address("127.0.0.6", 5060, "UDP")


def test_a_written_port_skips_srv(dns):
    net = network(dns, dataclasses.replace(TRUNK, port=5090, srv=False))
    resolve(net, "provider")
    assert net.route("provider").dest == Address("127.0.0.5", 5090, "UDP")


def test_an_outbound_proxy_takes_every_request(dns):
    net = network(dns, dataclasses.replace(TRUNK, outbound_proxy="proxy.trunk.test:5070"))
    resolve(net, "provider")
    route = net.route("provider")
    assert route.dest == Address("127.0.0.7", 5070, "UDP")
    assert route.route == ("<sip:proxy.trunk.test:5070;lr>",)
    assert net.trunk_hosts == {"127.0.0.7": "provider"}
    tcp = network(dns, dataclasses.replace(TRUNK, outbound_proxy="192.0.2.1:5070",
                                           transport="tcp"))
    assert tcp.route("provider").route == ("<sip:192.0.2.1:5070;lr;transport=tcp>",)


def test_ip_literals_need_no_dns():
    net = TrunkNetwork([dataclasses.replace(TRUNK, host="192.0.2.10", port=5070)],
                       DnsClient([]))
    assert net.route("provider").dest == Address("192.0.2.10", 5070, "UDP")
    assert net.trunk_hosts == {"192.0.2.10": "provider"}


def test_a_failed_lookup_hurts_only_its_trunk_and_backs_off(dns):
    clock = Clock()
    missing = dataclasses.replace(TRUNK, name="missing", host="nowhere.trunk.test")
    orphan = dataclasses.replace(TRUNK, name="orphan", host="orphan.trunk.test")
    net = network(dns, TRUNK, missing, orphan, clock=clock)
    resolve(net, "provider", "missing", "orphan")
    assert net.state("provider") == RESOLVED
    assert net.state("missing") == DNS_FAILED and net.route("missing") is None
    assert "nowhere.trunk.test" in net.describe()["missing"]["error"]
    assert "gone.trunk.test" in net.describe()["orphan"]["error"]
    assert set(net.trunk_hosts.values()) == {"provider"}
    first_retry = net._entries["missing"].refresh_at - clock.now
    clock.now += first_retry
    resolve(net, "missing")
    assert net._entries["missing"].refresh_at - clock.now == 2 * first_retry


def test_answers_are_cached_and_kept_when_the_server_goes(dns):
    clock = Clock()
    net = network(dns, clock=clock)
    resolve(net, "provider")
    dns.stop()
    resolve(net, "provider")                 # from the cache: no server needed
    assert net.describe()["provider"]["error"] == ""
    clock.now += 3600
    resolve(net, "provider")                 # expired, and the server is gone
    assert net.state("provider") == RESOLVED and net.route("provider") is not None
    assert "refused" in net.describe()["provider"]["error"]


def test_a_server_that_never_answers_times_out():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        client = DnsClient([silent.getsockname()], timeout=0.2, attempts=2)
        with pytest.raises(DnsError, match="no answer in 0.2 s"):
            asyncio.run(client.addresses("trunk.test"))


def test_an_answer_too_big_for_a_datagram_is_asked_again_over_tcp(dns):
    """30 SRV records do not fit in 512 bytes: dnsmasq truncates, the client asks over TCP."""
    clock = Clock()
    client = DnsClient([("127.0.0.1", dns.port)], timeout=1.0, clock=clock)
    records = asyncio.run(client.srv("_sip._udp.big.trunk.test"))
    assert len(records) == 30
    assert sorted(srv.port for srv, _ in records) == list(range(6000, 6030))


def test_a_new_draw_of_the_same_targets_keeps_the_one_in_use(dns):
    clock = Clock()
    net = network(dns, clock=clock)
    resolve(net, "provider")
    net.report_failure("provider", net.route("provider").dest, "no answer")
    in_use = net.route("provider").dest
    clock.now += 3600
    resolve(net, "provider")
    assert net.route("provider").dest == in_use


def test_next_hop_is_the_shape_the_b2bua_takes(dns):
    net = network(dns, dataclasses.replace(TRUNK, outbound_proxy="proxy.trunk.test:5070"))
    assert net.next_hop("provider") == (Address("trunk.test", 5060, "UDP"), ())  # not yet
    resolve(net, "provider")
    assert net.next_hop("provider") == (Address("127.0.0.7", 5070, "UDP"),
                                        ("<sip:proxy.trunk.test:5070;lr>",))


def test_a_nameserver_that_never_answers_leaves_the_trunk_dns_failed():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        clock = Clock()
        client = DnsClient([silent.getsockname()], timeout=0.2, attempts=1, clock=clock)
        literal = dataclasses.replace(TRUNK, name="fixed", host="192.0.2.10")
        net = TrunkNetwork([TRUNK, literal], client, clock=clock)

        async def run():
            tasks = net.refresh_due()           # each look-up in its own task
            assert net.route("fixed") is not None     # meanwhile: the literal is usable
            await asyncio.gather(*tasks)
        asyncio.run(run())
    assert net.state("provider") == DNS_FAILED
    assert "no answer in 0.2 s" in net.describe()["provider"]["error"]
    assert net.trunk_hosts == {"192.0.2.10": "fixed"}


def test_resolv_conf_is_followed_when_it_changes(tmp_path):
    """DHCP rewrites /etc/resolv.conf: the next look-up asks the new nameservers."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 192.0.2.53\n")
    client = DnsClient.from_system(resolv_conf=resolv)
    assert client.servers == [("192.0.2.53", 53)]
    resolv.write_text("# from DHCP\nnameserver 198.51.100.53\nnameserver 198.51.100.54\n")
    client.follow_resolv_conf()
    assert client.servers == [("198.51.100.53", 53), ("198.51.100.54", 53)]
    resolv.unlink()
    client.follow_resolv_conf()
    assert client.servers == [("127.0.0.1", 53)]
    configured = DnsClient.from_system([("127.0.0.1", 5353)], resolv_conf=resolv)
    assert configured.servers == [("127.0.0.1", 5353)] and configured.resolv_conf is None
