"""SDP: real offers round-trip byte for byte, the relay rewrite, and junk that must not crash."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.pbx.sdp import (
    MAX_SDP_BYTES,
    Attribute,
    Connection,
    SdpError,
    SessionDescription,
    audio_endpoint,
    direction,
    rewrite_for_relay,
)


def crlf(text: str) -> str:
    return "".join(line + "\r\n" for line in text.strip("\n").split("\n"))


# RFC 4317 section 2.1: audio and video, the answer rejects video.
RFC4317_OFFER = crlf("""
v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s=
c=IN IP4 host.atlanta.example.com
t=0 0
m=audio 49170 RTP/AVP 0 8 97
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:97 iLBC/8000
m=video 51372 RTP/AVP 31 32
a=rtpmap:31 H261/90000
a=rtpmap:32 MPV/90000
""")

RFC4317_ANSWER = crlf("""
v=0
o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com
s=
c=IN IP4 host.biloxi.example.com
t=0 0
m=audio 49174 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 0 RTP/AVP 31
a=rtpmap:31 H261/90000
""")

# RFC 4317 section 5.1 style hold: same session, higher version, a=sendonly.
RFC4317_HOLD = crlf("""
v=0
o=alice 2890844526 2890844527 IN IP4 host.atlanta.example.com
s=
c=IN IP4 host.atlanta.example.com
t=0 0
m=audio 49170 RTP/AVP 0 97
a=rtpmap:0 PCMU/8000
a=rtpmap:97 iLBC/8000
a=sendonly
""")

# A Linphone desk phone behind NAT: private address, RTCP port, vendor attributes.
LINPHONE_OFFER = crlf("""
v=0
o=101 3254 1826 IN IP4 192.168.1.23
s=Talk
c=IN IP4 192.168.1.23
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
a=record:off
m=audio 7078 RTP/AVP 0 8 96 101
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:101 telephone-event/8000
a=rtcp:7079
a=rtcp-fb:* trr-int 1000
""")

# baresip with ICE, a bandwidth line, a media-level c= and ptime.
BARESIP_OFFER = crlf("""
v=0
o=- 1427347183 1651542128 IN IP4 192.168.1.50
s=-
c=IN IP4 192.168.1.50
t=0 0
a=tool:baresip 1.0.0
a=ice-lite
m=audio 12344 RTP/AVP 0 8 101
c=IN IP4 192.168.1.51
b=AS:64
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=rtcp:12345 IN IP4 192.168.1.51
a=ice-ufrag:Kb4x
a=ice-pwd:Zk2wbP1oN8Qk0p3xfGl0Q2
a=candidate:1 1 UDP 2113929471 192.168.1.51 12344 typ host
a=candidate:2 1 UDP 1677721855 83.1.2.3 40000 typ srflx raddr 192.168.1.51 rport 12344
a=end-of-candidates
a=ptime:20
""")

# An Asterisk-based trunk, G.711 both laws and DTMF events.
ASTERISK_OFFER = crlf("""
v=0
o=- 1234567 1234568 IN IP4 203.0.113.5
s=Asterisk
c=IN IP4 203.0.113.5
t=0 0
m=audio 16450 RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=maxptime:150
a=sendrecv
""")

REAL = [RFC4317_OFFER, RFC4317_ANSWER, RFC4317_HOLD, LINPHONE_OFFER, BARESIP_OFFER, ASTERISK_OFFER]


@pytest.mark.parametrize("text", REAL)
def test_real_bodies_round_trip_byte_for_byte(text):
    sd = SessionDescription.parse(text)
    assert str(sd) == text
    assert SessionDescription.parse(text.encode()).to_bytes() == text.encode()


def test_fields_are_read():
    sd = SessionDescription.parse(RFC4317_OFFER)
    assert sd.origin.username == "alice"
    assert sd.origin.session_version == 2890844526
    assert sd.name == ""
    assert sd.connection == Connection("IN", "IP4", "host.atlanta.example.com")
    audio, video = sd.media
    assert (audio.kind, audio.port, audio.proto, audio.formats) == ("audio", 49170, "RTP/AVP", ["0", "8", "97"])
    assert audio.attributes[0] == Attribute("rtpmap", "0 PCMU/8000")
    assert video.kind == "video" and video.port == 51372


def test_lf_only_and_blank_lines_are_accepted_and_written_with_crlf():
    text = RFC4317_ANSWER.replace("\r\n", "\n") + "\n\n"
    assert str(SessionDescription.parse(text)) == RFC4317_ANSWER


def test_missing_s_and_t_are_supplied_so_the_output_is_valid():
    sd = SessionDescription.parse("v=0\no=- 1 1 IN IP4 10.0.0.1\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 0\n")
    assert str(sd) == crlf("""
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 4000 RTP/AVP 0
""")


def test_unknown_lines_and_odd_bytes_survive():
    text = (b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=Caf\xe9 \xff\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
            b"x=vendor thing\r\nm=audio 4000/2 RTP/AVP 0\r\nk=prompt\r\ny=more\r\na=weird\r\n")
    sd = SessionDescription.parse(text)
    assert sd.to_bytes() == text
    assert sd.media[0].port_count == 2


def test_out_of_order_lines_come_out_in_rfc_order():
    sd = SessionDescription.parse("v=0\no=- 1 1 IN IP4 h\nt=0 0\nc=IN IP4 h\ns=x\ni=info\n")
    assert str(sd) == crlf("v=0\no=- 1 1 IN IP4 h\ns=x\ni=info\nc=IN IP4 h\nt=0 0")


def test_bump_version():
    sd = SessionDescription.parse(RFC4317_OFFER)
    assert sd.bump_version() == 2890844527
    assert "o=alice 2890844526 2890844527 IN IP4" in str(sd)


def test_audio_endpoint_and_direction():
    assert audio_endpoint(SessionDescription.parse(RFC4317_OFFER)) == ("host.atlanta.example.com", 49170)
    assert audio_endpoint(SessionDescription.parse(BARESIP_OFFER)) == ("192.168.1.51", 12344)  # media c= wins
    assert direction(SessionDescription.parse(RFC4317_OFFER)) == "sendrecv"
    assert direction(SessionDescription.parse(RFC4317_HOLD)) == "sendonly"


def test_rejected_audio_has_no_endpoint():
    sd = SessionDescription.parse(RFC4317_ANSWER.replace("m=audio 49174", "m=audio 0"))
    assert audio_endpoint(sd) is None
    assert direction(sd) == "inactive"


def test_old_style_hold_is_reported_as_such():
    sd = SessionDescription.parse(ASTERISK_OFFER.replace("c=IN IP4 203.0.113.5", "c=IN IP4 0.0.0.0"))
    assert audio_endpoint(sd) == ("0.0.0.0", 16450)


def test_session_level_direction_applies_when_the_media_says_nothing():
    sd = SessionDescription.parse(RFC4317_ANSWER.replace("t=0 0\r\n", "t=0 0\r\na=recvonly\r\n"))
    assert direction(sd) == "recvonly"


def test_rewrite_points_audio_at_the_relay_and_keeps_codecs():
    original = SessionDescription.parse(ASTERISK_OFFER)
    out = rewrite_for_relay(original, "192.0.2.10", 10000, session_id="42", session_version=7)
    assert str(out) == crlf("""
v=0
o=- 42 7 IN IP4 192.0.2.10
s=Asterisk
c=IN IP4 192.0.2.10
t=0 0
m=audio 10000 RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=maxptime:150
a=sendrecv
""")
    assert str(original) == ASTERISK_OFFER   # the argument is untouched


def test_rewrite_drops_ice_and_media_c_and_moves_rtcp():
    out = rewrite_for_relay(SessionDescription.parse(BARESIP_OFFER), "192.0.2.10", 10002)
    text = str(out)
    assert "candidate" not in text and "ice-" not in text
    assert "192.168.1.5" not in text   # no trace of the phone's addresses
    assert "a=rtcp:10003 IN IP4 192.0.2.10\r\n" in text
    assert "b=AS:64\r\n" in text and "a=ptime:20\r\n" in text and "a=tool:baresip 1.0.0\r\n" in text
    assert out.origin.session_id == "1427347183" and out.origin.session_version == 1651542128
    assert audio_endpoint(out) == ("192.0.2.10", 10002)

    linphone = str(rewrite_for_relay(SessionDescription.parse(LINPHONE_OFFER), "192.0.2.10", 10004))
    assert "a=rtcp:10005\r\n" in linphone and "a=rtcp-xr:" in linphone and "a=fmtp:96 useinbandfec=1" in linphone


def test_rewrite_disables_streams_the_relay_does_not_carry():
    out = rewrite_for_relay(SessionDescription.parse(RFC4317_OFFER), "192.0.2.10", 10000)
    assert [(m.kind, m.port) for m in out.media] == [("audio", 10000), ("video", 0)]


def test_rewrite_keeps_an_old_style_hold_visible():
    held = SessionDescription.parse(ASTERISK_OFFER.replace("c=IN IP4 203.0.113.5", "c=IN IP4 0.0.0.0"))
    out = rewrite_for_relay(held, "192.0.2.10", 10000)
    assert audio_endpoint(out) == ("0.0.0.0", 10000)
    assert out.origin.address == "192.0.2.10"


def test_rewrite_with_ipv6_relay():
    out = rewrite_for_relay(SessionDescription.parse(ASTERISK_OFFER), "2001:db8::10", 10000)
    assert "o=- 1234567 1234568 IN IP6 2001:db8::10\r\nc=IN IP6 2001:db8::10\r\n" in str(out).replace("s=Asterisk\r\n", "")


@pytest.mark.parametrize("text, words", [
    ("", "v=0"),
    ("v=1\r\no=- 1 1 IN IP4 h\r\n", "v=0"),
    ("v=0\r\ns=-\r\n", "no o="),
    ("v=0\r\no=- 1 x IN IP4 h\r\n", "version"),
    ("v=0\r\no=- 1 IN IP4 h\r\n", "6 fields"),
    ("v=0\r\no=- 1 " + "9" * 5000 + " IN IP4 h\r\n", "version"),
    ("v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 99999 RTP/AVP 0\r\n", "port"),
    ("v=0\r\no=- 1 1 IN IP4 h\r\nm=audio -1 RTP/AVP 0\r\n", "port"),
    ("v=0\r\no=- 1 1 IN IP4 h\r\nm=audio \u0663 RTP/AVP 0\r\n", "port"),
    ("v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 4000\r\n", "3 fields"),
    ("v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4\r\n", "c="),
    ("v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nc=IN IP4 h\r\n", "second"),
    ("v=0\r\no=- 1 1 IN IP4 h\r\nhello\r\n", "line 3"),
    ("v=0\r\no=- 1 1 IN IP4 h\r\nA=x\r\n", "line 3"),
    ("v=0\r\no=- 1 1 IN IP4 h\r\ns=a\rb\r\n", "CR"),
    ("v=0\r\no=- 1 1 IN IP4 h\x00\r\n", "NUL"),
    ("v=0\r\no=- 1 1 IN IP4 h\r\nv=0\r\n", "second v="),
    ("v=0\r\n" + "a=x\r\n" * 20000, "over"),
])
def test_junk_raises_sdp_error_with_a_message(text, words):
    with pytest.raises(SdpError, match=words):
        SessionDescription.parse(text)


def test_oversized_bytes_are_refused_before_decoding():
    with pytest.raises(SdpError, match=str(MAX_SDP_BYTES)):
        SessionDescription.parse(b"v=0\r\n" + b"\xff" * MAX_SDP_BYTES)


def test_sdp_error_is_a_value_error():
    assert issubclass(SdpError, ValueError)


LINE_TYPES = st.sampled_from("vosctmaibkzx")
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["0", "- 1 1 IN IP4 10.0.0.1", "IN IP4 0.0.0.0", "audio 4000 RTP/AVP 0 8",
                     "audio 0 RTP/AVP 0", "rtcp:4001 IN IP4 1.2.3.4", "sendonly", "candidate:1 x",
                     "video 4002/2 RTP/AVP 31", "audio 4000 RTP/AVP", "0 0", "rtcp:"]),
)
SDP_LIKE = st.lists(st.tuples(LINE_TYPES, VALUES), max_size=20).map(
    lambda lines: "v=0\r\n" + "".join(f"{k}={v}\r\n" for k, v in lines))


def _check(data):
    try:
        sd = SessionDescription.parse(data)
    except SdpError:
        return
    text = str(sd)
    again = SessionDescription.parse(text)          # what we write, we read back the same
    assert str(again) == text
    audio_endpoint(sd)
    direction(sd)
    if audio_endpoint(sd) is not None:
        out = rewrite_for_relay(sd, "192.0.2.1", 10000)
        assert str(SessionDescription.parse(str(out))) == str(out)


@settings(max_examples=300, deadline=None)
@given(SDP_LIKE)
def test_fuzz_sdp_like_text_parses_or_raises_sdp_error(text):
    _check(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_bytes_parse_or_raise_sdp_error(data):
    _check(data)
    _check(b"v=0\r\no=- 1 1 IN IP4 h\r\n" + data)


# --- issue 14.17: addresses the relay must not send to ------------------------------------------
@pytest.mark.parametrize("host, peers, refused", [
    ("127.0.0.1", ["198.51.100.20"], True),
    ("127.9.9.9", ["0.0.0.0"], True),
    ("::1", ["2001:db8::5"], True),
    ("::ffff:127.0.0.1", ["198.51.100.20"], True),
    ("127.0.0.1", ["127.0.0.2"], False),           # the peer itself is on loopback
    ("127.0.0.1", ["198.51.100.20", "127.0.0.11"], False),
    ("192.168.1.20", ["198.51.100.20"], False),
    ("not-an-address", ["198.51.100.20"], True),
])
def test_refused_media_address(host, peers, refused):
    from firmware.pbx.sdp import refused_media_address
    assert (refused_media_address(host, peers) is not None) is refused
