"""SIP messages from raw bytes: parsing, serialising, framing, building responses."""

import pytest

from firmware.pbx.sip.errors import SipBuildError, SipParseError
from firmware.pbx.sip.message import (
    Headers, Request, Response, Via, frame_stream, make_response, new_branch, new_call_id,
    new_tag, parse_message, parse_via,
)

SDP = (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
       b"m=audio 4000 RTP/AVP 0\r\n")


def raw(*lines: str, body: bytes = b"") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def invite(*extra: str, body: bytes = SDP, length: int | None = None) -> bytes:
    length = len(body) if length is None else length
    return raw(
        "INVITE sip:102@pbx.example.com SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport",
        "Max-Forwards: 70",
        'From: "Alice" <sip:101@pbx.example.com>;tag=a1',
        "To: <sip:102@pbx.example.com>",
        "Call-ID: call-1@192.0.2.1",
        "CSeq: 1 INVITE",
        "Contact: <sip:101@192.0.2.1:5060>",
        "Content-Type: application/sdp",
        *extra,
        f"Content-Length: {length}",
        body=body,
    )


OK_200 = raw(
    "SIP/2.0 200 OK",
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;received=192.0.2.9;rport=5062",
    'From: "Alice" <sip:101@pbx.example.com>;tag=a1',
    "To: <sip:102@pbx.example.com>;tag=b2",
    "Call-ID: call-1@192.0.2.1",
    "CSeq: 1 INVITE",
    "Content-Length: 0",
)


# --- requests and responses --------------------------------------------------------------------
def test_parse_invite():
    req = parse_message(invite())
    assert isinstance(req, Request)
    assert (req.method, req.uri, req.version) == ("INVITE", "sip:102@pbx.example.com", "SIP/2.0")
    assert req.body == SDP
    assert req.call_id == "call-1@192.0.2.1"
    assert req.cseq == (1, "INVITE")
    assert req.from_.display_name == "Alice" and req.from_.tag == "a1"
    assert req.to.uri == "sip:102@pbx.example.com" and req.to.tag is None
    assert req.top_via == Via("UDP", "192.0.2.1", 5060, (("branch", "z9hG4bKabc"), ("rport", None)))
    assert req.top_via.rport == "" and req.top_via.received is None
    assert req.max_forwards == 70
    assert req.ruri.user == "102"
    assert [str(c) for c in req.contacts] == ["<sip:101@192.0.2.1:5060>"]


def test_parse_response():
    resp = parse_message(OK_200)
    assert isinstance(resp, Response)
    assert (resp.status, resp.reason) == (200, "OK")
    assert resp.to.tag == "b2"
    via = resp.top_via
    assert (via.branch, via.received, via.rport) == ("z9hG4bKabc", "192.0.2.9", "5062")


def test_status_line_reason_may_be_empty_or_utf8():
    assert parse_message(OK_200.replace(b"200 OK", b"100 ")).reason == ""
    assert parse_message(OK_200.replace(b"200 OK", b"100")).status == 100
    text = "200 Ça marche"
    assert parse_message(OK_200.replace(b"200 OK", text.encode())).reason == "Ça marche"


@pytest.mark.parametrize("line", [b"SIP/2.0 2000 OK", b"SIP/2.0 20 OK", b"SIP/2.0 099 x",
                                  b"SIP/2.0 700 x", b"SIP/2.0 OK", b"SIP/2.0 4294967301 x"])
def test_bad_status_line(line):
    with pytest.raises(SipParseError) as info:
        parse_message(OK_200.replace(b"SIP/2.0 200 OK", line))
    assert info.value.request_info is None  # a bad response is dropped, never answered


def test_leading_crlf_is_skipped():
    assert parse_message(b"\r\n\r\n" + invite()).method == "INVITE"


def test_bare_lf_message_is_accepted():
    head, _, body = invite().partition(b"\r\n\r\n")
    req = parse_message(head.replace(b"\r\n", b"\n") + b"\n\n" + body)
    assert req.call_id == "call-1@192.0.2.1"
    assert req.headers.get("Contact") == "<sip:101@192.0.2.1:5060>"
    assert req.body == SDP


def test_header_folding():
    data = invite("Subject: first part", " second part", "\tthird part")
    assert parse_message(data).headers.get("Subject") == "first part second part third part"


def test_folded_start_of_value_and_cseq():
    req = parse_message(invite().replace(b"CSeq: 1 INVITE", b"CSeq: 0001\r\n  INVITE"))
    assert req.cseq == (1, "INVITE")


def test_compact_headers_are_expanded_and_canonicalised():
    data = raw(
        "OPTIONS sip:pbx.example.com SIP/2.0",
        "v: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKx",
        "f: <sip:a@example.com>;tag=1",
        "t: sip:pbx.example.com",
        "i: abc",
        "CSEQ: 5 OPTIONS",
        "max-forwards: 3",
        "m: <sip:a@192.0.2.1>",
        "k: replaces",
        "www-authenticate: Digest realm=\"x\", nonce=\"y\"",
        "l: 0",
    )
    req = parse_message(data)
    assert [name for name, _ in req.headers.items()] == [
        "Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Contact", "Supported",
        "WWW-Authenticate", "Content-Length"]
    assert req.headers.get("call-id") == req.headers.get("I") == "abc"
    assert req.headers.get_all("WWW-Authenticate") == ['Digest realm="x", nonce="y"']
    assert b"\r\nCall-ID: abc\r\n" in req.to_bytes()


def test_unknown_header_keeps_its_spelling():
    req = parse_message(invite("X-Custom-thing: yes", "C%6Fntact: <sip:x@y>"))
    assert req.headers.items()[-3:-1] == [("X-Custom-thing", "yes"), ("C%6Fntact", "<sip:x@y>")]
    assert req.headers.get("x-custom-THING") == "yes"
    assert len(req.contacts) == 1  # C%6Fntact is not Contact


def test_multi_value_headers():
    req = parse_message(invite(
        "Allow: INVITE, ACK", "Allow: BYE", "Route: <sip:p1;lr>, <sip:p2;lr>",
        "Via: SIP/2.0/UDP p3;branch=z9hG4bK3, SIP/2.0/UDP p4;branch=z9hG4bK4"))
    assert req.headers.get_all("Allow") == ["INVITE", "ACK", "BYE"]
    assert req.headers.get_all("Route") == ["<sip:p1;lr>", "<sip:p2;lr>"]
    assert [parse_via(v).host for v in req.vias] == ["192.0.2.1", "p3", "p4"]
    assert req.headers.get("Allow") == "INVITE, ACK"
    assert req.headers.count("Allow") == 2


def test_quoted_commas_in_contact_list():
    req = parse_message(invite('Contact: "Doe, J" <sip:j@x>;q=0.5, <sip:k@y>'))
    assert [c.display_name for c in req.contacts] == [None, "Doe, J", None]


def test_content_length_bounds_the_body_and_extra_bytes_are_ignored():
    data = invite(length=len(SDP)) + b"garbage after the body"
    req = parse_message(data)
    assert req.body == SDP


def test_missing_content_length_means_rest_of_datagram():
    data = invite().replace(f"Content-Length: {len(SDP)}\r\n".encode(), b"")
    assert parse_message(data).body == SDP


def test_zero_content_length_with_body_is_ignored():
    assert parse_message(invite(length=0)).body == b""


@pytest.mark.parametrize("value", [b"9999", b"-1", b"abc", b"1 2", b"\xd9\xa3"])
def test_bad_content_length(value):
    data = invite().replace(f"Content-Length: {len(SDP)}".encode(), b"Content-Length: " + value)
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert info.value.status == 400
    assert info.value.request_info is not None


def test_equal_duplicate_content_length_parses_but_different_ones_fail():
    same = invite(f"Content-Length: {len(SDP)}")
    assert parse_message(same).body == SDP
    with pytest.raises(SipParseError, match="conflicting"):
        parse_message(invite("Content-Length: 3"))


def test_body_is_bytes_untouched():
    body = bytes(range(256))
    req = parse_message(invite(body=body))
    assert req.body == body


@pytest.mark.parametrize("start_line, status", [
    ("INVITE sip:a@b SIP/3.0", 505),
    ("INVITE sip:a@b SIP/2.0 ", 400),
    ("INVITE  sip:a@b SIP/2.0", 400),
    ("INVITE sip:a@b", 400),
    ("INVITE <sip:a@b> SIP/2.0", 400),
    ("INVITE sip:a@b HTTP/1.1", 400),
])
def test_bad_request_line(start_line, status):
    data = invite().replace(b"INVITE sip:102@pbx.example.com SIP/2.0", start_line.encode())
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert info.value.status == status
    echo = info.value.request_info
    assert echo is not None
    assert echo.headers.get("Call-ID") == "call-1@192.0.2.1"
    assert echo.headers.get("Content-Type") is None  # only what a response echoes


def test_bad_method_gets_no_request_info():
    data = invite().replace(b"INVITE sip:102@pbx.example.com", b"INV@TE sip:102@pbx.example.com")
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert info.value.status == 400 and info.value.request_info is None


def test_lowercase_version_is_accepted():
    data = invite().replace(b"SIP/2.0\r\nVia", b"sip/2.0\r\nVia")
    assert parse_message(data).version == "SIP/2.0"


def test_request_info_lets_the_server_answer():
    data = invite().replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE")
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    resp = make_response(info.value.request_info, info.value.status)
    wire = resp.to_bytes()
    assert wire.startswith(b"SIP/2.0 400 Bad Request\r\n")
    assert b"CSeq: 1 BYE\r\n" in wire and b"Call-ID: call-1@192.0.2.1\r\n" in wire


@pytest.mark.parametrize("header", ["Via", "From", "To", "Call-ID", "CSeq"])
def test_mandatory_headers(header):
    lines = invite().split(b"\r\n")
    data = b"\r\n".join(line for line in lines if not line.startswith(header.encode() + b":"))
    with pytest.raises(SipParseError, match=header):
        parse_message(data)


def test_missing_max_forwards_is_tolerated():
    req = parse_message(invite().replace(b"Max-Forwards: 70\r\n", b""))
    assert req.max_forwards is None


@pytest.mark.parametrize("cseq", ["4294967296 INVITE", "-1 INVITE", "1", "x INVITE", "1 INV@TE"])
def test_bad_cseq(cseq):
    with pytest.raises(SipParseError, match="CSeq"):
        parse_message(invite().replace(b"CSeq: 1 INVITE", f"CSeq: {cseq}".encode()))


def test_biggest_cseq():
    data = invite().replace(b"CSeq: 1 INVITE", b"CSeq: 4294967295 INVITE")
    assert parse_message(data).cseq == (4294967295, "INVITE")


@pytest.mark.parametrize("value", ["256", "-1", "seventy"])
def test_bad_max_forwards(value):
    with pytest.raises(SipParseError, match="Max-Forwards"):
        parse_message(invite().replace(b"Max-Forwards: 70", f"Max-Forwards: {value}".encode()))


def test_header_line_without_colon():
    with pytest.raises(SipParseError, match="colon"):
        parse_message(invite("Foobar roobar"))


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n",
                                  b"\x00\xff\xfe garbage\r\n\r\n", b"SIP/2.0 200 OK\r\n\r\n"])
def test_garbage_raises_parse_error(data):
    with pytest.raises(SipParseError):
        parse_message(data)


@pytest.mark.parametrize("junk", [b"\r", b"\n"])
def test_lone_cr_or_lf_inside_a_line_is_refused(junk):
    with pytest.raises(SipParseError, match="bare CR or LF"):
        parse_message(invite("Subject: a" + junk.decode() + "Via: SIP/2.0/UDP evil"))
    with pytest.raises(SipParseError):
        parse_message(OK_200.replace(b"200 OK", b"200 O" + junk + b"K"))


def test_utf8_values_and_names():
    req = parse_message(invite("Subject: żółć 大停電"))
    assert req.headers.get("subject") == "żółć 大停電"
    assert "żółć 大停電".encode() in req.to_bytes()


def test_invalid_utf8_survives_a_round_trip():
    req = parse_message(invite(body=b"").replace(b"Contact: <", b"X-Bin: \xff\xfe\r\nContact: <"))
    assert b"X-Bin: \xff\xfe\r\n" in req.to_bytes()


# --- serialising -------------------------------------------------------------------------------
def test_round_trip():
    req = parse_message(invite("Allow: INVITE, ACK", "Subject: a", " b"))
    again = parse_message(req.to_bytes())
    assert again == req
    assert again.to_bytes() == req.to_bytes()
    resp = parse_message(OK_200)
    assert parse_message(resp.to_bytes()) == resp


def test_to_bytes_rewrites_content_length_in_place():
    req = parse_message(invite())
    req.body = b"hello"
    wire = req.to_bytes()
    assert wire.endswith(b"\r\nContent-Length: 5\r\n\r\nhello")
    assert wire.count(b"Content-Length") == 1
    built = Request("OPTIONS", "sip:a@b", Headers([("Via", "SIP/2.0/UDP h;branch=z9hG4bKq")]))
    assert built.to_bytes() == (b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKq\r\n"
                                b"Content-Length: 0\r\n\r\n")


def test_views_follow_header_changes():
    req = parse_message(invite())
    assert req.to.tag is None
    req.headers.set("To", "<sip:102@pbx.example.com>;tag=new")
    assert req.to.tag == "new"
    req.headers.prepend("Via", "SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp")
    assert req.top_via.host == "proxy.example.com"
    req.uri = "sip:103@pbx.example.com"
    assert req.ruri.user == "103"


# --- Headers -----------------------------------------------------------------------------------
def test_headers_multimap():
    h = Headers([("via", "a"), ("To", "x"), ("Via", "b")])
    assert h.get("VIA") == "a" and h.get_all("v") == ["a", "b"]
    assert "to" in h and "t" in h and "From" not in h and 5 not in h
    h.add("Record-Route", "<sip:r1;lr>")
    h.set("Via", "c")
    assert h.items() == [("Via", "c"), ("To", "x"), ("Record-Route", "<sip:r1;lr>")]
    h.set("From", "<sip:f@x>")
    assert h.items()[-1] == ("From", "<sip:f@x>")
    copy = h.copy()
    h.remove("via")
    assert "Via" not in h and "Via" in copy and len(copy) == 4
    assert h.get("Subject", "none") == "none" and h.get_all("Route") == []
    assert copy == Headers(copy.items()) and copy != h


def test_start_line_injection_is_refused():
    resp = make_response(parse_message(invite()), 400, "Bad\r\nVia: evil")
    with pytest.raises(SipBuildError):
        resp.to_bytes()


def test_headers_refuse_injection():
    h = Headers()
    with pytest.raises(SipBuildError):
        h.add("Subject", "x\r\nVia: evil")
    with pytest.raises(SipParseError):
        h.add("Bad Name", "x")


# --- Via -----------------------------------------------------------------------------------------
def test_parse_via_with_whitespace_everywhere():
    via = parse_via("SIP  / 2.0  / tcp   spindle.example.com :  5061 ; branch  =   z9hG4bK9ikj8 ")
    assert (via.transport, via.host, via.port, via.branch) == (
        "TCP", "spindle.example.com", 5061, "z9hG4bK9ikj8")
    assert str(via) == "SIP/2.0/TCP spindle.example.com:5061;branch=z9hG4bK9ikj8"


def test_via_ipv6_and_params():
    via = parse_via("SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKx;received=[2001:db8::1];rport")
    assert via.host == "[2001:db8::9]" and via.received == "[2001:db8::1]"
    stamped = via.with_params(received="192.0.2.4", rport="5070")
    assert str(stamped) == ("SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKx;received=192.0.2.4;"
                            "rport=5070")
    assert parse_via(str(stamped)) == stamped


def test_via_rfc2543_branch():
    assert not parse_via("SIP/2.0/UDP h;branch=z9hG4bK").is_rfc3261
    assert not parse_via("SIP/2.0/UDP h").is_rfc3261
    assert parse_via("SIP/2.0/UDP h;branch=z9hG4bKx").is_rfc3261
    assert parse_via("SIP/2.0/UDP h").rport is None


@pytest.mark.parametrize("text", [
    "SIP/2.0/UDP", "SIP/2.0 h", "SIP/2.0/UDP h;;", "SIP/2.0/UDP h;branch=", "SIP/2.0/UDP h:99999",
    "SIP/2.0/UDP h, SIP/2.0/UDP i", "SIP/2.0/UDP 192.0.2.15;;,;,,",
])
def test_bad_via(text):
    with pytest.raises(SipParseError):
        parse_via(text)


# --- make_response -------------------------------------------------------------------------------
def test_make_response_copies_rfc3261_headers():
    req = parse_message(invite(
        "Via: SIP/2.0/UDP p2;branch=z9hG4bK2", "Timestamp: 54", "Record-Route: <sip:p;lr>"))
    resp = make_response(req, 180, to_tag="b2", headers=[("Contact", "<sip:102@192.0.2.7>")])
    assert (resp.status, resp.reason) == (180, "Ringing")
    assert resp.vias == req.vias and len(resp.vias) == 2
    assert resp.to.tag == "b2" and resp.from_ == req.from_
    assert (resp.call_id, resp.cseq) == (req.call_id, req.cseq)
    assert resp.headers.get("Timestamp") is None  # only a 100 echoes it
    assert resp.headers.get("Contact") == "<sip:102@192.0.2.7>"
    assert make_response(req, 100).headers.get("Timestamp") == "54"
    assert parse_message(resp.to_bytes()).to_bytes() == resp.to_bytes()


def test_make_response_keeps_an_existing_to_tag():
    req = parse_message(invite().replace(b"To: <sip:102@pbx.example.com>",
                                         b"To: <sip:102@pbx.example.com>;tag=old"))
    assert make_response(req, 200, to_tag="new").to.tag == "old"


def test_make_response_reason_phrases():
    req = parse_message(invite())
    assert make_response(req, 486).reason == "Busy Here"
    assert make_response(req, 499).reason == "Client Error"
    assert make_response(req, 488, "Codecs, please").reason == "Codecs, please"
    with pytest.raises(SipBuildError):
        make_response(req, 99)


def test_identifiers():
    assert new_branch().startswith("z9hG4bK") and new_branch() != new_branch()
    assert new_branch("seed") == new_branch("seed") != new_branch("other")
    assert len(new_tag()) >= 8 and new_tag() != new_tag()
    assert new_call_id("192.0.2.1").endswith("@192.0.2.1")


# --- frame_stream ------------------------------------------------------------------------------
def test_frame_stream_byte_by_byte():
    stream = b"\r\n\r\n" + invite() + b"\r\n" + OK_200
    buffer = bytearray()
    frames = []
    for i in range(len(stream)):
        buffer += stream[i:i + 1]
        frame = frame_stream(buffer)
        if frame is not None:
            frames.append(frame)
    assert frames == [invite(), OK_200]
    assert buffer == bytearray()


def test_frame_stream_several_messages_in_one_read():
    buffer = bytearray(invite() + OK_200 + invite()[:30])
    assert frame_stream(buffer) == invite()
    assert frame_stream(buffer) == OK_200
    assert frame_stream(buffer) is None
    assert bytes(buffer) == invite()[:30]


def test_frame_stream_keepalive_only():
    buffer = bytearray(b"\r\n\r\n")
    assert frame_stream(buffer) is None and buffer == bytearray()


def test_frame_stream_compact_and_folded_content_length():
    msg = invite().replace(f"Content-Length: {len(SDP)}".encode(), f"l :\r\n {len(SDP)}".encode())
    buffer = bytearray(msg + b"next")
    assert frame_stream(buffer) == msg
    assert parse_message(msg).body == SDP


@pytest.mark.parametrize("change, status", [
    ((f"Content-Length: {len(SDP)}\r\n", ""), 400),
    ((f"Content-Length: {len(SDP)}", "Content-Length: x"), 400),
    ((f"Content-Length: {len(SDP)}", "Content-Length: 99999999"), 413),
    (("Max-Forwards: 70", "Content-Length: 1"), 400),
])
def test_frame_stream_errors(change, status):
    buffer = bytearray(invite().replace(change[0].encode(), change[1].encode()))
    with pytest.raises(SipParseError) as info:
        frame_stream(buffer)
    assert info.value.status == status


def test_frame_stream_header_block_limit():
    buffer = bytearray(b"INVITE sip:a@b SIP/2.0\r\nX: " + b"a" * 70000)
    with pytest.raises(SipParseError) as info:
        frame_stream(buffer)
    assert info.value.status == 513
    assert frame_stream(bytearray(b"INVITE sip:a@b SIP/2.0\r\nX: aaa")) is None


def test_stream_framing_refuses_a_non_ascii_digit_length():
    """str.isdigit() says yes to "\xb2" (superscript two); int() does not."""
    buffer = bytearray(b"OPTIONS sip:a SIP/2.0\r\nContent-Length: \xb2\r\n\r\n")
    with pytest.raises(SipParseError):
        frame_stream(buffer)


def test_the_to_uri_is_parsed_once_and_follows_a_changed_to():
    message = parse_message(invite())
    assert (message.to_uri.user, message.to_uri.host) == ("102", "pbx.example.com")
    assert message.to_uri is message.to_uri                         # memoised
    message.headers.set("To", "<sips:103@other.example.com>;tag=x")
    assert (message.to_uri.scheme, message.to_uri.user) == ("sips", "103")
    message.headers.set("To", "<mailto:x@example.com>")
    with pytest.raises(SipParseError):
        message.to_uri  # noqa: B018


def test_headers_index_lists_repeated_headers_in_order():
    headers = Headers([("Via", "a"), ("Route", "<sip:r1>"), ("via", "b, c"),
                       ("Route", "<sip:r2>")])
    assert headers.get("Via") == "a" and headers.count("Via") == 2
    assert headers.get_all("Via") == ["a", "b", "c"]
    assert headers.get_all("Route") == ["<sip:r1>", "<sip:r2>"]
    assert headers.name_counts() == {"via": 2, "route": 2} and "ROUTE" in headers


def test_forgotten_views_are_parsed_again_alike():
    message = parse_message(invite())
    before = (message.from_, message.to, message.top_via, message.contacts, message.cseq,
              message.call_id, message.to_uri)
    message.headers.forget_views()
    assert (message.from_, message.to, message.top_via, message.contacts, message.cseq,
            message.call_id, message.to_uri) == before
    assert message.to_bytes() == parse_message(invite()).to_bytes()
