"""The box's own registration to its provider, driven by hand-made responses."""

import dataclasses

from firmware.config import Trunk
from firmware.pbx.sip.message import make_response
from firmware.pbx.trunk import FAILED, REGISTERED, RETRY_FIRST, TrunkRegistration

TRUNK = Trunk("provider", "sip.provider.example", 5060, "48221234567", "trunk-secret", True)


def challenge(request, status=401):
    header = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
    return make_response(request, status, None, to_tag="p1", headers=[
        (header, 'Digest realm="provider", nonce="n0nce", qop="auth", algorithm=MD5')])


def ok(request, expires="300"):
    contact = request.headers.get("Contact")
    return make_response(request, 200, "OK", to_tag="p1",
                         headers=[("Contact", f"{contact};expires={expires}")])


def test_register_answers_401_then_refreshes_at_80_percent():
    reg = TrunkRegistration(TRUNK, "198.51.100.7", 5060)
    first = reg.request(0.0)
    assert first.uri == "sip:sip.provider.example" and "Authorization" not in first.headers
    second = reg.on_response(challenge(first), 0.1)
    assert second is not None and second.cseq[0] == first.cseq[0] + 1
    assert second.call_id == first.call_id
    assert 'username="48221234567"' in second.headers.get("Authorization")
    assert reg.on_response(ok(second), 0.2) is None
    assert reg.state == REGISTERED
    assert reg.next_at == 0.2 + 300 * 0.8


def test_407_is_answered_with_proxy_authorization():
    reg = TrunkRegistration(TRUNK, "198.51.100.7", 5060)
    first = reg.request(0.0)
    second = reg.on_response(challenge(first, 407), 0.1)
    assert second.headers.get("Proxy-Authorization", "").startswith("Digest ")


def test_wrong_credentials_do_not_loop_and_back_off_doubles():
    reg = TrunkRegistration(TRUNK, "198.51.100.7", 5060)
    request = reg.request(0.0)
    request = reg.on_response(challenge(request), 0.0)
    request = reg.on_response(challenge(request), 0.0)   # challenged again: one more try
    assert reg.on_response(challenge(request), 0.0) is None   # then it gives up
    assert reg.state == FAILED and reg.next_at == RETRY_FIRST
    reg.on_timeout(100.0)
    assert reg.next_at == 100.0 + 2 * RETRY_FIRST


def test_timeout_retries_later():
    reg = TrunkRegistration(TRUNK, "198.51.100.7", 5060)
    reg.request(0.0)
    reg.on_timeout(32.0)
    assert reg.state == FAILED and reg.next_at == 32.0 + RETRY_FIRST


def test_a_late_answer_for_a_replaced_registration_changes_nothing():
    """The owner changed the trunk in the panel while a REGISTER was out: its answer must
    not bring the old registration's state back."""
    from firmware.pbx.dnsclient import DnsClient
    from firmware.pbx.trunk import TrunkClient
    from firmware.pbx.trunknet import TrunkNetwork

    sent, states = [], []

    class Endpoint:
        def send_request(self, request, dest, owner):
            sent.append((request, owner))

    literal = dataclasses.replace(TRUNK, host="203.0.113.5")
    old = TrunkRegistration(literal, "198.51.100.7", 5060)
    network = TrunkNetwork([literal], DnsClient([]))
    client = TrunkClient(Endpoint(), {"provider": old},
                         lambda name, state: states.append((name, state)), network,
                         clock=lambda: 1.0)
    client._send(old, old.request(0.0, route=network.route("provider")))
    [(request, owner)] = sent
    new = TrunkRegistration(dataclasses.replace(TRUNK, host="sip2.example"), "198.51.100.7",
                            5060)
    client.registrations = {"provider": new}
    owner.on_sip_response(ok(request))
    owner.on_sip_timeout()
    assert states == [] and len(sent) == 1 and old.state != REGISTERED
