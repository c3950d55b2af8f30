"""RFC 4475 torture messages through parse_message and check_request, in-process.

Each file's expected outcome is written out below, following /work/shared/sip-torture/README.md:
  OK           parses; a request passes check_request (a UAS answers it normally)
  PARSE(s)     parse_message raises SipParseError with status s; for requests that carry a Via,
               err.request_info lets the server answer s; for responses, nothing is answered
  CHECK(s)     parses; check_request returns status s
"""

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import peers
from firmware.pbx.sip.errors import SipParseError
from firmware.pbx.sip.message import Request, Response, make_response, parse_message, parse_via
from firmware.pbx.sip.uri import parse_uri
from firmware.pbx.sip.validate import check_request


def _torture_dir() -> Path | None:
    here = Path(__file__).resolve().parents[3].parent / "shared" / "sip-torture" / "rfc4475"
    if here.is_dir():
        return here
    shared = os.environ.get("CALLBOX_SHARED")
    if shared:
        path = Path(shared) / "sip-torture" / "rfc4475"
        if path.is_dir():
            return path
    return None


TORTURE = _torture_dir()
pytestmark = peers.needs(TORTURE is not None, "RFC 4475 messages not found "
                         "(set CALLBOX_SHARED to the shared directory)")

OK = ("ok", None)


def PARSE(status):
    return ("parse", status)


def CHECK(status):
    return ("check", status)


EXPECTED = {
    # 3.1.1 valid messages
    "wsinv": OK, "intmeth": OK, "esc01": OK, "escnull": OK, "esc02": OK, "lwsdisp": OK,
    "longreq": OK, "dblreq": OK, "semiuri": OK, "transports": OK, "mpart01": OK,
    "unreason": OK, "noreason": OK,
    # 3.1.2 invalid messages
    "badinv01": PARSE(400),    # Via ";;,;,," and Contact ";;;;"
    "clerr": PARSE(400),       # Content-Length larger than the datagram
    "ncl": PARSE(400),         # negative Content-Length
    "scalar02": PARSE(400),    # CSeq above 2**32-1 (also Max-Forwards 300)
    "scalarlg": PARSE(400),    # a response: dropped
    "quotbal": PARSE(400),     # unterminated quote in To
    "ltgtruri": PARSE(400),    # Request-URI in <>
    "lwsruri": PARSE(400),     # space inside the Request-URI
    "lwsstart": PARSE(400),    # several spaces in the request line
    "trws": PARSE(400),        # trailing spaces after SIP/2.0
    "escruri": CHECK(400),     # escaped headers in the Request-URI
    "baddate": CHECK(400),     # Date in EST, not GMT
    "regbadct": CHECK(400),    # bare Contact URI holding "?"
    "badaspec": PARSE(400),    # spaces inside <> in To
    "baddn": PARSE(400),       # unquoted display names with commas
    "badvers": PARSE(505),     # SIP/7.0
    "mismatch01": PARSE(400),  # CSeq method OPTIONS/INVITE
    "mismatch02": PARSE(400),  # CSeq method NEWMETHOD/INVITE
    "bigcode": PARSE(400),     # a response with status 4294967301: dropped
    # 3.2 transaction layer
    "badbranch": OK,           # branch is just the magic cookie: RFC 2543 matching
    # 3.3 application layer
    "insuf": PARSE(400),       # no To, From, Call-ID, Max-Forwards
    "unkscm": CHECK(416),
    "novelsc": CHECK(416),
    "unksm2": CHECK(400),      # a registrar needs a SIP To (RFC 4475 3.3.4)
    "bext01": CHECK(420),
    "invut": CHECK(415),
    "regaut01": OK,            # the registrar then challenges with 401
    "multi01": CHECK(400),
    "mcl01": PARSE(400),
    "bcast": OK,
    "zeromf": OK,              # 483 only when forwarding, see below
    "cparam01": OK, "cparam02": OK, "regescrt": OK,
    "sdp01": CHECK(406),
    # 3.4 backward compatibility
    "inv2543": OK,
    # not RFC 4475: no SIP version in the start line
    "test": PARSE(400),
}


def test_table_covers_every_file():
    assert {p.stem for p in TORTURE.glob("*.dat")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_torture_message(name):
    data = (TORTURE / f"{name}.dat").read_bytes()
    kind, status = EXPECTED[name]
    if kind == "parse":
        with pytest.raises(SipParseError) as info:
            parse_message(data)
        err = info.value
        assert err.status == status
        assert err.reason
        is_response = data.startswith(b"SIP/")
        has_via = b"\nVia:" in data or b"\nv:" in data
        if is_response or not has_via:
            assert err.request_info is None
        else:
            # The server can answer with the request's own Via, From, To, Call-ID and CSeq.
            resp = make_response(err.request_info, err.status)
            wire = resp.to_bytes()
            assert wire.startswith(f"SIP/2.0 {status} ".encode())
            assert resp.vias
        return
    msg = parse_message(data)
    if isinstance(msg, Response):
        assert kind == "ok"
        return
    problem = check_request(msg)
    if kind == "ok":
        assert problem is None
    else:
        assert problem is not None and problem[0] == status, problem
    # Whatever the verdict, the request can be answered and round-trips through the wire.
    again = parse_message(msg.to_bytes())
    assert (again.method, again.uri, again.body) == (msg.method, msg.uri, msg.body)
    assert again.to_bytes() == msg.to_bytes()
    if problem:
        make_response(msg, problem[0], problem[1], headers=problem[2]).to_bytes()


def load(name) -> Request | Response:
    return parse_message((TORTURE / f"{name}.dat").read_bytes())


def test_wsinv_values():
    req = load("wsinv")
    assert req.to.uri == "sip:vivekg@chair-dnrc.example.com" and req.to.tag == "1918181833n"
    assert req.from_.display_name == 'J Rosenberg \\"' and req.from_.tag == "98asjd8"
    assert req.cseq == (9, "INVITE") and req.max_forwards == 68
    vias = [parse_via(v) for v in req.vias]
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"), ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239")]
    assert req.headers.get("Subject") == ""
    assert req.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    (contact,) = req.contacts
    assert contact.display_name == 'Quoted string ""'
    assert contact.params == (("newparam", "newvalue"), ("secondparam", None), ("q", "0.33"))
    assert len(req.body) == 150


def test_intmeth_values():
    req = load("intmeth")
    assert req.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert req.ruri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert req.ruri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert req.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert req.from_.tag == "_token~1'+`*%!-."
    assert req.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert req.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_escaped_values():
    assert load("esc01").ruri.user == "sips:user@example.com"
    assert load("escnull").contacts[1].uri == "sip:%00%00@host5.example.com"
    esc02 = load("esc02")
    assert esc02.method == "RE%47IST%45R"
    assert len(esc02.contacts) == 2  # "C%6Fntact" is another header
    assert load("semiuri").ruri.user == "user;par=u@example.net"


def test_dblreq_only_the_first_message_counts():
    req = load("dblreq")
    assert req.method == "REGISTER" and req.body == b""


def test_mpart01_binary_body():
    req = load("mpart01")
    assert len(req.body) == 553 and req.body.endswith(b"--7a9cbec02ceef655--\r\n")


def test_unreason_utf8_reason():
    assert load("unreason").reason.startswith("= 2**3 * 5**2 но сто")
    assert load("noreason").reason == ""


def test_badbranch_is_rfc2543_style():
    assert not load("badbranch").top_via.is_rfc3261


def test_inv2543_without_max_forwards_or_content_length():
    req = load("inv2543")
    assert req.max_forwards is None and req.top_via.branch is None
    assert req.body.startswith(b"v=0")


def test_contact_params():
    assert load("cparam01").contacts[0].params == (("unknownparam", None),)
    assert load("cparam02").contacts[0].uri == "sip:+19725552222@gw1.example.net;unknownparam"
    regescrt = load("regescrt")
    assert parse_uri(regescrt.contacts[0].uri).headers == (("Route", "<sip:sip.example.com>"),)


def test_bext01_lists_unsupported_options():
    status, _, headers = check_request(load("bext01"))
    assert status == 420
    assert headers == [("Unsupported", "nothingSupportsThis, nothingSupportsThisEither")]
    assert check_request(load("bext01"), supported_extensions={"nothingSupportsThis",
                                                               "nothingSupportsThisEither"}) is None


def test_invut_and_sdp01_advertise_sdp():
    assert check_request(load("invut"))[2] == [("Accept", "application/sdp")]
    assert check_request(load("sdp01"))[2] == [("Accept", "application/sdp")]


def test_zeromf_only_when_forwarding():
    req = load("zeromf")
    assert check_request(req) is None
    assert check_request(req, forwarding=True)[0] == 483
    assert check_request(load("wsinv"), forwarding=True) is None


def test_multi01_and_unksm2_reasons_say_why():
    assert "more than one" in check_request(load("multi01"))[1]
    assert "REGISTER" in check_request(load("unksm2"))[1]


def test_accept_sdp_false_refuses_any_session_body():
    assert check_request(load("esc01"), accept_sdp=False)[0] == 415


def test_unknown_content_encoding_is_415():
    req = load("esc01")
    req.headers.add("Content-Encoding", "gzip")
    status, _, headers = check_request(req)
    assert status == 415 and ("Accept-Encoding", "identity") in headers


def test_body_without_content_type_is_400():
    req = load("esc01")
    req.headers.remove("Content-Type")
    assert check_request(req)[0] == 400


def test_require_is_ignored_on_ack():
    req = load("bext01")
    req.method = "ACK"
    req.headers.set("CSeq", "8 ACK")
    assert check_request(req) is None


_NOISE = st.sampled_from(list(b' \t\r\n:;,<>"\\@=%/?[]*0123456789aSIP'))


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(EXPECTED)),
       edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 2), _NOISE), max_size=8))
def test_mutated_messages_fail_only_with_parse_errors(name, edits):
    """Whatever arrives, the only failure is SipParseError, and answers can be built."""
    data = bytearray((TORTURE / f"{name}.dat").read_bytes())
    for where, op, byte in edits:
        i = int(where * len(data))
        if op == 0:
            data[i:i + 1] = bytes([byte])
        elif op == 1:
            data[i:i] = bytes([byte])
        else:
            del data[i:i + 3]
    try:
        msg = parse_message(bytes(data))
    except SipParseError as exc:
        if exc.request_info is not None:
            make_response(exc.request_info, exc.status, to_tag="t").to_bytes()
        return
    msg.to_bytes()
    if isinstance(msg, Request):
        problem = check_request(msg, forwarding=True)
        status, reason, headers = problem or (200, None, [])
        parse_message(make_response(msg, status, reason, headers=headers, to_tag="t").to_bytes())
