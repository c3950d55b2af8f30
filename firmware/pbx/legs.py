"""One side of a call through the B2BUA, and the SIP messages the box sends on it.

A call has one caller leg (the INVITE the box received) and one or more callee legs (the
INVITEs the box sent: one per desk phone rung, or one to the trunk). Each leg is its own
dialog with its own Call-ID and tags, so nothing of one side leaks to the other: the trunk
never learns the phones' addresses, and the phones see the box as their only peer.

The builders here are pure: they take the leg's state and return Request/Response values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware.pbx.sip.message import (
    Headers, Request, Response, make_response, new_branch, new_call_id, new_tag)
from firmware.pbx.sip.uri import parse_name_addr, split_header_list
from firmware.pbx.transport import Address

USER_AGENT = "Callbox"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO"


@dataclass
class Leg:
    """Dialog state of one side of a call."""

    role: str                    # "caller" (we received its INVITE) or "callee" (we sent it)
    dest: Address                # where requests for this leg go (source address: NAT-safe)
    call_id: str
    local_tag: str
    local_uri: str               # our From (callee legs) / To (caller leg) name-addr, no tag
    remote_uri: str              # their From / To name-addr, no tag
    remote_tag: str = ""
    remote_target: str = ""      # their Contact URI: the Request-URI of in-dialog requests
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 0
    extension: str = ""          # the desk phone's extension ("" for a trunk leg)
    invite: Request | None = None   # the INVITE received (caller) or sent (callee)
    txn: object | None = None        # its INVITE transaction
    state: str = "new"           # new -> ringing -> answered -> ended (or failed)
    final_status: int = 0
    provisional: bool = False    # a 1xx came: only then may a CANCEL go (RFC 3261 9.1)
    cancel_pending: bool = False # to CANCEL as soon as a 1xx comes
    contact_host: str = ""       # the box's address as this leg's peer sees it
    contact_port: int = 0

    @property
    def contact(self) -> str:
        return f"<sip:callbox@{self.contact_host}:{self.contact_port}>"

    @property
    def key(self) -> tuple[str, str]:
        return (self.call_id, self.local_tag)

    def via(self) -> str:
        transport = self.dest.transport
        return (f"SIP/2.0/{transport} {self.contact_host}:{self.contact_port}"
                f";branch={new_branch()};rport")

    def next_cseq(self) -> int:
        self.local_cseq += 1
        return self.local_cseq


def caller_leg(invite: Request, source: Address, host: str, port: int) -> Leg:
    """The leg of an INVITE the box received; our To tag is chosen now."""
    contact = _first_contact(invite)
    return Leg(role="caller", dest=source, call_id=invite.call_id, local_tag=new_tag(),
               local_uri=_without_tag(invite.headers.get("To") or ""),
               remote_uri=_without_tag(invite.headers.get("From") or ""),
               remote_tag=invite.from_.tag or "", remote_target=contact,
               route_set=[r for v in invite.headers.get_all("Record-Route")
                          for r in split_header_list(v)],
               invite=invite, contact_host=host, contact_port=port)


def callee_leg(request_uri: str, dest: Address, from_uri: str, to_uri: str, host: str,
               port: int, extension: str = "") -> Leg:
    """A leg the box is about to INVITE."""
    return Leg(role="callee", dest=dest, call_id=new_call_id(host), local_tag=new_tag(),
               local_uri=from_uri, remote_uri=to_uri, remote_target=request_uri,
               extension=extension, contact_host=host, contact_port=port)


def build_invite(leg: Leg, body: bytes, *, max_forwards: int = 70,
                 extra: list[tuple[str, str]] = ()) -> Request:
    """The initial INVITE of a callee leg (RFC 3261 8.1.1)."""
    headers = Headers()
    headers.add("Via", leg.via())
    headers.add("Max-Forwards", str(max_forwards))
    headers.add("From", f"{leg.local_uri};tag={leg.local_tag}")
    headers.add("To", leg.remote_uri)
    headers.add("Call-ID", leg.call_id)
    headers.add("CSeq", f"{leg.next_cseq()} INVITE")
    headers.add("Contact", leg.contact)
    headers.add("Allow", ALLOW)
    headers.add("User-Agent", USER_AGENT)
    for name, value in extra:
        headers.add(name, value)
    if body:
        headers.add("Content-Type", "application/sdp")
    request = Request("INVITE", leg.remote_target, headers, body)
    leg.invite = request
    return request


def reinvite_with_auth(leg: Leg, header: str, value: str) -> Request:
    """The same INVITE again with credentials: new branch, next CSeq (RFC 3261 22.2)."""
    assert leg.invite is not None
    headers = leg.invite.headers.copy()
    headers.set("Via", leg.via())
    headers.set("CSeq", f"{leg.next_cseq()} INVITE")
    headers.remove("Authorization")
    headers.remove("Proxy-Authorization")
    headers.add(header, value)
    request = Request("INVITE", leg.invite.uri, headers, leg.invite.body)
    leg.invite = request
    return request


def in_dialog_request(leg: Leg, method: str, body: bytes = b"", content_type: str = "",
                      cseq: int | None = None) -> Request:
    """BYE, re-INVITE, UPDATE, INFO or ACK inside the leg's dialog (RFC 3261 12.2.1.1)."""
    headers = Headers()
    headers.add("Via", leg.via())
    headers.add("Max-Forwards", "70")
    for route in leg.route_set:   # already in the order to use (RFC 3261 12.1.1, 12.1.2)
        headers.add("Route", route)
    headers.add("From", f"{leg.local_uri};tag={leg.local_tag}")
    headers.add("To", _with_tag(leg.remote_uri, leg.remote_tag))
    headers.add("Call-ID", leg.call_id)
    number = cseq if cseq is not None else leg.next_cseq()
    headers.add("CSeq", f"{number} {method}")
    if method in ("INVITE", "UPDATE"):
        headers.add("Contact", leg.contact)
    headers.add("User-Agent", USER_AGENT)
    if body:
        headers.add("Content-Type", content_type or "application/sdp")
    return Request(method, leg.remote_target or leg.remote_uri, headers, body)


def ack_for_2xx(leg: Leg, response: Response) -> Request:
    """The ACK of a 2xx: its own transaction-less request, same CSeq number (RFC 3261 13.2.2.4)."""
    number = response.cseq[0]
    return in_dialog_request(leg, "ACK", cseq=number)


def cancel_for(leg: Leg) -> Request:
    """CANCEL of the leg's INVITE: same Via branch, Call-ID, From, To, CSeq number (9.1)."""
    assert leg.invite is not None
    invite = leg.invite
    headers = Headers()
    headers.add("Via", invite.vias[0])
    headers.add("Max-Forwards", "70")
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", invite.headers.get("To") or "")
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq[0]} CANCEL")
    headers.add("User-Agent", USER_AGENT)
    return Request("CANCEL", invite.uri, headers)


def answer(leg: Leg, request: Request, status: int, reason: str | None = None,
           body: bytes = b"", extra: list[tuple[str, str]] = ()) -> Response:
    """A response on the caller leg: our To tag, our Contact on 1xx/2xx."""
    headers = list(extra)
    if 100 < status < 300:
        headers.append(("Contact", leg.contact))
    if status < 300 and request.method == "INVITE":
        headers.append(("Allow", ALLOW))
    headers.append(("Server", USER_AGENT))
    if body:
        headers.append(("Content-Type", "application/sdp"))
    return make_response(request, status, reason,
                         to_tag=leg.local_tag if status > 100 else None,
                         headers=headers, body=body)


def learn_from_response(leg: Leg, response: Response) -> None:
    """A callee leg's dialog takes the remote tag, target and route set of a 1xx/2xx."""
    tag = response.to.tag
    if tag:
        leg.remote_tag = tag
    contact = _first_contact(response)
    if contact:
        leg.remote_target = contact
    routes = [r for v in response.headers.get_all("Record-Route") for r in split_header_list(v)]
    if routes:
        leg.route_set = list(reversed(routes))


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


def _with_tag(name_addr: str, tag: str) -> str:
    return f"{name_addr};tag={tag}" if tag else name_addr
