"""The trunk registration through the real endpoint (a captured `send`): fail-over between
DNS targets, 503, NAT keep-alives, and a lost TCP connection."""

import asyncio
import dataclasses
import random

from firmware.config import Trunk
from firmware.pbx.dnsclient import DnsClient
from firmware.pbx.dnswire import parse_message
from firmware.pbx.endpoint import SipEndpoint
from firmware.pbx.sip.message import Request, make_response, parse_message as parse_sip
from firmware.pbx.transport import Address
from firmware.pbx.trunk import FAILED, REGISTERED, RETRY_FIRST, TrunkClient, TrunkRegistration
from firmware.pbx.trunknet import TrunkNetwork
from tests.pbx.test_dnswire import SRV_ANSWER

# SRV_ANSWER: _sip._udp.trunk.test -> sip1 127.0.0.3:5071 (priority 10), sip2 127.0.0.4:5072.
FIRST, SECOND = Address("127.0.0.3", 5071, "UDP"), Address("127.0.0.4", 5072, "UDP")
TRUNK = Trunk("provider", "trunk.test", 5060, "48221234567", "trunk-secret", True,
              keepalive_seconds=25, failover_seconds=4)


class CapturedDns(DnsClient):
    """Answers every question with the bytes dnsmasq once gave."""

    def __init__(self):
        super().__init__([])

    async def lookup(self, name, qtype):
        return parse_message(SRV_ANSWER)


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


class Link:
    """The transport's side: what the box sent, and connections for TCP."""

    def __init__(self):
        self.sent: list[tuple[bytes, Address]] = []
        self.on_failure = []
        self.connected: set[Address] = set()

    def send(self, data, dest):
        self.sent.append((data, dest))

    def is_connected(self, dest):
        return dest in self.connected

    def requests(self, method=None):
        out = [(parse_sip(data), dest) for data, dest in self.sent if data.strip()]
        return [(m, d) for m, d in out if isinstance(m, Request)
                and (method is None or m.method == method)]


def rig(trunk=TRUNK):
    clock, link = Clock(), Link()
    endpoint = SipEndpoint(link.send, registrar=None, clock=clock)
    network = TrunkNetwork([trunk], CapturedDns(), clock=clock, rng=random.Random(1))
    asyncio.run(network.refresh(trunk.name))
    states = []
    client = TrunkClient(endpoint, {trunk.name: TrunkRegistration(trunk, "127.0.0.1", 5060)},
                         lambda name, state: states.append(state), network, transport=link,
                         clock=clock)
    return clock, link, endpoint, client, states


def answer(endpoint, request, dest, status, **kwargs):
    headers = []
    if status == 401:
        headers = [("WWW-Authenticate",
                    'Digest realm="provider", nonce="n0nce", qop="auth", algorithm=MD5')]
    if status == 200 and request.method == "REGISTER":
        headers = [("Contact", f"{request.headers.get('Contact')};expires=600")]
    response = make_response(request, status, None, to_tag="p1", headers=headers, **kwargs)
    endpoint.on_datagram(response.to_bytes(), dest)


def register(clock, link, endpoint, client, dest=FIRST):
    client.tick()
    request, sent_to = link.requests("REGISTER")[-1]
    assert sent_to == dest
    answer(endpoint, request, dest, 401)
    request, _ = link.requests("REGISTER")[-1]
    answer(endpoint, request, dest, 200)
    assert client.registrations["provider"].state == REGISTERED


def test_a_silent_target_is_skipped_for_the_next():
    clock, link, endpoint, client, states = rig()
    client.tick()
    assert link.requests("REGISTER")[-1][1] == FIRST
    clock.now += 4
    client.tick()                   # no answer in failover_seconds: the next target
    client.tick()
    request, dest = link.requests("REGISTER")[-1]
    assert dest == SECOND
    answer(endpoint, request, dest, 401)
    answer(endpoint, link.requests("REGISTER")[-1][0], dest, 200)
    assert states[-1] == REGISTERED
    # The first target's late answer (its transaction still runs) changes nothing.
    first = link.requests("REGISTER")[0][0]
    answer(endpoint, first, FIRST, 403)
    assert client.registrations["provider"].state == REGISTERED


def test_503_moves_on_at_once_and_all_targets_failing_backs_off():
    clock, link, endpoint, client, states = rig()
    client.tick()
    answer(endpoint, link.requests("REGISTER")[-1][0], FIRST, 503)
    client.tick()
    request, dest = link.requests("REGISTER")[-1]
    assert dest == SECOND
    answer(endpoint, request, dest, 503)
    registration = client.registrations["provider"]
    assert registration.state == FAILED and registration.next_at == clock.now + RETRY_FIRST
    sent = len(link.sent)
    client.tick()
    assert len(link.sent) == sent           # backing off: nothing sent


def test_udp_keep_alive_options_and_a_trunk_that_stops_answering():
    clock, link, endpoint, client, states = rig()
    register(clock, link, endpoint, client)
    registration = client.registrations["provider"]
    clock.now += 24
    client.tick()
    assert link.requests("OPTIONS") == []
    clock.now += 1
    client.tick()
    [(ping, dest)] = link.requests("OPTIONS")
    assert dest == FIRST and ping.call_id == registration.call_id
    answer(endpoint, ping, dest, 200)
    clock.now += 25
    client.tick()
    assert len(link.requests("OPTIONS")) == 2
    clock.now += 25                 # the second ping was never answered
    client.tick()
    assert registration.state == FAILED and states[-1] == FAILED
    client.tick()                   # registers again at once, to the next target
    request, dest = link.requests("REGISTER")[-1]
    assert dest == SECOND and registration.state == FAILED
    answer(endpoint, request, dest, 401)
    answer(endpoint, link.requests("REGISTER")[-1][0], dest, 200)
    assert registration.state == REGISTERED


def test_tcp_keep_alive_is_a_crlf_and_a_lost_connection_re_registers():
    trunk = dataclasses.replace(TRUNK, host="192.0.2.20", port=5060, srv=False,
                                transport="tcp")
    dest = Address("192.0.2.20", 5060, "TCP")
    clock, link, endpoint, client, states = rig(trunk)
    client.tick()
    request, sent_to = link.requests("REGISTER")[-1]
    assert sent_to == dest and request.top_via.transport == "TCP"
    assert ";transport=tcp" in request.headers.get("Contact")
    link.connected.add(dest)
    answer(endpoint, request, dest, 401)
    answer(endpoint, link.requests("REGISTER")[-1][0], dest, 200)
    clock.now += 25
    client.tick()
    assert link.sent[-1] == (b"\r\n\r\n", dest)
    link.connected.discard(dest)
    for listener in link.on_failure:
        listener(dest, "connection closed")
    registration = client.registrations["provider"]
    assert registration.state == FAILED
    client.tick()
    assert link.requests("REGISTER")[-1][1] == dest     # at once, over a new connection


def test_a_proxy_route_is_preloaded():
    trunk = dataclasses.replace(TRUNK, outbound_proxy="192.0.2.30:5070")
    clock, link, endpoint, client, states = rig(trunk)
    client.tick()
    request, dest = link.requests("REGISTER")[-1]
    assert dest == Address("192.0.2.30", 5070, "UDP")
    assert request.uri == "sip:trunk.test"
    assert request.headers.get_all("Route") == ["<sip:192.0.2.30:5070;lr>"]


def test_an_unresolved_trunk_waits_and_says_so():
    clock, link = Clock(), Link()
    endpoint = SipEndpoint(link.send, registrar=None, clock=clock)
    network = TrunkNetwork([TRUNK], DnsClient([]), clock=clock)
    states = []
    client = TrunkClient(endpoint, {"provider": TrunkRegistration(TRUNK, "127.0.0.1", 5060)},
                         lambda name, state: states.append(state), network, clock=clock)
    client.tick()
    assert link.sent == [] and states == ["resolving"]


def test_a_slow_answer_from_the_only_target_is_still_taken():
    trunk = dataclasses.replace(TRUNK, host="192.0.2.20", srv=False)
    dest = Address("192.0.2.20", 5060, "UDP")
    clock, link, endpoint, client, states = rig(trunk)
    client.tick()
    request, _ = link.requests("REGISTER")[-1]
    clock.now += 10         # past failover_seconds, but there is no other target
    client.tick()
    assert len(link.requests("REGISTER")) == 1
    answer(endpoint, request, dest, 401)
    answer(endpoint, link.requests("REGISTER")[-1][0], dest, 200)
    assert client.registrations["provider"].state == REGISTERED
