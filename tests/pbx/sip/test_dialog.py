"""Dialogs: creation on both sides, in-dialog requests, routing, CSeq order, CANCEL."""

import pytest

from firmware.pbx.sip.dialog import (
    CONFIRMED,
    EARLY,
    Dialog,
    DialogError,
    make_cancel,
    request_dialog_id,
    response_dialog_id,
)
from firmware.pbx.sip.errors import SipParseError
from firmware.pbx.sip.message import make_response, parse_message

VIA = "SIP/2.0/UDP 192.0.2.1:5060"


def invite(*, record_route=(), contact=True, ruri="sip:101@callbox.local", extra=()):
    lines = [
        f"INVITE {ruri} SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv1",
        "Max-Forwards: 70",
        "Route: <sip:edge.example.com;lr>",
        *(f"Record-Route: {r}" for r in record_route),
        "From: \"Alice\" <sip:alice@example.com>;tag=alice-tag",
        "To: \"Desk\" <sip:101@callbox.local>",
        "Call-ID: dlg-1@example.com",
        "CSeq: 314 INVITE",
        *(["Contact: <sip:alice@192.0.2.10:5060;transport=udp>"] if contact else []),
        "Authorization: Digest username=\"alice\", realm=\"r\", nonce=\"n\", "
        "uri=\"sip:101@callbox.local\", response=\"00\"",
        *extra,
        "Content-Length: 0",
        "",
        "",
    ]
    return parse_message("\r\n".join(lines).encode())


def response(req, status, *, to_tag="bob-tag", record_route=(), contact="<sip:101@192.0.2.30>"):
    headers = [("Record-Route", r) for r in record_route]
    if contact:
        headers.append(("Contact", contact))
    resp = make_response(req, status, to_tag=to_tag, headers=headers)
    return parse_message(resp.to_bytes())


RR = ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]


# -- UAS ----------------------------------------------------------------------------------------

def test_uas_dialog_from_request_and_our_response():
    req = invite(record_route=RR)
    dialog = Dialog.as_uas(req, response(req, 200, record_route=RR))
    assert dialog == Dialog(
        call_id="dlg-1@example.com", local_tag="bob-tag", remote_tag="alice-tag",
        local_uri="sip:101@callbox.local", remote_uri="sip:alice@example.com",
        remote_target="sip:alice@192.0.2.10:5060;transport=udp", route_set=RR,
        local_seq=None, remote_seq=314, secure=False, state=CONFIRMED,
    )
    assert dialog.id == request_dialog_id(
        parse_message(dialog_request_from_peer(dialog).to_bytes()))


def dialog_request_from_peer(uas_dialog):
    """What the caller would send us inside this dialog (tags swapped)."""
    peer = Dialog(uas_dialog.call_id, uas_dialog.remote_tag, uas_dialog.local_tag,
                  uas_dialog.remote_uri, uas_dialog.local_uri, "sip:101@192.0.2.30")
    return peer.new_request("BYE", via=VIA)


def test_uas_bye_uses_loose_route_set_and_starts_local_cseq():
    req = invite(record_route=RR)
    dialog = Dialog.as_uas(req, response(req, 200))
    bye = parse_message(dialog.new_request("BYE", via=VIA).to_bytes())
    assert bye.method == "BYE" and bye.uri == "sip:alice@192.0.2.10:5060;transport=udp"
    assert bye.headers.get_all("Route") == RR
    assert bye.from_.uri == "sip:101@callbox.local" and bye.from_.tag == "bob-tag"
    assert bye.to.uri == "sip:alice@example.com" and bye.to.tag == "alice-tag"
    assert bye.call_id == "dlg-1@example.com" and bye.cseq == (1, "BYE")
    assert bye.top_via.is_rfc3261 and bye.top_via.host == "192.0.2.1"
    assert bye.max_forwards == 70
    assert dialog.local_seq == 1
    assert dialog.new_request("INFO", via=VIA).cseq == (2, "INFO")


def test_uas_early_dialog_and_missing_contact():
    req = invite()
    assert Dialog.as_uas(req, response(req, 180)).state == EARLY
    no_contact = invite(contact=False)
    with pytest.raises(SipParseError):
        Dialog.as_uas(no_contact, response(no_contact, 200))
    with pytest.raises(DialogError):
        Dialog.as_uas(req, response(req, 200, to_tag=None))


def test_secure_only_for_sips_over_tls():
    req = invite(ruri="sips:101@callbox.local")
    assert Dialog.as_uas(req, response(req, 200), tls=True).secure
    assert not Dialog.as_uas(req, response(req, 200)).secure
    plain = invite()
    assert not Dialog.as_uas(plain, response(plain, 200), tls=True).secure


# -- UAC ----------------------------------------------------------------------------------------

def test_uac_early_dialog_confirmed_by_2xx_recomputes_route_and_target():
    req = invite()
    ringing = response(req, 180, record_route=["<sip:old.example.com;lr>"], contact=None)
    dialog = Dialog.as_uac(req, ringing)
    assert dialog.state == EARLY
    assert dialog.local_tag == "alice-tag" and dialog.remote_tag == "bob-tag"
    assert dialog.local_uri == "sip:alice@example.com"
    assert dialog.remote_uri == "sip:101@callbox.local"
    assert dialog.remote_target == "sip:101@callbox.local"  # no Contact yet: the Request-URI
    assert dialog.local_seq == 314 and dialog.remote_seq is None
    assert dialog.id == response_dialog_id(ringing)
    ok = response(req, 200, record_route=RR)
    dialog.confirm(ok)
    assert dialog.state == CONFIRMED
    assert dialog.route_set == RR[::-1]  # a UAC reverses Record-Route
    assert dialog.remote_target == "sip:101@192.0.2.30"


def test_uac_needs_a_to_tag_and_a_dialog_creating_status():
    req = invite()
    with pytest.raises(DialogError):
        Dialog.as_uac(req, response(req, 180, to_tag=None))
    with pytest.raises(DialogError):
        Dialog.as_uac(req, response(req, 100))
    with pytest.raises(DialogError):
        Dialog.as_uac(req, response(req, 486))


def test_ack_for_2xx_keeps_invite_cseq_and_credentials():
    req = invite()
    dialog = Dialog.as_uac(req, response(req, 200))
    ack = parse_message(dialog.make_ack(req, via=VIA, body=b"v=0\r\n").to_bytes())
    assert ack.method == "ACK" and ack.cseq == (314, "ACK")
    assert ack.top_via.branch != req.top_via.branch  # a 2xx ACK is its own transaction
    assert ack.headers.get("Authorization") == req.headers.get("Authorization")
    assert ack.uri == "sip:101@192.0.2.30" and ack.body == b"v=0\r\n"
    assert dialog.local_seq == 314
    assert dialog.new_request("BYE", via=VIA).cseq == (315, "BYE")


def test_strict_route_puts_first_hop_in_request_uri():
    req = invite()
    strict = ["<sip:strict.example.com>", "<sip:p2.example.com;lr>"]
    dialog = Dialog.as_uac(req, response(req, 200, record_route=strict[::-1]))
    assert dialog.route_set == strict
    bye = dialog.new_request("BYE", via=VIA)
    assert bye.uri == "sip:strict.example.com"
    assert bye.headers.get_all("Route") == ["<sip:p2.example.com;lr>", "<sip:101@192.0.2.30>"]


def test_no_route_set_means_no_route_header():
    req = invite()
    dialog = Dialog.as_uac(req, response(req, 200))
    bye = dialog.new_request("BYE", via=VIA, headers=[("Reason", "Q.850;cause=16")])
    assert "Route" not in bye.headers and bye.headers.get("Reason") == "Q.850;cause=16"


def test_target_refresh():
    req = invite()
    dialog = Dialog.as_uas(req, response(req, 200))
    reinvite = parse_message(
        dialog_request_from_peer(dialog).to_bytes()
        .replace(b"BYE sip", b"INVITE sip").replace(b" BYE\r\n", b" INVITE\r\n")
        .replace(b"Content-Length", b"Contact: <sip:alice@198.51.100.7>\r\nContent-Length"))
    dialog.refresh_target(reinvite)
    assert dialog.remote_target == "sip:alice@198.51.100.7"


def test_cancel_not_in_dialog():
    req = invite()
    dialog = Dialog.as_uac(req, response(req, 180))
    with pytest.raises(DialogError):
        dialog.new_request("CANCEL", via=VIA)


# -- CSeq ordering ------------------------------------------------------------------------------

def test_remote_cseq_ordering():
    req = invite()
    dialog = Dialog.as_uas(req, response(req, 200))

    def peer_request(method, seq):
        peer = Dialog(dialog.call_id, dialog.remote_tag, dialog.local_tag,
                      dialog.remote_uri, dialog.local_uri, "sip:101@192.0.2.30")
        return peer.new_request(method, via=VIA, cseq=seq)

    assert dialog.check_remote_cseq(peer_request("ACK", 314)) is None
    assert dialog.check_remote_cseq(peer_request("INFO", 313)) == 500
    assert dialog.remote_seq == 314
    assert dialog.check_remote_cseq(peer_request("INFO", 315)) is None
    assert dialog.remote_seq == 315
    assert dialog.check_remote_cseq(peer_request("INFO", 315)) is None  # equal is not lower
    assert dialog.check_remote_cseq(peer_request("BYE", 314)) == 500


def test_remote_cseq_empty_takes_first_value():
    req = invite()
    dialog = Dialog.as_uac(req, response(req, 200))
    peer = Dialog(dialog.call_id, dialog.remote_tag, dialog.local_tag, dialog.remote_uri,
                  dialog.local_uri, "sip:alice@192.0.2.10")
    assert dialog.check_remote_cseq(peer.new_request("BYE", via=VIA, cseq=7)) is None
    assert dialog.remote_seq == 7


# -- CANCEL -------------------------------------------------------------------------------------

def test_make_cancel_per_9_1():
    req = invite()
    cancel = parse_message(make_cancel(req).to_bytes())
    assert cancel.method == "CANCEL" and cancel.uri == req.uri
    assert cancel.vias == [req.vias[0]]
    assert cancel.top_via.branch == "z9hG4bKinv1"
    assert cancel.cseq == (314, "CANCEL") and cancel.call_id == req.call_id
    assert cancel.from_ == req.from_ and cancel.to == req.to and cancel.to.tag is None
    assert cancel.headers.get_all("Route") == ["<sip:edge.example.com;lr>"]
    assert cancel.body == b"" and "Authorization" not in cancel.headers
