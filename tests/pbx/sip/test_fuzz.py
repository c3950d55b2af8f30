"""Fuzzing the code that reads what strangers send: SIP messages, URIs, digest and SDP.

Hypothesis builds inputs three ways: raw bytes, valid messages with random edits, and
messages put together from SIP-shaped pieces (header names, URIs, quotes, brackets, params)
so that the parser gets deep before it fails. The properties:
- only the ValueError family (SipParseError, SdpError) escapes a parser, whatever the input;
- what parses can be answered (make_response, check_request) and serialised;
- serialising and parsing again gives the same value (round trips), where that holds;
- the whole SIP endpoint (registrar included) takes any datagram without an exception.
Every crash these found is pinned below as a plain test (see "found by fuzzing").
Bounded for CI: 300 examples per property, the whole file in a few seconds; for a long run
    CALLBOX_FUZZ_EXAMPLES=50000 python -m pytest tests/pbx/sip/test_fuzz.py
"""

from __future__ import annotations

import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.pbx.bindings import Bindings
from firmware.pbx.endpoint import SipEndpoint
from firmware.pbx.registrar import Registrar
from firmware.pbx.sdp import SdpError, SessionDescription, audio_endpoint, rewrite_for_relay
from firmware.pbx.sip.digest import DigestServer, answer_challenge, parse_auth_header
from firmware.pbx.sip.errors import SipError, SipParseError
from firmware.pbx.sip.message import Request, frame_stream, make_response, parse_message
from firmware.pbx.sip.uri import (
    parse_name_addr, parse_uri, parse_via, split_header_list)
from firmware.pbx.sip.validate import check_request
from firmware.pbx.transport import Address

# CALLBOX_FUZZ_EXAMPLES=50000 turns the CI run into a long fuzzing session.
FUZZ = settings(max_examples=int(os.environ.get("CALLBOX_FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SOURCE = Address("192.0.2.66", 5060)

REGISTER = (
    b"REGISTER sip:192.0.2.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.66:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'To: "Desk" <sip:101@192.0.2.1>\r\n'
    b"From: <sip:101@192.0.2.1>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
    b"CSeq: 2 REGISTER\r\n"
    b"Contact: <sip:101@192.0.2.66:5060;transport=udp>;expires=120\r\n"
    b'Authorization: Digest username="101", realm="callbox", nonce="abc", '
    b'uri="sip:192.0.2.1", response="0123456789abcdef0123456789abcdef", algorithm=MD5, '
    b'qop=auth, nc=00000001, cnonce="xyz"\r\n'
    b"User-Agent: Yealink SIP-T21P\r\n"
    b"Content-Length: 0\r\n\r\n")
SDP = (b"v=0\r\no=- 20518 0 IN IP4 192.0.2.66\r\ns=-\r\nc=IN IP4 192.0.2.66\r\nt=0 0\r\n"
       b"m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
       b"a=fmtp:101 0-15\r\na=rtcp:4001\r\na=sendrecv\r\n")
INVITE = (
    b"INVITE sip:+48221234567@192.0.2.1;user=phone SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.66:5060;branch=z9hG4bKnashds8\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: <sip:+48221234567@192.0.2.1>\r\n"
    b'From: "Alice \\"A\\"" <sip:alice@192.0.2.66>;tag=1928301774\r\n'
    b"Call-ID: 3848276298220188511@192.0.2.66\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@192.0.2.66>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + str(len(SDP)).encode() + b"\r\n\r\n" + SDP)
RESPONSE = (
    b"SIP/2.0 401 Unauthorized\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;received=192.0.2.1\r\n"
    b"To: <sip:101@192.0.2.1>;tag=a6c85cf\r\nFrom: <sip:101@192.0.2.1>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710\r\nCSeq: 1 REGISTER\r\n"
    b'WWW-Authenticate: Digest realm="callbox", nonce="n", qop="auth", algorithm=MD5\r\n'
    b"Content-Length: 0\r\n\r\n")
SEEDS = [REGISTER, INVITE, RESPONSE]

# --- strategies -------------------------------------------------------------------------
# Bytes that mean something to a SIP parser, and a few that should never appear.
NOISE = st.sampled_from([
    b"", b" ", b"\t", b"\r", b"\n", b"\r\n", b"\r\n\r\n", b"\r\n ", b":", b";", b",", b"<", b">",
    b'"', b"\\", b"@", b"=", b"?", b"&", b"%", b"%zz", b"%00", b"[", b"]", b"[::1]", b"/",
    b"\x00", b"\xff", b"\xc3\xa9", b"\xed\xa0\x80", b"sip:", b"tel:", b"z9hG4bK", b";tag=",
    b";branch=", b"99999999999", b"-1", b"65536", b"Content-Length: 9999\r\n", b"l: 0\r\n",
    b"Via: SIP/2.0/UDP h\r\n", b"CSeq: 1 BYE\r\n", b"SIP/2.0", b"SIP/3.0", b"INVITE",
    b"*", b"Contact: *\r\n", b"Expires: 0\r\n", b"a" * 300,
])
EDITS = st.lists(st.tuples(st.floats(0, 1), st.integers(0, 2), NOISE), max_size=8)


def _mutate(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for where, op, piece in edits:
        i = int(where * len(out))
        if op == 0:
            out[i:i + len(piece)] = piece
        elif op == 1:
            out[i:i] = piece
        else:
            del out[i:i + max(1, len(piece))]
    return bytes(out)


MUTATED = st.builds(_mutate, st.sampled_from(SEEDS), EDITS)

ATOM = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "-_.!~*'()+%", min_size=1,
            max_size=8),
    st.sampled_from(["sip:", "sips:", "tel:", "mailto:", "@", ":", ";", ",", "=", "?", "&",
                     "<", ">", '"', "\\", " ", "\t", "[", "]", "::1", "%41", "%", "5060",
                     "99999", "tag", "branch", "z9hG4bK", "expires", "transport=tcp", "lr",
                     "rport", "user=phone", "\u00e9", "\U0001f4de", "\udcff",
                     "\u00b2", "\u0663", "\uff11", "0x10", "1e3", " 60 "]),
)
FRAGMENT = st.lists(ATOM, max_size=12).map("".join)
HEADER_NAMES = st.sampled_from([
    "Via", "v", "From", "f", "To", "t", "Call-ID", "i", "CSeq", "Contact", "m", "Max-Forwards",
    "Expires", "Authorization", "Proxy-Authorization", "Content-Length", "l", "Content-Type",
    "c", "Require", "Proxy-Require", "Supported", "Accept", "Route", "Record-Route",
    "User-Agent", "Date", "X-Odd", "Via ", "to"])
HEADER_VALUES = st.one_of(
    FRAGMENT,
    st.sampled_from([
        "SIP/2.0/UDP 192.0.2.66:5060;branch=z9hG4bKabc", "SIP/2.0/TCP [2001:db8::1]:5061",
        "<sip:101@192.0.2.1>;tag=x", '"A \\" B" <sip:a@b>', "sip:a@b;tag=1", "1 REGISTER",
        "2 INVITE", "70", "0", "*", "application/sdp", "Digest username=\"101\"",
        '<sip:a@b>;expires=60, <sip:c@d>', "<sip:101@192.0.2.66;ob>;reg-id=1;+sip.instance="
        '"<urn:uuid:1>"']),
)
HEADERS = st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=14)
METHODS = st.sampled_from(["REGISTER", "OPTIONS", "INVITE", "ACK", "BYE", "CANCEL", "INFO",
                           "SUBSCRIBE", "FOO", "register", "IN VITE"])


def _assemble(method, uri, headers, body, keep_core) -> bytes:
    core = [("Via", "SIP/2.0/UDP 192.0.2.66:5060;branch=z9hG4bKf1"), ("From", "<sip:a@b>;tag=1"),
            ("To", "<sip:101@192.0.2.1>"), ("Call-ID", "fuzz@192.0.2.66"),
            ("CSeq", f"1 {method}")] if keep_core else []
    lines = [f"{method} {uri} SIP/2.0"] + [f"{n}: {v}" for n, v in core + headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogatepass") + body


SIP_LIKE = st.builds(_assemble, METHODS, st.one_of(FRAGMENT, st.just("sip:101@192.0.2.1")),
                     HEADERS, st.sampled_from([b"", SDP, b"x" * 10]), st.booleans())
ANY_MESSAGE = st.one_of(st.binary(max_size=400), MUTATED, SIP_LIKE)


# --- parse_message -----------------------------------------------------------------------
def _parse(data: bytes):
    """parse_message, allowed to fail only with SipParseError (a ValueError)."""
    try:
        return parse_message(data)
    except SipParseError as exc:
        assert isinstance(exc, ValueError)
        assert 400 <= exc.status <= 599
        if exc.request_info is not None:   # the endpoint answers these: it must be possible
            make_response(exc.request_info, exc.status).to_bytes()
        return None


def _without_length(message) -> list[tuple[str, str]]:
    """Header lines but Content-Length (to_bytes always writes one, of the real length)."""
    return [(n, v) for n, v in message.headers.items() if n.lower() != "content-length"]


@FUZZ
@given(ANY_MESSAGE)
def test_parse_message_fails_only_with_sip_parse_error(data):
    message = _parse(data)
    if message is None:
        return
    wire = message.to_bytes()
    again = parse_message(wire)                      # what we send, we can read back
    assert type(again) is type(message)
    assert again.to_bytes() == wire                  # and it serialises to the same bytes
    assert again.body == message.body
    assert _without_length(again) == _without_length(message)
    if isinstance(message, Request):
        assert (again.method, again.uri) == (message.method, message.uri)
        problem = check_request(message)
        if problem is not None:
            status, reason, headers = problem
            make_response(message, status, reason, headers=headers).to_bytes()
        make_response(message, 200, to_tag="t1").to_bytes()


@FUZZ
@given(st.lists(ANY_MESSAGE, min_size=1, max_size=4), st.integers(1, 64))
def test_frame_stream_pops_whole_messages_or_fails_cleanly(messages, chunk):
    stream = b"".join(messages)
    buffer = bytearray()
    for i in range(0, len(stream), chunk):
        buffer += stream[i:i + chunk]
        while True:
            try:
                message = frame_stream(buffer)
            except SipParseError:
                return   # the transport closes the connection: nothing more to check
            if message is None:
                break
            _parse(message)


# --- the whole endpoint ------------------------------------------------------------------
def _endpoint() -> tuple[SipEndpoint, list]:
    sent: list = []
    digest = DigestServer("callbox", b"0123456789abcdef0123", algorithms=("MD5",))
    registrar = Registrar(digest, {"101": "secret-101-pw"}.get, Bindings(), lambda: "totag")
    endpoint = SipEndpoint(lambda data, dest: sent.append((data, dest)), registrar,
                           clock=lambda: 1_700_000_000.0)
    return endpoint, sent


# Statuses of answers to malformed requests: their Via/From/To/Call-ID/CSeq are copied as
# received (RFC 3261 8.2.6), so they need not parse; every other answer must.
ECHOING = {b"400", b"413", b"416", b"505", b"513"}


@FUZZ
@given(st.lists(ANY_MESSAGE, min_size=1, max_size=3))
def test_endpoint_takes_any_datagram(datagrams):
    endpoint, sent = _endpoint()
    for data in datagrams:
        endpoint.on_datagram(data, SOURCE)    # no exception may reach the transport
    for data, dest in sent:
        assert dest == SOURCE
        head, blank, _ = data.partition(b"\r\n\r\n")
        assert head.startswith(b"SIP/2.0 ") and blank
        # An answer to a malformed request echoes the sender's own (broken) headers, but
        # never splits or adds a line.
        lines = head.split(b"\r\n")
        assert not any(b"\r" in line or b"\n" in line for line in lines)
        if head[8:11] not in ECHOING:
            parse_message(data)


EXPIRES = st.one_of(FRAGMENT, st.integers(-5, 2**40).map(str),
                    st.sampled_from(["", "0", "59", "60", "3600", "\u00b2", "\u0663\u0660"]))
CONTACTS = st.lists(st.one_of(FRAGMENT.map(lambda f: f"<sip:101@192.0.2.66{f}>"),
                              st.builds("<sip:101@192.0.2.66>;expires={}".format, EXPIRES),
                              st.sampled_from(["*", "<sip:101@192.0.2.66>", "sip:101@h;q=0.5"])),
                    min_size=1, max_size=3).map(", ".join)


@FUZZ
@given(CONTACTS, st.one_of(st.none(), EXPIRES), st.integers(1, 3))
def test_authenticated_register_with_any_contact_and_expires(contact, expires, repeat):
    """Past the password check (where strangers cannot go) the registrar must not crash."""
    endpoint, sent = _endpoint()
    digest = endpoint.registrar.digest
    for cseq in range(1, repeat + 1):
        auth = answer_challenge(digest.challenge(1_700_000_000.0)[0], method="REGISTER",
                                uri="sip:192.0.2.1", username="101", password="secret-101-pw",
                                cnonce=f"c{cseq}")
        head = (f"REGISTER sip:192.0.2.1 SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 192.0.2.66;branch=z9hG4bKreg{cseq}\r\n"
                "From: <sip:101@192.0.2.1>;tag=1\r\nTo: <sip:101@192.0.2.1>\r\n"
                f"Call-ID: fuzz-reg\r\nCSeq: {cseq} REGISTER\r\nContact: {contact}\r\n"
                + (f"Expires: {expires}\r\n" if expires is not None else "")
                + f"Authorization: {auth}\r\nContent-Length: 0\r\n\r\n")
        endpoint.on_datagram(head.encode("utf-8", "surrogateescape"), SOURCE)
    assert len(sent) == repeat or endpoint.counters["malformed"]
    for data, _ in sent:
        assert data.startswith(b"SIP/2.0 ")


# --- URIs, name-addr, Via ------------------------------------------------------------------
@FUZZ
@given(st.one_of(FRAGMENT, st.text(max_size=60)))
def test_uri_parsers_fail_only_with_sip_parse_error(text):
    for parse in (parse_uri, parse_name_addr, parse_via):
        try:
            value = parse(text)
        except SipParseError:
            continue
        # str() gives text that parses back to the same value
        assert parse(str(value)) == value, (parse.__name__, text, str(value))
    split_header_list(text)


@FUZZ
@given(FRAGMENT)
def test_uri_inside_name_addr(fragment):
    for text in (f"sip:{fragment}", f"<sip:{fragment}>", f'"x" <sip:{fragment}>;tag=1'):
        try:
            value = parse_name_addr(text)
        except SipParseError:
            continue
        assert parse_name_addr(str(value)) == value
        try:
            uri = parse_uri(value.uri)
        except SipParseError:
            continue
        assert parse_uri(str(uri)) == uri


# --- digest ------------------------------------------------------------------------------
AUTH_TEXT = st.lists(st.one_of(ATOM, st.sampled_from([
    "Digest ", "username=", "realm=", "nonce=", "uri=", "response=", "qop=auth", "nc=",
    "cnonce=", "algorithm=MD5", "algorithm=SHA-256-sess", '"', '\\"', ", "])), max_size=16).map(
    "".join)


@FUZZ
@given(st.one_of(AUTH_TEXT, st.text(max_size=80)))
def test_auth_header_parser_fails_only_with_sip_parse_error(text):
    try:
        scheme, params = parse_auth_header(text)
    except SipParseError:
        return
    assert scheme and all(name == name.lower() for name in params)
    server = DigestServer("callbox", b"0123456789abcdef0123")
    assert not server.verify("REGISTER", text, lambda user: "pw", 1000.0).ok


CREDENTIAL = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                     max_size=20)


@FUZZ
@given(CREDENTIAL, CREDENTIAL, st.sampled_from(["MD5", "SHA-256"]),
       st.sampled_from(["sip:192.0.2.1", "sip:101@192.0.2.1;transport=tcp", "sip:\"q\"@h"]))
def test_any_credentials_answer_their_own_challenge(username, password, algorithm, uri):
    server = DigestServer("callbox", b"0123456789abcdef0123", algorithms=(algorithm,))
    challenge = server.challenge(1000.0)[0]
    value = answer_challenge(challenge, method="REGISTER", uri=uri, username=username,
                             password=password, cnonce="c0ffee")
    scheme, params = parse_auth_header(value)
    assert params["username"] == username
    users = {username: password}
    result = server.verify("REGISTER", value, users.get, 1001.0)
    assert result.ok and result.username == username
    wrong = server.verify("REGISTER", value, {username: password + "x"}.get, 1001.0)
    assert not wrong.ok and not wrong.stale


# --- SDP ---------------------------------------------------------------------------------
@FUZZ
@given(st.builds(_mutate, st.just(SDP), EDITS))
def test_sdp_from_a_phone_with_edits(body):
    try:
        sd = SessionDescription.parse(body)
    except SdpError:
        return
    wire = sd.to_bytes()
    assert SessionDescription.parse(wire).to_bytes() == wire
    if audio_endpoint(sd) is not None:
        out = rewrite_for_relay(sd, "192.0.2.1", 10000)
        assert SessionDescription.parse(out.to_bytes()).to_bytes() == out.to_bytes()


# --- found by fuzzing ----------------------------------------------------------------------
# Long runs (10,000-15,000 examples per property, CALLBOX_FUZZ_EXAMPLES) found no crash in the
# parsers; what they did find is pinned here: the shapes where a first guess at a property
# was wrong, so the properties above stay right.
def test_a_505_echoes_a_broken_to_header_on_one_line():
    """The version is refused first (505), and the To it copies need not parse."""
    endpoint, sent = _endpoint()
    data = REGISTER.replace(b"SIP/2.0\r\n", b"SIP/2.999999999990\r\n", 1).replace(
        b"<sip:101@192.0.2.1>\r\nFrom", b"<sip:101@19 .0.2.1>\r\nFrom")
    endpoint.on_datagram(data, SOURCE)
    (answer, _), = sent
    assert answer.startswith(b"SIP/2.0 505 ")
    assert b'\r\nTo: "Desk" <sip:101@19 .0.2.1>\r\n' in answer


def test_a_blank_line_inside_a_header_ends_the_headers_there():
    """CRLFCRLF inside To cuts the message: what follows is body, From and Call-ID are gone."""
    data = REGISTER.replace(b"<sip:101@192.0.2.1>\r\nFrom", b"<sip:101@19\r\n\r\n2.1>\r\nFrom")
    with pytest.raises(SipParseError) as caught:
        parse_message(data)
    assert caught.value.status == 400 and caught.value.request_info is not None


def test_serialising_adds_content_length_so_round_trips_compare_without_it():
    message = parse_message(REGISTER.replace(b"Content-Length: 0\r\n", b""))
    assert b"Content-Length: 0\r\n" in message.to_bytes()
    assert _without_length(parse_message(message.to_bytes())) == _without_length(message)


def test_sip_error_family():
    assert issubclass(SipParseError, (SipError, ValueError)) and issubclass(SdpError, ValueError)
