"""DNS messages from bytes: answers captured from dnsmasq, and hand-made broken ones."""

import struct

import pytest

from firmware.pbx import dnswire
from firmware.pbx.dnswire import DnsFormatError, Srv, build_query, encode_name, parse_message

# dnsmasq 2.90's answer to SRV _sip._udp.trunk.test (two targets, their A records in the
# additional section, names compressed), id 0x1234.
SRV_ANSWER = bytes.fromhex(
    "123485800001000200000002045f736970045f756470057472756e6b04746573740000210001c00c0021"
    "00010000003c00170014000013d00473697032057472756e6b047465737400c00c002100010000003c00"
    "17000a003213cf0473697031057472756e6b047465737400c05b000100010000003c00047f000003c038"
    "000100010000003c00047f000004")
# ... and to A nothere.trunk.test (a --local domain): NXDOMAIN.
NXDOMAIN_ANSWER = bytes.fromhex(
    "123481830001000000000000076e6f7468657265057472756e6b04746573740000010001")


def header(query_id=7, flags=0x8180, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", query_id, flags, qd, an, ns, ar)


def record(name: bytes, rtype: int, ttl: int, data: bytes) -> bytes:
    return name + struct.pack("!HHIH", rtype, 1, ttl, len(data)) + data


def test_a_query_is_one_recursive_question():
    assert build_query(0xBEEF, "_sip._udp.Trunk.Test.", dnswire.TYPE_SRV) == (
        b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        b"\x04_sip\x04_udp\x05trunk\x04test\x00\x00\x21\x00\x01")


def test_dnsmasq_srv_answer_with_compressed_names():
    message = parse_message(SRV_ANSWER)
    assert message.id == 0x1234 and message.rcode == dnswire.NOERROR
    assert message.question == ("_sip._udp.trunk.test", dnswire.TYPE_SRV)
    assert sorted(message.srv("_sip._udp.trunk.test")) == [
        (Srv(10, 50, 5071, "sip1.trunk.test"), 60), (Srv(20, 0, 5072, "sip2.trunk.test"), 60)]
    assert message.addresses("sip2.trunk.test") == [("127.0.0.4", 60)]
    assert message.addresses("SIP1.trunk.test.") == [("127.0.0.3", 60)]


def test_nxdomain():
    message = parse_message(NXDOMAIN_ANSWER)
    assert message.rcode == dnswire.NXDOMAIN and message.rcode_name == "NXDOMAIN"
    assert message.addresses("nothere.trunk.test") == []


def test_a_cname_is_followed_and_other_types_are_skipped():
    question = encode_name("sip.example") + struct.pack("!HH", 1, 1)
    data = (header(an=3) + question
            + record(b"\xc0\x0c", dnswire.TYPE_CNAME, 300, encode_name("edge.example"))
            + record(encode_name("edge.example"), 28, 300, b"\x20\x01" + b"\x00" * 14)  # AAAA
            + record(encode_name("edge.example"), dnswire.TYPE_A, 30, bytes([192, 0, 2, 9])))
    assert parse_message(data).addresses("sip.example") == [("192.0.2.9", 30)]


def test_a_ttl_with_the_top_bit_set_counts_as_zero():
    question = encode_name("a.example") + struct.pack("!HH", 1, 1)
    data = header(an=1) + question + record(b"\xc0\x0c", 1, 0x80000001, bytes(4))
    assert parse_message(data).addresses("a.example") == [("0.0.0.0", 0)]


@pytest.mark.parametrize("data, problem", [
    (b"\x00" * 11, "shorter"),
    (header(flags=0x0100, qd=0), "a query"),
    (header(qd=1) + b"\xc0\x0c" + b"\x00\x01\x00\x01", "loops"),             # points at itself
    (header(qd=1) + b"\xc0\x20" + b"\x00\x01\x00\x01", "loops or points forward"),
    (header(qd=1) + b"\x40abc\x00" + b"\x00\x01\x00\x01", "label type"),
    (header(qd=1, an=1) + b"\x00\x00\x01\x00\x01" + record(b"\x00", 1, 5, b"\x01\x02"),
     "4 bytes"),
    (header(qd=1, an=1) + b"\x00\x00\x01\x00\x01" + b"\x00" + struct.pack("!HHIH", 1, 1, 5, 40),
     "past the end"),
])
def test_malformed_answers_are_refused_whole(data, problem):
    with pytest.raises(DnsFormatError, match=problem):
        parse_message(data)


def test_every_cut_of_a_real_answer_fails_cleanly():
    for end in range(len(SRV_ANSWER)):
        with pytest.raises(DnsFormatError):
            parse_message(SRV_ANSWER[:end])


def test_a_name_too_long_to_ask_for():
    with pytest.raises(DnsFormatError):
        encode_name("x" * 64 + ".example")
    with pytest.raises(DnsFormatError):
        encode_name(".".join(["abcdefgh"] * 30))
    with pytest.raises(DnsFormatError):
        encode_name("zdrój.example")
    with pytest.raises(DnsFormatError):
        build_query(70000, "a.example", 1)
