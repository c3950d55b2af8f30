"""The registrar from raw REGISTERs: no sockets, explicit `now`."""

from __future__ import annotations

import pytest

from firmware.pbx.bindings import Bindings
from firmware.pbx.registrar import Registrar
from firmware.pbx.sip.digest import DigestServer, answer_challenge
from firmware.pbx.sip.message import parse_message
from firmware.pbx.transport import Address

PASSWORDS = {"101": "secret-101-pw"}
NAT = Address("203.0.113.5", 40001)   # where the REGISTER really came from


def make():
    return Registrar(DigestServer("callbox", b"s" * 32, algorithms=("MD5",)), PASSWORDS.get,
                     Bindings(), lambda: "tag1")


def register(registrar, *, user="101", password="secret-101-pw", contact="<sip:101@10.0.0.7:5060>",
             expires=None, cseq=1, now=1000.0, call_id="reg-1"):
    """Send a REGISTER, answer the 401 with `password`, return the final response."""
    lines = ["REGISTER sip:box SIP/2.0", f"Via: SIP/2.0/UDP 10.0.0.7;branch=z9hG4bK{cseq}",
             f"From: <sip:{user}@box>;tag=f", f"To: <sip:{user}@box>", f"Call-ID: {call_id}",
             f"CSeq: {cseq} REGISTER", f"Contact: {contact}", "Max-Forwards: 70"]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    raw = "\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n"
    first = registrar.handle(parse_message(raw.encode()), NAT, now)
    assert first.status == 401
    auth = answer_challenge(first.headers.get("WWW-Authenticate"), method="REGISTER",
                            uri="sip:box", username=user, password=password, cnonce=f"c{cseq}")
    raw = raw.replace(f"CSeq: {cseq} REGISTER", f"CSeq: {cseq + 1} REGISTER\r\n"
                                               f"Authorization: {auth}")
    return registrar.handle(parse_message(raw.encode()), NAT, now)


def test_bound_with_expiry_and_the_nat_source_kept():
    registrar = make()
    ok = register(registrar, expires=120)
    assert ok.status == 200
    assert ok.headers.get("Contact") == "<sip:101@10.0.0.7:5060>;expires=120"
    (binding,) = registrar.bindings.contacts("101", 1000.0)
    assert (binding.source_host, binding.source_port) == ("203.0.113.5", 40001)
    assert registrar.bindings.contacts("101", 1000.0 + 121) == []


@pytest.mark.parametrize("expires,status,granted", [
    ("30", 423, None), ("59", 423, None), ("60", 200, 60), ("7200", 200, 3600),
    ("\u00b2", 400, None),   # junk: a clear 400, never a crash
    ("soon", 200, 3600),     # a token that is no number: the default
])
def test_expires_bounds(expires, status, granted):
    registrar = make()
    response = register(registrar, contact=f"<sip:101@10.0.0.7>;expires={expires}")
    assert response.status == status
    if status == 423:
        assert response.headers.get("Min-Expires") == "60"
    elif status == 200:
        assert response.headers.get("Contact").endswith(f";expires={granted}")


def test_several_contacts_then_unregister_one_and_then_all():
    registrar = make()
    register(registrar, contact="<sip:101@10.0.0.7>", cseq=1)
    ok = register(registrar, contact="<sip:101@10.0.0.8>", cseq=3)
    assert len(ok.headers.get_all("Contact")) == 2
    ok = register(registrar, contact="<sip:101@10.0.0.8>;expires=0", cseq=5)
    assert [b.contact for b in registrar.bindings.contacts("101", 1000.0)] == ["sip:101@10.0.0.7"]
    ok = register(registrar, contact="*", expires=0, cseq=7)
    assert ok.status == 200 and registrar.bindings.contacts("101", 1000.0) == []


def test_unknown_extension_and_wrong_password_look_the_same():
    wrong = register(make(), password="not-it")
    unknown = register(make(), user="999", password="not-it")
    assert (wrong.status, wrong.reason, wrong.headers.items()) == \
        (unknown.status, unknown.reason, [(k, v.replace("999", "101")) for k, v in
                                          unknown.headers.items()])
    assert wrong.status == 403


def test_authenticated_as_someone_else_is_refused():
    registrar = make()
    PASSWORDS["102"] = "secret-102-pw"
    try:
        response = register(registrar, user="102", password="secret-102-pw")
        assert response.status == 200
        # 102's credentials for 101's binding
        raw = (b"REGISTER sip:box SIP/2.0\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKz\r\n"
               b"From: <sip:101@box>;tag=f\r\nTo: <sip:101@box>\r\nCall-ID: z\r\n"
               b"CSeq: 1 REGISTER\r\nContact: <sip:evil@198.51.100.1>\r\nContent-Length: 0\r\n\r\n")
        first = registrar.handle(parse_message(raw), NAT, 1000.0)
        auth = answer_challenge(first.headers.get("WWW-Authenticate"), method="REGISTER",
                                uri="sip:box", username="102", password="secret-102-pw",
                                cnonce="x")
        second = parse_message(raw.replace(b"CSeq: 1", b"Authorization: " + auth.encode()
                                           + b"\r\nCSeq: 2"))
        assert registrar.handle(second, NAT, 1000.0).status == 403
        assert registrar.bindings.contacts("101", 1000.0) == []
    finally:
        del PASSWORDS["102"]


@pytest.mark.parametrize("contact,status,reason", [
    ('<sip:101@10.0.0.7>, <sip:101@10.0.0.8;x="y">', 400, "Bad Contact"),     # second is bad
    ("<sip:101@10.0.0.7>;expires=30, <sip:101@10.0.0.8", 423, "Interval Too Brief"),  # in order
    ("<mailto:101@example.com>", 400, "Bad Contact"),                           # not a SIP URI
    ("*, <sip:101@10.0.0.7>", 400, "Wildcard Contact must stand alone"),
    ("<sip:101@10.0.0.7>, <sip:101@10.0.0.8>;expires=120", 200, "OK"),
])
def test_contacts_are_checked_one_by_one_in_order(contact, status, reason):
    response = register(make(), contact=contact)
    assert (response.status, response.reason) == (status, reason)


def test_a_to_uri_that_is_no_sip_uri_is_a_bad_request():
    raw = (b"REGISTER sip:box SIP/2.0\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKq\r\n"
           b"From: <sip:101@box>;tag=f\r\nTo: <sip:101@box:99999>\r\nCall-ID: q\r\n"
           b"CSeq: 1 REGISTER\r\nContact: <sip:101@10.0.0.7>\r\nContent-Length: 0\r\n\r\n")
    assert make().handle(parse_message(raw), NAT, 1000.0).status == 400
