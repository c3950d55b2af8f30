"""The box's SIP endpoint: every message the transport receives is handled here.

Parse, reject what is broken (with a 400 or the status the parser suggests, and one log
line), run it through the transaction table (retransmissions are absorbed there), then hand
the request to whoever owns its method: REGISTER to the registrar, OPTIONS answered here,
calls to the B2BUA. Responses go back to the address the request came from (RFC 3581
symmetric response routing), which is what phones behind NAT need.

The endpoint is the only executor of call control: the B2BUA (pbx/b2bua.py) is pure and
returns actions (pbx/callio.py), which `execute` carries out -- sending through the
transaction table, opening and closing media, publishing call events -- feeding back what
happened (`MediaOpened`, `TxnTimedOut`, `Tick`). Timers of both the transactions and the
calls run on the monotonic clock; the wall clock only stamps events and bindings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable, Protocol

from firmware.pbx.callio import (
    CloseMedia, MediaFailed, MediaOpened, OpenMedia, Publish, RequestIn, Respond, ResponseIn,
    SendRequest, SendStateless, SetRemoteMedia, Tick, TxnTimedOut)
from firmware.pbx.sip.errors import SipError, SipParseError
from firmware.pbx.sip.message import Request, Response, make_response, parse_message
from firmware.pbx.sip.transaction import (
    ClientTransaction, Deliver, Send, ServerTransaction, Timeout, TransportError)
from firmware.pbx.sip.txntable import Overloaded, TransactionTable
from firmware.pbx.sip.validate import check_request
from firmware.pbx.transport import Address

logger = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO, PRACK, REFER, NOTIFY, " \
    "SUBSCRIBE"
KNOWN_METHODS = frozenset(ALLOW.replace(",", " ").split()) | {
    "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH"}
CALL_METHODS = frozenset({"INVITE", "CANCEL", "BYE", "UPDATE", "INFO", "PRACK", "REFER",
                          "NOTIFY", "SUBSCRIBE"})
CALL_EXTENSIONS = frozenset({"100rel", "timer", "replaces"})   # option tags call control implements


class Gate(Protocol):
    """Per-address defences (pbx/defence.py): may drop a message before it is parsed."""

    def allow(self, source: Address, now: float, data: bytes = b"") -> bool: ...


class SipEndpoint:
    """Dispatches parsed SIP messages; `send(bytes, Address)` is the transport's."""

    def __init__(self, send: Callable[[bytes, Address], None], registrar, *,
                 calls=None, media=None, publish: Callable[[object], None] = lambda e: None,
                 gate: Gate | None = None, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time, user_agent: str = "Callbox",
                 arm_timer: Callable[[float], None] = lambda deadline: None,
                 protected: Callable[[str], bool] = lambda host: False) -> None:
        self.send = send
        self.registrar = registrar
        self.calls = calls           # the B2BUA: receive(input, now, wall) -> [action]
        self.media = media           # the RTP relay: open_session(call_id) (a coroutine)
        self.publish = publish       # call events out (the bus)
        self.gate = gate
        self.clock = clock           # monotonic: every deadline
        self.wall = wall             # wall clock: registrations, event times
        self.server_header = user_agent
        self.table = TransactionTable()
        self.table.protected = protected   # whose transactions are shed last (the table's cap)
        self.arm_timer = arm_timer   # the box calls tick() at (or after) this deadline
        self.counters = {"received": 0, "malformed": 0, "dropped": 0, "overloaded": 0}
        self._opening: set[asyncio.Task] = set()
        self._depth = 0              # > 0 inside an entry point: the timer is armed on its way out
        self.audio = None            # the audio desk (pbx/audiodesk.py), when the box has one

    # -- incoming -----------------------------------------------------------------------
    def on_datagram(self, data: bytes, source: Address) -> None:
        self._depth += 1
        try:
            self._take(data, source)
        finally:
            self._depth -= 1
            self._arm()

    def _take(self, data: bytes, source: Address) -> None:
        self.counters["received"] += 1
        now = self.clock()
        if self.gate is not None and not self.gate.allow(source, self.wall(), data):
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

    def tick(self) -> None:
        """Fire due timers: transactions' (retransmissions, timeouts), then calls'."""
        self._depth += 1
        try:
            self._run(self.table.tick(self.clock()), None)
            if self.calls is not None:
                self.feed(Tick())
        finally:
            self._depth -= 1
            self._arm()

    def next_deadline(self) -> float | None:
        deadlines = [d for d in (self.table.next_deadline,
                                 self.calls.next_deadline if self.calls is not None else None)
                     if d is not None]
        return min(deadlines) if deadlines else None

    def _arm(self) -> None:
        # Once per entry (datagram, timer, call input), not after every send inside it: the
        # deadlines were looked up ~25 times a call, and nothing fires before we return.
        if self._depth:
            return
        deadline = self.next_deadline()
        if deadline is not None:
            self.arm_timer(deadline)

    # -- call control: inputs in, actions out ----------------------------------------------
    def feed(self, event) -> None:
        """Give call control one input and carry out what it answers."""
        self.execute(self.calls.receive(event, self.clock(), self.wall()))

    def execute(self, actions: list) -> None:
        self._depth += 1
        try:
            self._execute(actions)
        finally:
            self._depth -= 1
            self._arm()

    def _execute(self, actions: list) -> None:
        for action in actions:
            if isinstance(action, Respond):
                self.respond(action.txn, action.response)
            elif isinstance(action, SendRequest):
                self.send_request(action.request, action.dest, owner=action.owner)
            elif isinstance(action, SendStateless):
                self.send_stateless(action.message, action.dest)
            elif isinstance(action, Publish):
                self.publish(action.event)
            elif isinstance(action, SetRemoteMedia):
                try:
                    action.session.set_remote(action.side, action.host, action.port,
                                              signalled_from=action.signalled_from or None)
                    if action.formats:      # what the recorder decodes (firmware/recording)
                        action.session.note_formats(action.side, dict(action.formats))
                except ValueError as exc:
                    logger.warning("media: %s: not sending to %s:%d: %s",
                                   getattr(action.session, "call_key", "-"), action.host,
                                   action.port, exc)
            elif isinstance(action, CloseMedia):
                action.session.close()
            elif isinstance(action, OpenMedia):
                self._open_media(action.call_id)
            elif getattr(action, "audio_action", False) and self.audio is not None:
                self.audio.execute(action)       # voicemail, prompts (pbx/audiodesk.py)

    def _open_media(self, call_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._opened(call_id))
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def _opened(self, call_id: str) -> None:
        try:
            session = await self.media.open_session(call_id)
        except (OSError, RuntimeError, ValueError) as exc:
            self.feed(MediaFailed(call_id, str(exc)))
            return
        self.feed(MediaOpened(call_id, session))

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
                owner = getattr(action.txn, "owner", None) if action.txn is not None else None
                if hasattr(owner, "on_sip_response"):
                    owner.on_sip_response(message)
                elif self.calls is not None:
                    self.feed(ResponseIn(message, owner, source))
            elif isinstance(action, (Timeout, TransportError)) and action.txn is not None:
                owner = getattr(action.txn, "owner", None)
                if hasattr(owner, "on_sip_timeout"):
                    owner.on_sip_timeout()
                elif owner is not None and self.calls is not None:
                    self.feed(TxnTimedOut(owner))

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
                self.feed(RequestIn(request, None, source))
            return
        problem = check_request(request, supported_extensions=CALL_EXTENSIONS
                                if method in CALL_METHODS else frozenset())
        if problem is not None:
            status, reason, headers = problem
            logger.warning("sip: %d %s to %s %s from %s", status, reason, method, request.uri,
                           source)
            self.respond(txn, make_response(request, status, reason, headers=headers))
            return
        if method == "REGISTER":
            self.respond(txn, self.registrar.handle(request, source, self.wall()))
            request.headers.forget_views()      # answered: kept for retransmissions only
        elif method == "OPTIONS":
            self.respond(txn, self._options(request))
            request.headers.forget_views()
        elif method in CALL_METHODS and self.calls is not None:
            self.feed(RequestIn(request, txn, source))
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
