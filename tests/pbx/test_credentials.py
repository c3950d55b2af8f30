"""The credentials decision shared by REGISTER and INVITE, from a table."""

import pytest

from firmware.pbx import credentials
from firmware.pbx.sip.digest import DigestServer, answer_challenge

DIGEST = DigestServer("callbox", b"k" * 32, algorithms=("MD5",))
PASSWORDS = {"101": "secret-101-pw", "102": "secret-102-pw"}.get


def answer(user, password, *, now=100.0, server=DIGEST, realm_challenge=None):
    challenge = realm_challenge or server.challenge(now)[0]
    return answer_challenge(challenge, method="INVITE", uri="sip:x", username=user,
                            password=password, cnonce="c1")


@pytest.mark.parametrize("authorization,claimed,expected", [
    (None, "101", credentials.CHALLENGE),
    (answer("101", "secret-101-pw"), "101", credentials.OK),
    (answer("101", "wrong-password"), "101", credentials.REFUSE),
    (answer("999", "anything-at-all"), "999", credentials.REFUSE),     # unknown = wrong
    (answer("102", "secret-102-pw"), "101", credentials.REFUSE),      # someone else's
    (answer("101", "secret-101-pw", server=DigestServer("callbox", b"z" * 32)), "101",
     credentials.CHALLENGE),                                          # a nonce not ours
    (answer("101", "secret-101-pw",
            realm_challenge='Digest realm="elsewhere", nonce="abc", qop="auth"'), "101",
     credentials.CHALLENGE),                                          # another realm
])
def test_check(authorization, claimed, expected):
    verdict = credentials.check(DIGEST, authorization, "INVITE", claimed, PASSWORDS, 100.0)
    assert verdict.outcome == expected
    if expected == credentials.OK:
        assert verdict.username == "101"


def test_an_expired_nonce_is_challenged_as_stale():
    verdict = credentials.check(DIGEST, answer("101", "secret-101-pw", now=0.0), "INVITE",
                                "101", PASSWORDS, 10_000.0)
    assert (verdict.outcome, verdict.stale) == (credentials.CHALLENGE, True)


def test_a_captured_invite_answer_does_not_call_another_number():
    """Issue 14.6: the answer covers uri "sip:x"; the replay asks for another Request-URI."""
    value = answer("101", "secret-101-pw", now=100.0)
    verdict = credentials.check(DIGEST, value, "INVITE", "101", PASSWORDS, 100.0,
                                request_uri="sip:+48701234567@192.0.2.1", source="203.0.113.66")
    assert verdict.outcome == credentials.REFUSE and "Request-URI" in verdict.reason
    verdict = credentials.check(DIGEST, value, "INVITE", "101", PASSWORDS, 100.0,
                                request_uri="sip:x", source="198.51.100.11")
    assert verdict.outcome == credentials.OK


def test_an_empty_password_is_never_accepted():
    """Issue 14.5: even if one slipped into the running config, "" is no password."""
    value = answer("103", "", now=100.0)
    verdict = credentials.check(DIGEST, value, "INVITE", "103", {"103": ""}.get, 100.0)
    assert verdict.outcome == credentials.REFUSE
