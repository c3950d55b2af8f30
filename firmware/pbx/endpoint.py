"""The box's SIP endpoint: every message the transport receives is handled here.

Parse, reject what is broken (with a 400 or the status the parser suggests, and one log
line), run it through the transaction table (retransmissions are absorbed there), then hand
the request to whoever owns its method: REGISTER to the registrar, OPTIONS answered here,
calls to the B2BUA. Responses go back to the address the request came from (RFC 3581
symmetric response routing), which is what phones behind NAT need.

The endpoint is the TU's only way out: `respond`, `send_request`, `send_stateless`.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Protocol

from firmware.pbx.sip.errors import SipError, SipParseError
from firmware.pbx.sip.message import Request, Response, make_response, parse_message
from firmware.pbx.sip.transaction import (
    ClientTransaction, Deliver, Overloaded, Send, ServerTransaction, Timeout, TransactionTable,
    TransportError)
from firmware.pbx.sip.validate import check_request
from firmware.pbx.transport import Address

logger = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO"
KNOWN_METHODS = frozenset(ALLOW.replace(",", " ").split()) | {
    "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PRACK", "PUBLISH"}
CALL_METHODS = frozenset({"INVITE", "CANCEL", "BYE", "UPDATE", "INFO"})


class CallHandler(Protocol):
    """What the B2BUA offers the endpoint (see pbx/b2bua.py)."""

    def on_request(self, request: Request, txn: ServerTransaction | None,
                   source: Address) -> None: ...

    def on_response(self, response: Response, txn: ClientTransaction | None,
                    source: Address) -> None: ...

    def on_timeout(self, txn) -> None: ...


class Gate(Protocol):
    """Per-address defences (pbx/defence.py): may drop a message before it is parsed."""

    def allow(self, source: Address, now: float, data: bytes = b"") -> bool: ...


class SipEndpoint:
    """Dispatches parsed SIP messages; `send(bytes, Address)` is the transport's."""

    def __init__(self, send: Callable[[bytes, Address], None], registrar,
                 *, clock: Callable[[], float] = time.time, user_agent: str = "Callbox",
                 arm_timer: Callable[[float], None] = lambda deadline: None) -> None:
        self.send = send
        self.registrar = registrar
        self.calls: CallHandler | None = None
        self.gate: Gate | None = None
        self.clock = clock
        self.server_header = user_agent
        self.table = TransactionTable()
        self.arm_timer = arm_timer   # the box calls tick() at (or after) this deadline
        self.counters = {"received": 0, "malformed": 0, "dropped": 0, "overloaded": 0}

    # -- incoming -----------------------------------------------------------------------
    def on_datagram(self, data: bytes, source: Address) -> None:
        self.counters["received"] += 1
        now = self.clock()
        if self.gate is not None and not self.gate.allow(source, now, data):
            self.counters["dropped"] += 1
            return
        if not data.strip(b"\r\n"):
            return   # CRLF keep-alive (RFC 5626)
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self.counters["malformed"] += 1
            self._reject(exc, source)
            return
        reliable = source.transport != "UDP"
        if isinstance(message, Response):
            self._run(self.table.receive_response(message, now), source)
        else:
            try:
                actions = self.table.receive_request(message, source, now, reliable,
                                                     size=len(data))
            except Overloaded as exc:
                # Under a flood from many sources: dropped unanswered (an answer would only
                # feed a reflection), said once per 1000 so the log is no second flood.
                self.counters["overloaded"] += 1
                if self.counters["overloaded"] % 1000 == 1:
                    logger.warning("sip: dropping requests from strangers: %s (%d so far)",
                                   exc, self.counters["overloaded"])
                return
            except SipError as exc:
                logger.warning("sip: %s %s from %s not handled: %s", message.method,
                               message.uri, source, exc)
                return
            self._run(actions, source)
        self._arm()

    def tick(self) -> None:
        """Fire due transaction timers (retransmissions, timeouts)."""
        self._run(self.table.tick(self.clock()), None)
        self._arm()

    def _arm(self) -> None:
        deadline = self.table.next_deadline
        if deadline is not None:
            self.arm_timer(deadline)

    def _run(self, actions: list, source: Address | None) -> None:
        # Sends first: the ACK of a 407 must leave before the TU's re-sent INVITE does.
        for action in sorted(actions, key=lambda a: not isinstance(a, Send)):
            if isinstance(action, Send):
                self.send(action.message.to_bytes(), action.dest)
            elif isinstance(action, Deliver):
                message = action.message
                if isinstance(message, Request):
                    self._dispatch(message, action.txn, source or action.txn.peer)
                    continue
                owner = getattr(action.txn, "owner", None)
                if hasattr(owner, "on_sip_response"):
                    owner.on_sip_response(message)
                elif self.calls is not None:
                    self.calls.on_response(message, action.txn, source)
            elif isinstance(action, (Timeout, TransportError)) and action.txn is not None:
                owner = getattr(action.txn, "owner", None)
                if hasattr(owner, "on_sip_timeout"):
                    owner.on_sip_timeout()
                elif self.calls is not None:
                    self.calls.on_timeout(action.txn)

    def _reject(self, exc: SipParseError, source: Address) -> None:
        request = getattr(exc, "request_info", None)
        if request is None or getattr(request, "method", "ACK") == "ACK":
            logger.warning("sip: dropped a malformed message from %s: %s", source, exc.reason)
            return
        logger.warning("sip: %d to a malformed %s from %s: %s", exc.status, request.method,
                       source, exc.reason)
        try:
            self.send(make_response(request, exc.status, _phrase(exc)).to_bytes(), source)
        except (SipError, ValueError, KeyError, IndexError, AttributeError) as inner:
            logger.warning("sip: could not even answer it (%s)", inner)

    def _dispatch(self, request: Request, txn: ServerTransaction | None,
                  source: Address) -> None:
        method = request.method
        if txn is None:   # an ACK for a 2xx, or a stray: it belongs to a dialog
            if method == "ACK" and self.calls is not None:
                self.calls.on_request(request, None, source)
            return
        problem = check_request(request)
        if problem is not None:
            status, reason, headers = problem
            logger.warning("sip: %d %s to %s %s from %s", status, reason, method, request.uri,
                           source)
            self.respond(txn, make_response(request, status, reason, headers=headers))
            return
        if method == "REGISTER":
            self.respond(txn, self.registrar.handle(request, source, self.clock()))
        elif method == "OPTIONS":
            self.respond(txn, self._options(request))
        elif method in CALL_METHODS and self.calls is not None:
            self.calls.on_request(request, txn, source)
        elif method in KNOWN_METHODS:
            self.respond(txn, make_response(request, 405, "Method Not Allowed",
                                            headers=[("Allow", ALLOW)]))
        else:
            self.respond(txn, make_response(request, 501, "Not Implemented",
                                            headers=[("Allow", ALLOW)]))

    def _options(self, request: Request) -> Response:
        return make_response(request, 200, "OK", headers=[
            ("Allow", ALLOW), ("Accept", "application/sdp"), ("Accept-Language", "en"),
            ("Server", self.server_header)])

    # -- outgoing (for the B2BUA and the trunk registration) ------------------------------
    def respond(self, txn: ServerTransaction, response: Response) -> None:
        """Send a response through its server transaction (retransmitted as the RFC says)."""
        try:
            actions = txn.send_response(response, self.clock())
        except SipError as exc:
            logger.warning("sip: cannot send %d for %s: %s", response.status, txn, exc)
            return
        self._run(actions, None)
        self._arm()

    def send_request(self, request: Request, dest: Address, owner=None) -> ClientTransaction:
        """Start a client transaction; its responses reach `calls.on_response` with txn.owner."""
        txn, actions = self.table.new_client(request, dest, self.clock(),
                                             reliable=dest.transport != "UDP")
        txn.owner = owner
        self._run(actions, None)
        self._arm()
        return txn

    def send_stateless(self, message: Request | Response, dest: Address) -> None:
        """ACK for a 2xx, or a 2xx retransmission: no transaction of their own (RFC 3261 13)."""
        self.send(message.to_bytes(), dest)


def _phrase(exc: SipParseError) -> str:
    """A reason phrase naming the problem, kept to printable ASCII."""
    reason = "".join(ch for ch in exc.reason if 32 <= ord(ch) < 127)[:80]
    return {505: "Version Not Supported", 416: "Unsupported URI Scheme"}.get(
        exc.status, f"Bad Request ({reason})" if reason else "Bad Request")
