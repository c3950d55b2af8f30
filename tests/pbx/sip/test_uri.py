"""SIP URIs, name-addr values and header lists, from text."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.pbx.sip.errors import SipParseError
from firmware.pbx.sip.uri import NameAddr, SipUri, parse_name_addr, parse_uri, split_header_list


# --- parse_uri ---------------------------------------------------------------------------------
def test_plain_sip_uri():
    uri = parse_uri("sip:alice@Example.COM:5070;transport=TCP;lr")
    assert uri == SipUri("sip", "alice", None, "example.com", 5070,
                         (("transport", "TCP"), ("lr", None)))
    assert uri.param("transport") == "TCP"
    assert uri.param("LR") is None and uri.has_param("lr")
    assert not uri.has_param("maddr")
    assert uri.host_port == "example.com:5070"
    assert str(uri) == "sip:alice@example.com:5070;transport=TCP;lr"


def test_host_only_and_ipv6():
    assert parse_uri("sips:[2001:DB8::1]:5061") == SipUri("sips", None, None, "[2001:db8::1]", 5061)
    assert str(parse_uri("sip:192.0.2.1")) == "sip:192.0.2.1"


def test_scheme_is_case_insensitive():
    assert parse_uri("SIP:bob@example.com").scheme == "sip"


def test_password_is_split_from_user():
    uri = parse_uri("sip:bob:secret@example.com")
    assert (uri.user, uri.password) == ("bob", "secret")
    assert str(uri) == "sip:bob:secret@example.com"


def test_escaped_user_is_unescaped_and_reescaped():
    uri = parse_uri("sip:sips%3Auser%40example.com@example.net")
    assert uri.user == "sips:user@example.com"
    assert str(uri) == "sip:sips%3Auser%40example.com@example.net"
    assert parse_uri("sip:%75se%72@example.com").user == "user"
    assert str(parse_uri("sip:%75se%72@example.com")) == "sip:user@example.com"


def test_user_may_hold_semicolons_and_question_marks():
    uri = parse_uri("sip:user;par=u%40example.net@example.com")
    assert uri.user == "user;par=u@example.net"
    assert uri.host == "example.com" and uri.params == ()


def test_escaped_params_and_headers():
    uri = parse_uri("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31")
    assert uri.user == "caller"
    assert uri.params == (("lr", None), ("name", "value%41"))
    assert str(uri) == "sip:caller@host5.example.net;lr;name=value%2541"
    uri = parse_uri("sip:user@example.com?Route=%3Csip:sip.example.com%3E&Subject=hi%20there")
    assert uri.headers == (("Route", "<sip:sip.example.com>"), ("Subject", "hi there"))
    assert parse_uri(str(uri)) == uri


def test_nul_escape_survives_round_trip():
    uri = parse_uri("sip:null-%00-null@example.com")
    assert uri.user == "null-\x00-null"
    assert str(uri) == "sip:null-%00-null@example.com"


def test_invalid_utf8_escape_round_trips_bytes():
    uri = parse_uri("sip:%FF%FE@example.com")
    assert str(uri) == "sip:%FF%FE@example.com"


def test_tel_uri():
    uri = parse_uri("tel:+1-201-555-0123;phone-context=example.com")
    assert (uri.scheme, uri.user, uri.host) == ("tel", "+1-201-555-0123", "")
    assert uri.param("phone-context") == "example.com"
    assert str(uri) == "tel:+1-201-555-0123;phone-context=example.com"


@pytest.mark.parametrize("text", [
    "nobodyKnowsThisScheme:totallyopaquecontent", "soap.beep://192.0.2.103:3002",
    "name:John_Smith", "http://www.example.com", "isbn:2983792873",
])
def test_unknown_scheme_is_416(text):
    with pytest.raises(SipParseError) as info:
        parse_uri(text)
    assert info.value.status == 416


@pytest.mark.parametrize("text", [
    "", "sip", "<sip:user@example.com>", "sip:user@example.com; lr", "sip:@example.com",
    "sip:user@", "sip:user@exa mple.com", "sip:user@example.com:99999", "sip:us%zzer@example.com",
    "sip:user@example.com;=x", "sip:user@example.com?noequals", "1sip:user@example.com",
])
def test_malformed_uri_is_400(text):
    with pytest.raises(SipParseError) as info:
        parse_uri(text)
    assert info.value.status == 400


def test_with_and_without_params():
    uri = parse_uri("sip:a@b;transport=udp")
    assert str(uri.with_params(transport="tcp", lr=None)) == "sip:a@b;transport=tcp;lr"
    assert str(uri.without_params("TRANSPORT")) == "sip:a@b"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20))
def test_any_user_round_trips(user):
    uri = SipUri("sip", user, None, "example.com")
    assert parse_uri(str(uri)) == uri


# --- parse_name_addr ---------------------------------------------------------------------------
def test_quoted_display_name_with_escapes():
    na = parse_name_addr('"J Rosenberg \\\\\\""    <sip:jdrosen@example.com>  ;  tag = 98asjd8')
    assert na.display_name == 'J Rosenberg \\"'
    assert na.uri == "sip:jdrosen@example.com"
    assert na.tag == "98asjd8"
    assert parse_name_addr(str(na)) == na


def test_quoted_display_name_with_control_characters():
    na = parse_name_addr('"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:x@example.com>')
    assert na.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert parse_name_addr(str(na)) == na


def test_token_display_name_without_space_before_bracket():
    na = parse_name_addr("caller<sip:caller@example.com>;tag=323")
    assert (na.display_name, na.uri, na.tag) == ("caller", "sip:caller@example.com", "323")


def test_multi_token_display_name():
    na = parse_name_addr("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;tag=x")
    assert na.display_name == "token1~` token2'+_ token3*%!.-"


def test_bare_addr_spec_params_belong_to_the_header():
    na = parse_name_addr("sip:+19725552222@gw1.example.net;unknownparam")
    assert na.uri == "sip:+19725552222@gw1.example.net"
    assert na.params == (("unknownparam", None),)
    assert str(na) == "<sip:+19725552222@gw1.example.net>;unknownparam"


def test_bracketed_uri_params_stay_in_the_uri():
    na = parse_name_addr("<sip:+19725552222@gw1.example.net;unknownparam>")
    assert na.uri == "sip:+19725552222@gw1.example.net;unknownparam" and na.params == ()


def test_params_keep_quoted_values_and_lowercase_names():
    na = parse_name_addr('<sip:a@b>;Expires=60;+sip.instance="<urn:uuid:1>";Q=0.5')
    assert na.params == (("expires", "60"), ("+sip.instance", '"<urn:uuid:1>"'), ("q", "0.5"))
    assert na.param("EXPIRES") == "60"
    assert na.has_param("q") and not na.has_param("tag") and na.tag is None


def test_unknown_scheme_is_fine_in_a_name_addr():
    assert parse_name_addr("isbn:2983792873").uri == "isbn:2983792873"
    assert parse_name_addr("<name:John_Smith>").uri == "name:John_Smith"


def test_serialising_adds_brackets_and_quotes():
    na = NameAddr('Bob "the" \\ Builder', "sip:bob@example.com", (("tag", "abc"),))
    assert str(na) == '"Bob \\"the\\" \\\\ Builder" <sip:bob@example.com>;tag=abc'
    assert str(na.with_tag("xyz")) == '"Bob \\"the\\" \\\\ Builder" <sip:bob@example.com>;tag=xyz'
    assert str(NameAddr(None, "sip:a@b")) == "<sip:a@b>"


def test_cr_lf_in_a_display_name_cannot_inject_headers():
    assert "\r" not in str(NameAddr("a\r\nVia: x", "sip:a@b"))


@pytest.mark.parametrize("text", [
    '"Mr. J. User <sip:j.user@example.com>',                  # quotbal
    '"Watson, Thomas" < sip:t.watson@example.org >',           # badaspec
    "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",       # baddn
    "sip:user@example.com?Route=%3Csip:sip.example.com%3E",    # regbadct
    '"Joe" <sip:joe@example.org>;;;;',                          # badinv01's Contact
    "", "<>", "<sip:a@b", "sip:a@b;tag=", "Joe sip:joe@example.com",
])
def test_malformed_name_addr(text):
    with pytest.raises(SipParseError):
        parse_name_addr(text)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
               max_size=30))
def test_any_display_name_round_trips(name):
    na = NameAddr(name, "sip:a@example.com", (("tag", "1"),))
    assert parse_name_addr(str(na)) == na


# --- split_header_list -------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ("INVITE, ACK,BYE", ["INVITE", "ACK", "BYE"]),
    ("one", ["one"]),
    ("", []),
    (" a ,, b , ", ["a", "b"]),
    ('"Doe, John" <sip:j@x>;q=1, <sip:k@y>', ['"Doe, John" <sip:j@x>;q=1', "<sip:k@y>"]),
    ('<sip:a@b;x=1,2>, <sip:c@d>', ["<sip:a@b;x=1,2>", "<sip:c@d>"]),
    ('"a \\" , b" <sip:a@b>, c', ['"a \\" , b" <sip:a@b>', "c"]),
    ("SIP/2.0/UDP a;branch=1 , SIP/2.0/TCP b", ["SIP/2.0/UDP a;branch=1", "SIP/2.0/TCP b"]),
])
def test_split_header_list(value, expected):
    assert split_header_list(value) == expected
