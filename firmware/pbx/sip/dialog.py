"""Dialog state (RFC 3261 section 12) and the requests built from it.

Why a plain mutable dataclass: a dialog is a handful of values that change in exactly three
ways -- the local CSeq grows when we send, the remote CSeq grows when the peer sends
(`check_remote_cseq`), and a target refresh or the 2xx confirming an early dialog replaces the
remote target (and, for the 2xx, the route set). Everything else is fixed at creation. The
owner (the B2BUA) keeps dialogs in a dict keyed by `Dialog.id`; nothing here does I/O.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable

from .errors import SipError, SipParseError
from .message import Headers, Request, Response, new_branch
from .uri import parse_name_addr, parse_uri

logger = logging.getLogger(__name__)

EARLY, CONFIRMED = "early", "confirmed"


class DialogError(SipError, ValueError):
    """A message cannot create or continue a dialog (no To tag, no Contact...)."""


def _contact_uri(msg: Request | Response) -> str | None:
    contacts = msg.contacts
    return contacts[0].uri if contacts else None


def _record_route(msg: Request | Response) -> list[str]:
    return msg.headers.get_all("Record-Route")  # one element per route, lists split


def _is_sips(uri: str) -> bool:
    return uri[:5].lower() == "sips:"


def request_dialog_id(request: Request) -> tuple[str, str, str]:
    """(Call-ID, local tag, remote tag) of the dialog a received request belongs to (UAS view)."""
    return request.call_id, request.to.tag or "", request.from_.tag or ""


def response_dialog_id(response: Response) -> tuple[str, str, str]:
    """(Call-ID, local tag, remote tag) of the dialog a received response belongs to (UAC view)."""
    return response.call_id, response.from_.tag or "", response.to.tag or ""


@dataclass
class Dialog:
    """One side's view of a dialog; `id` is (call_id, local_tag, remote_tag)."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str
    remote_uri: str
    remote_target: str
    route_set: list[str] = field(default_factory=list)
    local_seq: int | None = None
    remote_seq: int | None = None
    secure: bool = False
    state: str = CONFIRMED

    @property
    def id(self) -> tuple[str, str, str]:
        return self.call_id, self.local_tag, self.remote_tag

    # -- creation -------------------------------------------------------------------------

    @classmethod
    def as_uas(cls, request: Request, response: Response, *, tls: bool = False) -> Dialog:
        """The dialog our 1xx/2xx `response` (with our To tag) creates for `request` (12.1.1)."""
        local_tag = response.to.tag
        if not local_tag:
            raise DialogError("a dialog-creating response needs a To tag")
        target = _contact_uri(request)
        if target is None:
            raise SipParseError("dialog-creating request without Contact")
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=request.from_.tag or "",
            local_uri=request.to.uri,
            remote_uri=request.from_.uri,
            remote_target=target,
            route_set=_record_route(request),
            local_seq=None,
            remote_seq=request.cseq[0],
            secure=tls and _is_sips(request.uri),
            state=EARLY if response.status < 200 else CONFIRMED,
        )

    @classmethod
    def as_uac(cls, request: Request, response: Response, *, tls: bool = False) -> Dialog:
        """The dialog a 1xx/2xx with a To tag creates for the `request` we sent (12.1.2)."""
        remote_tag = response.to.tag
        if not remote_tag or not 100 < response.status < 300:
            raise DialogError(f"{response.status} without To tag creates no dialog")
        return cls(
            call_id=request.call_id,
            local_tag=request.from_.tag or "",
            remote_tag=remote_tag,
            local_uri=request.from_.uri,
            remote_uri=request.to.uri,
            # A 1xx may omit Contact; the 2xx that confirms the dialog will set it.
            remote_target=_contact_uri(response) or request.uri,
            route_set=_record_route(response)[::-1],
            local_seq=request.cseq[0],
            remote_seq=None,
            secure=tls and _is_sips(request.uri),
            state=EARLY if response.status < 200 else CONFIRMED,
        )

    # -- updates --------------------------------------------------------------------------

    def confirm(self, response: Response) -> None:
        """A 2xx arrived for an early UAC dialog: recompute route set and target (13.2.2.4)."""
        self.state = CONFIRMED
        self.route_set = _record_route(response)[::-1]
        self.refresh_target(response)

    def refresh_target(self, message: Request | Response) -> None:
        """Take the remote target from a target refresh (re-INVITE, UPDATE, or its 2xx)."""
        target = _contact_uri(message)
        if target is not None:
            self.remote_target = target

    def check_remote_cseq(self, request: Request) -> int | None:
        """Record the CSeq of an in-dialog request; 500 if it is out of order (12.2.2).

        ACK and CANCEL repeat the INVITE's number and are not checked.
        """
        if request.method in ("ACK", "CANCEL"):
            return None
        seq = request.cseq[0]
        if self.remote_seq is not None and seq < self.remote_seq:
            logger.info("dialog %s: CSeq %d below %d", self.call_id, seq, self.remote_seq)
            return 500
        if self.remote_seq is None or seq > self.remote_seq:
            self.remote_seq = seq
        return None

    # -- requests -------------------------------------------------------------------------

    def _route(self) -> tuple[str, list[str]]:
        """Request-URI and Route values per 12.2.1.1 (loose or strict first hop)."""
        if not self.route_set:
            return self.remote_target, []
        first = parse_name_addr(self.route_set[0]).uri
        if parse_uri(first).has_param("lr"):
            return self.remote_target, list(self.route_set)
        return first, [*self.route_set[1:], f"<{self.remote_target}>"]

    def new_request(
        self,
        method: str,
        *,
        via: str,
        branch: str | None = None,
        cseq: int | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> Request:
        """An in-dialog request; `via` is our sent-by part ("SIP/2.0/UDP 192.0.2.1:5060").

        The local CSeq grows by one unless `cseq` is given (the ACK for a 2xx reuses the
        INVITE's). A target refresh must pass its Contact in `headers`.
        """
        if method == "CANCEL":
            raise DialogError("CANCEL is not an in-dialog request: use make_cancel")
        if cseq is None:
            cseq = (self.local_seq or 0) + 1
            self.local_seq = cseq
        request_uri, routes = self._route()
        h = Headers()
        h.add("Via", f"{via};branch={branch or new_branch()}")
        h.add("Max-Forwards", "70")
        for route in routes:
            h.add("Route", route)
        h.add("From", f"<{self.local_uri}>;tag={self.local_tag}")
        h.add("To", f"<{self.remote_uri}>;tag={self.remote_tag}")
        h.add("Call-ID", self.call_id)
        h.add("CSeq", f"{cseq} {method}")
        for name, value in headers:
            h.add(name, value)
        return Request(method, request_uri, h, body)

    def make_ack(self, invite: Request, *, via: str, headers: Iterable[tuple[str, str]] = (),
                 body: bytes = b"") -> Request:
        """The ACK for a 2xx to `invite` (13.2.2.4): its own branch, the INVITE's CSeq number,
        the INVITE's credentials."""
        extra = [(name, value) for name in ("Authorization", "Proxy-Authorization")
                 for value in invite.headers.get_all(name)]
        return self.new_request("ACK", via=via, cseq=invite.cseq[0],
                                headers=[*extra, *headers], body=body)


def make_cancel(invite: Request) -> Request:
    """The CANCEL for an INVITE we sent (RFC 3261 9.1): same URI, Via, tags and CSeq number."""
    h = Headers()
    h.add("Via", invite.vias[0])
    h.add("Max-Forwards", "70")
    for route in invite.headers.get_all("Route"):
        h.add("Route", route)
    h.add("From", invite.headers.get("From"))
    h.add("To", invite.headers.get("To"))
    h.add("Call-ID", invite.call_id)
    h.add("CSeq", f"{invite.cseq[0]} CANCEL")
    return Request("CANCEL", invite.uri, h)
