"""SIP transactions (RFC 3261 section 17, with the Accepted state of RFC 6026), sans-I/O.

Rules of this module:
- A transaction is a state machine fed three things: a message (`receive`), a response from
  the TU (`send_response`, server side only) and the clock (`on_timer(now)`). Each call
  returns actions -- Send, Deliver, Timeout, TransportError, Terminated -- and never does I/O.
- Timers are plain deadlines in `_deadlines` (name -> time); `next_deadline` is their minimum.
  A due timer runs `_timer_<name>`; retransmission intervals restart from the `now` given,
  so a late tick never bursts.
- Over a reliable transport nothing is retransmitted and the wait timers D, K, I, J are zero:
  the transaction terminates at once instead of arming them.
- The table that owns every live transaction (matching, the deadline heap, the caps on
  server transactions) is txntable.py.

The machines (timer in parentheses while its state lasts):
  INVITE client      Calling (A resend, B timeout) -1xx-> Proceeding
                     Calling|Proceeding -300..699, send ACK-> Completed (D: re-ACK resent finals)
                     Calling|Proceeding -2xx-> Accepted (M: resent 2xx go up to the TU)
  non-INVITE client  Trying (E resend, doubling to T2; F timeout) -1xx-> Proceeding (E every T2)
                     Trying|Proceeding -final-> Completed (K: absorb resent responses)
  INVITE server      Proceeding -300..699-> Completed (G resend, H timeout) -ACK-> Confirmed (I)
                     Proceeding -2xx-> Accepted (L: absorb resent INVITEs, TU resends 2xx)
  non-INVITE server  Trying -1xx-> Proceeding -final-> Completed (J: answer resent requests)
Every state ends in Terminated when its last timer fires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from .errors import SipError
from .message import Headers, Request, Response

logger = logging.getLogger(__name__)

CALLING, TRYING, PROCEEDING = "Calling", "Trying", "Proceeding"
COMPLETED, CONFIRMED, ACCEPTED, TERMINATED = "Completed", "Confirmed", "Accepted", "Terminated"


class TransactionStateError(SipError, RuntimeError):
    """The TU asked for a move the transaction's state does not allow."""


@dataclass(frozen=True)
class Timers:
    """RFC 3261 timer values in seconds; D is the wait for retransmitted INVITE finals."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    d: float = 32.0


@dataclass(frozen=True)
class Send:
    """Hand `message` to the transport for `dest` (the source address, for server responses)."""

    message: Request | Response
    dest: tuple[str, int]
    txn: Transaction | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Deliver:
    """Pass `message` up to the TU; `txn` is None for messages outside any transaction."""

    message: Request | Response
    txn: Transaction | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Timeout:
    """Timer B, F or H fired: no answer (client) or no ACK (INVITE server)."""

    txn: Transaction | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class TransportError:
    """The transport could not send for this transaction (RFC 3261 17.1.4, 17.2.4)."""

    txn: Transaction | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Terminated:
    """The transaction is over; the table has already forgotten it."""

    txn: Transaction | None = field(default=None, compare=False, repr=False)


Action = Send | Deliver | Timeout | TransportError | Terminated


def make_ack(request: Request, response: Response) -> Request:
    """The ACK for a non-2xx final response to `request` (RFC 3261 17.1.1.3)."""
    headers = Headers()
    headers.add("Via", request.vias[0])
    for route in request.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    headers.add("From", request.headers.get("From"))
    headers.add("To", response.headers.get("To"))
    headers.add("Call-ID", request.call_id)
    headers.add("CSeq", f"{request.cseq[0]} ACK")
    return Request("ACK", request.uri, headers)


class Transaction:
    """What the four state machines share: deadlines, the peer, and the table's watch hook."""

    initial_state = ""

    def __init__(self, request: Request, peer: tuple[str, int], *, reliable: bool = False,
                 timers: Timers = Timers()):
        self.request = request
        self.peer = peer
        self.reliable = reliable
        self.timers = timers
        self.state = self.initial_state
        self.last_response: Response | None = None
        self._deadlines: dict[str, float] = {}
        self._interval = 0.0  # current retransmission interval (A, E or G)
        self._watch: Callable[[Transaction], None] | None = None
        self._queued: float | None = None  # deadline the table last pushed on its heap

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.request.method} {self.branch} {self.state}>"

    @property
    def branch(self) -> str:
        return self.request.top_via.branch or ""

    @property
    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)

    @property
    def terminated(self) -> bool:
        return self.state == TERMINATED

    def on_timer(self, now: float) -> list[Action]:
        """Run every timer due at `now`, earliest first."""
        out: list[Action] = []
        while self.state != TERMINATED and self._deadlines:
            name, when = min(self._deadlines.items(), key=lambda item: item[1])
            if when > now:
                break
            del self._deadlines[name]
            out += getattr(self, "_timer_" + name)(now)
        self._changed()
        return out

    def transport_error(self, now: float) -> list[Action]:
        """The transport failed to send for us: tell the TU and stop."""
        return self._done([TransportError(self)])

    # -- helpers for subclasses -------------------------------------------------------------

    def _arm(self, name: str, delay: float, now: float) -> None:
        self._deadlines[name] = now + delay

    def _done(self, out: list[Action]) -> list[Action]:
        self.state = TERMINATED
        self._deadlines.clear()
        out.append(Terminated(self))
        self._changed()
        return out

    def _wait(self, out: list[Action], state: str, timer: str, delay: float,
              now: float) -> list[Action]:
        """Enter a waiting state (Completed/Confirmed), or finish now if the wait is zero."""
        self._deadlines.clear()
        if self.reliable or delay <= 0:
            return self._done(out)
        self.state = state
        self._arm(timer, delay, now)
        self._changed()
        return out

    def _send(self, message: Request | Response) -> Send:
        return Send(message, self.peer, self)

    def _changed(self) -> None:
        if self._watch is not None:
            self._watch(self)


class ClientTransaction(Transaction):
    """Shared start-up of the two client machines: send, arm retransmit and timeout timers."""

    retransmit_timer = timeout_timer = ""
    ack: Request | None = None  # INVITE only: the ACK for a non-2xx final

    def start(self, now: float) -> list[Action]:
        """The first transmission; call once, right after construction."""
        if not self.reliable:
            self._interval = self.timers.t1
            self._arm(self.retransmit_timer, self._interval, now)
        self._arm(self.timeout_timer, 64 * self.timers.t1, now)
        self._changed()
        return [self._send(self.request)]

    def _timeout(self, now: float) -> list[Action]:
        return self._done([Timeout(self)])


class InviteClientTransaction(ClientTransaction):
    """17.1.1: Calling -> Proceeding -> Completed | Accepted -> Terminated."""

    retransmit_timer, timeout_timer = "A", "B"

    initial_state = CALLING

    def receive(self, response: Response, now: float) -> list[Action]:
        status = response.status
        if self.state in (CALLING, PROCEEDING):
            self.last_response = response
            if status < 200:
                self.state = PROCEEDING
                self._deadlines.clear()  # no more retransmissions; B only runs in Calling
                self._changed()
                return [Deliver(response, self)]
            if status < 300:
                self.state = ACCEPTED
                self._deadlines.clear()
                self._arm("M", 64 * self.timers.t1, now)
                self._changed()
                return [Deliver(response, self)]
            self.ack = make_ack(self.request, response)
            out: list[Action] = [Deliver(response, self), self._send(self.ack)]
            return self._wait(out, COMPLETED, "D", self.timers.d, now)
        if self.state == COMPLETED and status >= 300:
            return [self._send(self.ack)]  # the final was retransmitted: our ACK was lost
        if self.state == ACCEPTED and 200 <= status < 300:
            return [Deliver(response, self)]  # the TU re-sends its ACK for the 2xx
        return []

    def _timer_A(self, now: float) -> list[Action]:
        self._interval *= 2
        self._arm("A", self._interval, now)
        return [self._send(self.request)]

    _timer_B = ClientTransaction._timeout

    def _timer_D(self, now: float) -> list[Action]:
        return self._done([])

    _timer_M = _timer_D


class NonInviteClientTransaction(ClientTransaction):
    """17.1.2: Trying -> Proceeding -> Completed -> Terminated."""

    retransmit_timer, timeout_timer = "E", "F"

    initial_state = TRYING

    def receive(self, response: Response, now: float) -> list[Action]:
        if self.state not in (TRYING, PROCEEDING):
            return []  # Completed absorbs retransmitted responses
        self.last_response = response
        if response.status < 200:
            self.state = PROCEEDING
            self._changed()
            return [Deliver(response, self)]
        return self._wait([Deliver(response, self)], COMPLETED, "K", self.timers.t4, now)

    def _timer_E(self, now: float) -> list[Action]:
        # Trying doubles up to T2; Proceeding retransmits every T2 (17.1.2.2).
        self._interval = self.timers.t2 if self.state == PROCEEDING else min(
            2 * self._interval, self.timers.t2)
        self._arm("E", self._interval, now)
        return [self._send(self.request)]

    _timer_F = ClientTransaction._timeout

    def _timer_K(self, now: float) -> list[Action]:
        return self._done([])


class ServerTransaction(Transaction):
    """Shared parts of the server machines: the request arrives, the TU answers through us."""

    def start(self, now: float) -> list[Action]:
        """Pass the request that created us to the TU."""
        return [Deliver(self.request, self)]

    def _check_response(self, response: Response) -> None:
        if not 100 <= response.status <= 699:
            raise ValueError(f"bad status {response.status}")


class InviteServerTransaction(ServerTransaction):
    """17.2.1: Proceeding -> Completed -> Confirmed, or -> Accepted on 2xx; then Terminated."""

    initial_state = PROCEEDING

    def send_response(self, response: Response, now: float) -> list[Action]:
        """Send a response from the TU; non-2xx finals are retransmitted until ACKed."""
        self._check_response(response)
        status = response.status
        if self.state == ACCEPTED and 200 <= status < 300:
            return [self._send(response)]  # the TU retransmits its 2xx through us (RFC 6026)
        if self.state != PROCEEDING:
            raise TransactionStateError(f"cannot send {status} in {self.state}")
        self.last_response = response
        out: list[Action] = [self._send(response)]
        if status < 200:
            return out
        if status < 300:
            self.state = ACCEPTED
            self._arm("L", 64 * self.timers.t1, now)
        else:
            self.state = COMPLETED
            if not self.reliable:
                self._interval = self.timers.t1
                self._arm("G", self._interval, now)
            self._arm("H", 64 * self.timers.t1, now)
        self._changed()
        return out

    send_provisional = send_response

    def receive(self, request: Request, now: float) -> list[Action]:
        """A retransmitted INVITE or an ACK matched this transaction."""
        if request.method == "ACK":
            if self.state == COMPLETED:
                return self._wait([], CONFIRMED, "I", self.timers.t4, now)
            if self.state == ACCEPTED:
                return [Deliver(request, self)]  # RFC 2543 peers: the 2xx ACK matches us
            return []
        if self.state in (PROCEEDING, COMPLETED) and self.last_response is not None:
            return [self._send(self.last_response)]
        return []

    def _timer_G(self, now: float) -> list[Action]:
        self._interval = min(2 * self._interval, self.timers.t2)
        self._arm("G", self._interval, now)
        return [self._send(self.last_response)]

    def _timer_H(self, now: float) -> list[Action]:
        return self._done([Timeout(self)])

    def _timer_I(self, now: float) -> list[Action]:
        return self._done([])

    _timer_L = _timer_I


class NonInviteServerTransaction(ServerTransaction):
    """17.2.2: Trying -> Proceeding -> Completed -> Terminated."""

    initial_state = TRYING

    def send_response(self, response: Response, now: float) -> list[Action]:
        """Send a response from the TU; the last one answers every retransmitted request."""
        self._check_response(response)
        if self.state not in (TRYING, PROCEEDING):
            raise TransactionStateError(f"cannot send {response.status} in {self.state}")
        self.last_response = response
        out: list[Action] = [self._send(response)]
        if response.status < 200:
            self.state = PROCEEDING
            self._changed()
            return out
        return self._wait(out, COMPLETED, "J", 64 * self.timers.t1, now)

    send_provisional = send_response

    def receive(self, request: Request, now: float) -> list[Action]:
        """A retransmitted request: answer with the last response, if any."""
        if self.last_response is not None and self.state in (PROCEEDING, COMPLETED):
            return [self._send(self.last_response)]
        return []

    def _timer_J(self, now: float) -> list[Action]:
        return self._done([])
