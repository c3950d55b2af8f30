"""The SIP messages the B2BUA sends on a leg, built from the leg's `sip.dialog.Dialog`.

A call has one caller leg (the INVITE the box received) and one or more callee legs (the
INVITEs the box sent: one per desk phone rung, or one to the trunk). Each leg is its own
dialog with its own Call-ID and tags, so nothing of one side leaks to the other: the trunk
never learns the phones' addresses, and the phones see the box as their only peer. Route
sets are kept both ways (RFC 3261 12.1.1/12.1.2): the caller's Record-Route goes back in our
1xx/2xx and in-dialog requests follow it, so a provider's proxy sees the ACK and the BYE.

Everything here is pure: leg state in, Request/Response values out.
"""

from __future__ import annotations

from firmware.pbx.callstate import CallLeg
from firmware.pbx.sip.dialog import CONFIRMED, EARLY, Dialog, make_cancel
from firmware.pbx.sip.message import (
    Headers, Request, Response, make_response, new_branch, new_call_id, new_tag)
from firmware.pbx.sip.uri import parse_name_addr, split_header_list
from firmware.pbx.transport import Address

USER_AGENT = "Callbox"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, PRACK, REFER, NOTIFY"
SUPPORTED = "timer, 100rel"


def caller_leg(invite: Request, source: Address, host: str, port: int) -> CallLeg:
    """The leg of an INVITE the box received; our To tag is chosen now, and with it the
    dialog (RFC 3261 12.1.1: route set = Record-Route as received, target = Contact)."""
    local_tag = new_tag()
    routes = [r for v in invite.headers.get_all("Record-Route") for r in split_header_list(v)]
    dialog = Dialog(call_id=invite.call_id, local_tag=local_tag,
                    remote_tag=invite.from_.tag or "", local_uri=invite.to.uri,
                    remote_uri=invite.from_.uri,
                    remote_target=_first_contact(invite) or invite.from_.uri,
                    route_set=routes, local_seq=None, remote_seq=invite.cseq[0],
                    state=EARLY)
    return CallLeg(role="caller", index=0, dest=source, call_id=invite.call_id,
                   local_tag=local_tag, local_uri=_without_tag(invite.headers.get("To") or ""),
                   remote_uri=_without_tag(invite.headers.get("From") or ""),
                   contact_host=host, contact_port=port, invite=invite, dialog=dialog)


def callee_leg(index: int, request_uri: str, dest: Address, from_uri: str, to_uri: str,
               host: str, port: int, extension: str = "",
               routes: tuple[str, ...] = ()) -> CallLeg:
    """A leg the box is about to INVITE; `routes` pre-loads a route set (an outbound proxy)."""
    return CallLeg(role="callee", index=index, dest=dest, call_id=new_call_id(host),
                   local_tag=new_tag(), local_uri=from_uri, remote_uri=to_uri,
                   contact_host=host, contact_port=port, request_uri=request_uri,
                   extension=extension, initial_routes=tuple(routes))


def build_invite(leg: CallLeg, body: bytes, *, max_forwards: int = 70,
                 extra: list[tuple[str, str]] = ()) -> Request:
    """The initial INVITE of a callee leg (RFC 3261 8.1.1)."""
    headers = Headers()
    headers.add("Via", leg.via(new_branch()))
    headers.add("Max-Forwards", str(max_forwards))
    for route in leg.initial_routes:
        headers.add("Route", route)
    headers.add("From", f"{leg.local_uri};tag={leg.local_tag}")
    headers.add("To", leg.remote_uri)
    headers.add("Call-ID", leg.call_id)
    headers.add("CSeq", "1 INVITE")
    headers.add("Contact", leg.contact)
    headers.add("Allow", ALLOW)
    headers.add("Supported", SUPPORTED)
    headers.add("User-Agent", USER_AGENT)
    for name, value in extra:
        headers.add(name, value)
    if body:
        headers.add("Content-Type", "application/sdp")
    request = Request("INVITE", leg.request_uri, headers, body)
    leg.invite = request
    return request


def reinvite_with_auth(leg: CallLeg, header: str, value: str) -> Request:
    """The same INVITE again with credentials: new branch, next CSeq (RFC 3261 22.2)."""
    assert leg.invite is not None
    headers = leg.invite.headers.copy()
    headers.set("Via", leg.via(new_branch()))
    headers.set("CSeq", f"{leg.invite.cseq[0] + 1} INVITE")
    headers.remove("Authorization")
    headers.remove("Proxy-Authorization")
    headers.add(header, value)
    request = Request("INVITE", leg.invite.uri, headers, leg.invite.body)
    leg.invite = request
    return request


def resend_invite(leg: CallLeg, routes: tuple[str, ...] = ()) -> Request:
    """The leg's INVITE again for another target of the same trunk: new branch, next CSeq,
    the new target's pre-loaded route set."""
    assert leg.invite is not None
    headers = leg.invite.headers.copy()
    headers.set("Via", leg.via(new_branch()))
    headers.set("CSeq", f"{leg.invite.cseq[0] + 1} INVITE")
    headers.remove("Route")
    leg.initial_routes = tuple(routes)
    for route in routes:
        headers.add("Route", route)
    request = Request("INVITE", leg.invite.uri, headers, leg.invite.body)
    leg.invite = request
    return request


def in_dialog_request(leg: CallLeg, method: str, body: bytes = b"", content_type: str = "",
                      extra: list[tuple[str, str]] = ()) -> Request:
    """BYE, re-INVITE, UPDATE, INFO or PRACK inside the leg's dialog (RFC 3261 12.2.1.1)."""
    dialog = _dialog(leg)
    headers = list(extra)
    if method in ("INVITE", "UPDATE"):
        headers.append(("Contact", leg.contact))
    headers.append(("User-Agent", USER_AGENT))
    if body:
        headers.append(("Content-Type", content_type or "application/sdp"))
    return dialog.new_request(method, via=leg.sent_by(), branch=new_branch() + ";rport",
                              headers=headers, body=body)


def ack_for_2xx(leg: CallLeg, response: Response, body: bytes = b"") -> Request:
    """The ACK of a 2xx: transaction-less, the INVITE's CSeq number (RFC 3261 13.2.2.4);
    `body` carries our SDP answer when the INVITE went without an offer (late offer)."""
    dialog = _dialog(leg)
    invite = leg.invite if leg.invite is not None and leg.invite.cseq[0] == response.cseq[0] \
        else None
    extra = [("Content-Type", "application/sdp")] if body else []
    if invite is None:
        return dialog.new_request("ACK", via=leg.sent_by(), cseq=response.cseq[0],
                                  headers=extra, body=body)
    return dialog.make_ack(invite, via=leg.sent_by(), headers=extra, body=body)


def cancel_for(leg: CallLeg) -> Request:
    """CANCEL of the leg's INVITE: same Via branch, Call-ID, From, To, CSeq number (9.1)."""
    assert leg.invite is not None
    return make_cancel(leg.invite)


def answer(leg: CallLeg, request: Request, status: int, reason: str | None = None,
           body: bytes = b"", extra: list[tuple[str, str]] = ()) -> Response:
    """A response on the caller leg: our To tag, our Contact on 1xx/2xx, and (RFC 3261 12.1.1)
    the request's Record-Route, or the proxies in front drop the ACK and BYE that follow."""
    headers = list(extra)
    if 100 < status < 300:
        headers.extend(("Record-Route", value)
                       for value in request.headers.get_all("Record-Route"))
        headers.append(("Contact", leg.contact))
    if status < 300 and request.method == "INVITE":
        headers.append(("Allow", ALLOW))
        headers.append(("Supported", SUPPORTED))
    headers.append(("Server", USER_AGENT))
    if body:
        headers.append(("Content-Type", "application/sdp"))
    return make_response(request, status, reason,
                         to_tag=leg.local_tag if status > 100 else None,
                         headers=headers, body=body)


def learn_from_response(leg: CallLeg, response: Response) -> None:
    """A callee leg's dialog is made by the first 1xx/2xx with a tag (RFC 3261 12.1.2) and
    confirmed by the 2xx, which sets the final route set and target (13.2.2.4)."""
    if not response.to.tag or not 100 < response.status < 300 or leg.invite is None:
        return
    if leg.dialog is None or leg.dialog.remote_tag != response.to.tag:
        leg.dialog = Dialog.as_uac(leg.invite, response)
        if not leg.dialog.route_set and leg.initial_routes:
            leg.dialog.route_set = list(leg.initial_routes)
        return
    if response.status >= 200 and leg.dialog.state != CONFIRMED:
        routes = leg.dialog.route_set
        leg.dialog.confirm(response)
        if not leg.dialog.route_set:
            leg.dialog.route_set = routes or list(leg.initial_routes)
    else:
        leg.dialog.refresh_target(response)
    leg.dialog.local_seq = max(leg.dialog.local_seq or 0, leg.invite.cseq[0])


def _dialog(leg: CallLeg) -> Dialog:
    if leg.dialog is None:
        raise ValueError(f"leg {leg.index} has no dialog yet")
    return leg.dialog


def _first_contact(message: Request | Response) -> str:
    for value in message.headers.get_all("Contact"):
        for item in split_header_list(value):
            return parse_name_addr(item).uri
    return ""


def _without_tag(name_addr: str) -> str:
    parsed = parse_name_addr(name_addr)
    params = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in parsed.params
                     if k != "tag")
    display = f'"{parsed.display_name}" ' if parsed.display_name else ""
    return f"{display}<{parsed.uri}>{params}"
