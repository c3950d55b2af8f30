"""Digest auth: RFC vectors, nonce lifetime, replay, enumeration resistance, client round trip."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.pbx.sip.digest import (
    AuthResult,
    DigestServer,
    answer_challenge,
    digest_response,
    make_ha1,
    parse_auth_header,
    pick_challenge,
)
from firmware.pbx.sip.errors import SipParseError

SECRET = b"0123456789abcdef0123456789abcdef"
REALM = "callbox.local"
USERS = {"101": "s3cret-101", "102": "pa\"ss\\word"}


def password_for(user):
    return USERS.get(user)


@pytest.fixture
def server():
    return DigestServer(REALM, SECRET, nonce_lifetime=300.0)


def answer(server, now=1000.0, *, user="101", password=None, method="REGISTER",
           algorithm_index=0, cnonce="c0ffee", nc=1, stale=False):
    challenge = server.challenge(now, stale=stale)[algorithm_index]
    return answer_challenge(
        challenge, method=method, uri="sip:callbox.local", username=user,
        password=USERS.get(user, "x") if password is None else password, cnonce=cnonce, nc=nc,
    )


# -- parsing ----------------------------------------------------------------------------------

def test_parse_auth_header_quotes_tokens_and_commas():
    scheme, params = parse_auth_header(
        'Digest  realm="a, b", nonce="x\\"y", qop="auth,auth-int", algorithm=MD5,stale=TRUE')
    assert scheme == "Digest"
    assert params == {"realm": "a, b", "nonce": 'x"y', "qop": "auth,auth-int",
                      "algorithm": "MD5", "stale": "TRUE"}


def test_parse_auth_header_rejects_garbage():
    with pytest.raises(SipParseError):
        parse_auth_header('Digest realm="unterminated')
    with pytest.raises(SipParseError):
        parse_auth_header('Digest realm="a", realm="b"')
    with pytest.raises(SipParseError):
        parse_auth_header("")


# -- RFC vectors ------------------------------------------------------------------------------

def test_rfc2617_md5_qop_auth_vector():
    challenge = ('Digest realm="testrealm@host.com", qop="auth,auth-int", '
                 'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
                 'opaque="5ccc069c403ebaf9f0171e9517f40e41"')
    value = answer_challenge(challenge, method="GET", uri="/dir/index.html", username="Mufasa",
                             password="Circle Of Life", cnonce="0a4f113b", nc=1)
    scheme, params = parse_auth_header(value)
    assert scheme == "Digest"
    assert params["response"] == "6629fae49393a05397450978507c4ef1"
    assert params["qop"] == "auth" and params["nc"] == "00000001"
    assert params["opaque"] == "5ccc069c403ebaf9f0171e9517f40e41"
    assert "algorithm" not in params  # not in the challenge, so MD5 by default
    assert 'qop=auth,' in value and "nc=00000001" in value  # tokens, not quoted strings


def test_rfc7616_sha256_vector():
    ha1 = make_ha1("SHA-256", "Mufasa", "http-auth@example.org", "Circle of Life")
    response = digest_response(
        "SHA-256", ha1=ha1, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        method="GET", uri="/dir/index.html", qop="auth", nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert response == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def test_rfc7616_md5_vector():
    ha1 = make_ha1("MD5", "Mufasa", "http-auth@example.org", "Circle of Life")
    response = digest_response(
        "MD5", ha1=ha1, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        method="GET", uri="/dir/index.html", qop="auth", nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert response == "8ca523f5e9506fed4657c9700eebdbec"


# -- server -----------------------------------------------------------------------------------

def test_challenge_offers_sha256_then_md5(server):
    values = server.challenge(1000.0)
    assert [parse_auth_header(v)[1]["algorithm"] for v in values] == ["SHA-256", "MD5"]
    for value in values:
        params = parse_auth_header(value)[1]
        assert params["realm"] == REALM and params["qop"] == "auth" and "stale" not in params
    assert "stale=true" in server.challenge(1000.0, stale=True)[0]
    assert pick_challenge(list(reversed(values))) == values[0]


@pytest.mark.parametrize("index", [0, 1])
def test_round_trip(server, index):
    result = server.verify("REGISTER", answer(server, algorithm_index=index), password_for, 1001.0)
    assert result == AuthResult(True, "101", False, "ok")


def test_password_with_quotes_round_trips(server):
    assert server.verify("REGISTER", answer(server, user="102"), password_for, 1001.0).ok


def test_method_is_covered(server):
    assert not server.verify("INVITE", answer(server), password_for, 1001.0).ok


def test_precomputed_ha1(server):
    def ha1_for(user):
        return {"MD5": make_ha1("MD5", user, REALM, USERS[user]),
                "SHA-256": make_ha1("SHA-256", user, REALM, USERS[user])}
    assert server.verify("REGISTER", answer(server), ha1_for, 1001.0).ok
    assert server.verify("REGISTER", answer(server, algorithm_index=1), ha1_for, 1001.0).ok


def test_expired_nonce_is_stale_only_with_the_right_password(server):
    good = answer(server, now=1000.0)
    result = server.verify("REGISTER", good, password_for, 1000.0 + 301)
    assert (result.ok, result.stale) == (False, True)
    bad = answer(server, now=1000.0, password="wrong")
    result = server.verify("REGISTER", bad, password_for, 1000.0 + 301)
    assert (result.ok, result.stale) == (False, False)


def test_replayed_nc_rejected_and_next_nc_accepted(server):
    first = answer(server, nc=1)
    assert server.verify("REGISTER", first, password_for, 1001.0).ok
    replay = server.verify("REGISTER", first, password_for, 1002.0)
    assert (replay.ok, replay.stale) == (False, True)
    nonce = parse_auth_header(first)[1]["nonce"]
    challenge = f'Digest realm="{REALM}", nonce="{nonce}", algorithm=SHA-256, qop="auth"'
    second = answer_challenge(challenge, method="REGISTER", uri="sip:callbox.local",
                              username="101", password=USERS["101"], cnonce="c0ffee", nc=2)
    assert server.verify("REGISTER", second, password_for, 1003.0).ok
    assert not server.verify("REGISTER", first, password_for, 1004.0).ok


def test_new_cnonce_may_restart_nc(server):
    challenge = server.challenge(1000.0)[0]
    for cnonce in ("aaa", "bbb"):
        value = answer_challenge(challenge, method="REGISTER", uri="sip:callbox.local",
                                 username="101", password=USERS["101"], cnonce=cnonce)
        assert server.verify("REGISTER", value, password_for, 1001.0).ok


def test_unknown_user_and_wrong_password_look_alike(server):
    wrong = server.verify("REGISTER", answer(server, password="nope"), password_for, 1001.0)
    unknown = server.verify("REGISTER", answer(server, user="999", password="nope"),
                            password_for, 1001.0)
    assert (wrong.ok, wrong.stale) == (unknown.ok, unknown.stale) == (False, False)
    assert wrong.username == "101" and unknown.username == "999"  # as claimed, in both cases
    assert wrong.reason != unknown.reason  # for the log only


def test_unknown_user_does_the_same_hashing(server, monkeypatch):
    import firmware.pbx.sip.digest as digest

    values = [answer(server, user=user, password="nope") for user in ("101", "999")]
    counts = []
    real = digest._h

    def counting(hasher, text):
        counts[-1] += 1
        return real(hasher, text)

    monkeypatch.setattr(digest, "_h", counting)
    for value in values:
        counts.append(0)
        assert not server.verify("REGISTER", value, password_for, 1001.0).ok
    assert counts[0] == counts[1] > 0


def test_forged_and_foreign_nonces_rejected(server):
    value = answer(server)
    params = parse_auth_header(value)[1]
    nonce = params["nonce"]
    forged_nonce = ("B" if nonce[0] != "B" else "C") + nonce[1:]
    forged = value.replace(nonce, forged_nonce)
    assert not server.verify("REGISTER", forged, password_for, 1001.0).ok
    other = DigestServer(REALM, b"another-secret-of-32-bytes......")
    result = other.verify("REGISTER", value, password_for, 1001.0)
    assert (result.ok, result.stale) == (False, False)
    assert result.reason == "nonce not issued by us"


def test_future_nonce_is_stale(server):
    result = server.verify("REGISTER", answer(server, now=2000.0), password_for, 1000.0)
    assert (result.ok, result.stale) == (False, True)


@pytest.mark.parametrize("edit", [
    ('realm="callbox.local"', 'realm="elsewhere"'),
    ("algorithm=SHA-256", "algorithm=SHA-512-256"),
    ("qop=auth", "qop=auth-int"),
    ("nc=00000001", "nc=1"),
    (', cnonce="c0ffee"', ""),
    ('uri="sip:callbox.local", ', ""),
    ("Digest ", "Basic "),
])
def test_malformed_credentials_refused(server, edit):
    original = answer(server)
    assert edit[0] in original
    value = original.replace(*edit)
    result = server.verify("REGISTER", value, password_for, 1001.0)
    assert not result.ok and not result.stale


def test_rfc2069_style_from_old_phones():
    server = DigestServer(REALM, SECRET, algorithms=("MD5",))
    nonce = server.make_nonce(1000.0)
    value = answer_challenge(f'Digest realm="{REALM}", nonce="{nonce}"', method="REGISTER",
                             uri="sip:callbox.local", username="101",
                             password=USERS["101"], cnonce="unused")
    assert "qop" not in value and "cnonce" not in value
    phone = "198.51.100.11"
    assert server.verify("REGISTER", value, password_for, 1001.0, source=phone).ok
    assert server.verify("REGISTER", value, password_for, 1100.0, source=phone).ok  # refresh
    assert server.verify("REGISTER", value, password_for, 1400.0, source=phone).stale
    strict = DigestServer(REALM, SECRET, algorithms=("MD5",), allow_rfc2069=False)
    assert not strict.verify("REGISTER", value, password_for, 1001.0).ok


def test_md5_sess():
    server = DigestServer(REALM, SECRET, algorithms=("MD5-sess",))
    value = answer(server)
    assert "algorithm=MD5-sess" in value
    assert server.verify("REGISTER", value, password_for, 1001.0).ok


def test_nc_table_is_bounded_and_eviction_fails_safe():
    server = DigestServer(REALM, SECRET, max_tracked=3)
    values = [answer(server, now=1000.0 + i, cnonce=f"c{i}") for i in range(5)]
    for i, value in enumerate(values):
        assert server.verify("REGISTER", value, password_for, 1010.0 + i).ok
    assert len(server._seen) <= 3
    # The first entries were evicted: replaying them is refused (stale), not accepted.
    replay = server.verify("REGISTER", values[0], password_for, 1020.0)
    assert (replay.ok, replay.stale) == (False, True)
    # Expired entries are dropped before live ones.
    later = answer(server, now=2000.0, cnonce="late")
    assert server.verify("REGISTER", later, password_for, 2001.0).ok
    assert len(server._seen) == 1


def test_expired_entries_behind_a_live_one_are_swept_before_evicting():
    server = DigestServer(REALM, SECRET, max_tracked=3)
    used = [(1200.0, 1201.0), (1000.0, 1202.0), (1201.0, 1203.0), (1349.0, 1350.0)]
    for issued, now in used:
        value = answer(server, now=issued, cnonce=f"c{issued}")
        assert server.verify("REGISTER", value, password_for, now).ok
    assert sorted(entry[1] for entry in server._seen.values()) == [1200.0, 1201.0, 1349.0]
    assert server._floor == float("-inf")  # nothing live was evicted


def test_answer_challenge_rejects_unknown_algorithm():
    with pytest.raises(SipParseError):
        answer_challenge('Digest realm="r", nonce="n", algorithm=SHA-512', method="REGISTER",
                         uri="sip:r", username="u", password="p", cnonce="c")


def test_auth_int_when_only_offered():
    value = answer_challenge('Digest realm="r", nonce="n", qop="auth-int"', method="INVITE",
                             uri="sip:r", username="u", password="p", cnonce="c", body=b"v=0")
    params = parse_auth_header(value)[1]
    ha1 = make_ha1("MD5", "u", "r", "p")
    assert params["response"] == digest_response(
        "MD5", ha1=ha1, nonce="n", method="INVITE", uri="sip:r", qop="auth-int",
        nc="00000001", cnonce="c", body=b"v=0")


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_verify_never_raises_on_garbage(text):
    server = DigestServer(REALM, SECRET)
    for value in (text, "Digest " + text):
        result = server.verify("REGISTER", value, password_for, 1001.0)
        assert not result.ok


# -- issue 14.6: replayed digest answers ------------------------------------------------------
def test_an_rfc2069_answer_replayed_from_another_host_is_answered_stale():
    server = DigestServer(REALM, SECRET, algorithms=("MD5",))
    nonce = server.make_nonce(1000.0)
    value = answer_challenge(f'Digest realm="{REALM}", nonce="{nonce}"', method="REGISTER",
                             uri="sip:callbox.local", username="101",
                             password=USERS["101"], cnonce="unused")
    assert server.verify("REGISTER", value, password_for, 1001.0, source="198.51.100.11").ok
    replay = server.verify("REGISTER", value, password_for, 1002.0, source="203.0.113.66")
    assert not replay.ok and replay.stale
    assert server.verify("REGISTER", value, password_for, 1003.0, source="198.51.100.11").ok


def test_an_rfc2069_nonce_is_single_use_when_the_source_is_unknown():
    server = DigestServer(REALM, SECRET, algorithms=("MD5",))
    nonce = server.make_nonce(1000.0)
    value = answer_challenge(f'Digest realm="{REALM}", nonce="{nonce}"', method="INVITE",
                             uri="sip:+48601234567@callbox.local", username="101",
                             password=USERS["101"], cnonce="unused")
    assert server.verify("INVITE", value, password_for, 1001.0).ok
    assert server.verify("INVITE", value, password_for, 1002.0).stale


def test_the_rfc2069_bindings_are_bounded_and_eviction_fails_safe():
    server = DigestServer(REALM, SECRET, algorithms=("MD5",), max_tracked=8)
    values = []
    for i in range(20):
        nonce = server.make_nonce(1000.0 + i)
        values.append(answer_challenge(f'Digest realm="{REALM}", nonce="{nonce}"',
                                       method="REGISTER", uri="sip:callbox.local",
                                       username="101", password=USERS["101"], cnonce="x"))
        assert server.verify("REGISTER", values[-1], password_for, 1000.0 + i,
                             source=f"10.0.0.{i}").ok
    assert len(server._bound) <= 8
    # an evicted binding is never accepted from elsewhere
    assert not server.verify("REGISTER", values[0], password_for, 1030.0, source="10.9.9.9").ok


@pytest.mark.parametrize("request_uri", ["sip:+48601234567@callbox.local",
                                         "sip:101@callbox.local", "sips:callbox.local",
                                         "sip:callbox.local:5070"])
def test_the_credentials_uri_must_be_the_request_uri(request_uri):
    server = DigestServer(REALM, SECRET)
    value = answer(server)                                       # uri="sip:callbox.local"
    result = server.verify("REGISTER", value, password_for, 1001.0, request_uri=request_uri)
    assert not result.ok and not result.stale and "Request-URI" in result.reason


@pytest.mark.parametrize("request_uri", ["sip:callbox.local", "sip:CallBox.Local",
                                         "sip:callbox.local;transport=udp"])
def test_the_same_uri_written_differently_is_accepted(request_uri):
    server = DigestServer(REALM, SECRET)
    value = answer(server)
    assert server.verify("REGISTER", value, password_for, 1001.0, request_uri=request_uri).ok
