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
- TransactionTable owns every live transaction: it matches messages to them (17.1.3, 17.2.3,
  and the RFC 2543 rules when a branch lacks the magic cookie), keeps a heap of deadlines so
  `tick` only touches what is due, and forgets transactions once they terminate.
- Server transactions are capped in total, by count and by the bytes of their requests
  (`max_servers`, `max_bytes`; issue 14.8): per-address limits cannot stop many sources, or
  spoofed ones, each sending large requests. At the cap the oldest are shed first (forgotten:
  no more retransmissions, a late answer to one is refused), those of strangers before those
  of `protected(host)` peers (registered phones, trunks); a stranger's new request that finds
  only protected ones raises Overloaded and is dropped, a protected peer's always gets in.

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

import heapq
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .errors import SipError
from .message import Headers, Request, Response

logger = logging.getLogger(__name__)

CALLING, TRYING, PROCEEDING = "Calling", "Trying", "Proceeding"
COMPLETED, CONFIRMED, ACCEPTED, TERMINATED = "Completed", "Confirmed", "Accepted", "Terminated"


MAX_SERVER_TRANSACTIONS = 4096     # ~30 s each: far above what an office's phones keep live
MAX_SERVER_BYTES = 16 * 1024 * 1024  # their requests' bytes: 256 of 64 KB, or 4096 of 4 KB
SHED_SCAN = 256                      # oldest transactions looked at per request at the cap
FEW_HOSTS = 16                       # a table of up to this many hosts: each asked once


class Overloaded(SipError, RuntimeError):
    """The table is at its cap and only protected peers' transactions are left to shed."""


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


# -- matching ---------------------------------------------------------------------------------

def _host(peer: Any) -> str:
    """The host of a peer: a transport Address or a (host, port) tuple."""
    host = getattr(peer, "host", None)
    return host if host is not None else peer[0]


def _sent_by(via: Any) -> tuple[str, int]:
    default = 5061 if via.transport.upper() in ("TLS", "WSS") else 5060
    return via.host.lower(), via.port or default


def _tag(name_addr: Any) -> str:
    return name_addr.tag or ""


def _server_key(request: Request, method: str | None = None) -> tuple:
    """The key of the server transaction `request` belongs to (17.2.3, or RFC 2543 rules)."""
    method = method or ("INVITE" if request.method == "ACK" else request.method)
    via = request.top_via
    if via.is_rfc3261:
        return (via.branch, *_sent_by(via), method)
    if request.method == "ACK" and method == "INVITE":
        # Matches the To tag of the response we sent, registered by the table (_ack_key).
        return ("2543-ack", request.uri, _tag(request.to), _tag(request.from_),
                request.call_id, request.cseq[0], " ".join(request.vias[0].split()))
    return ("2543", request.uri, _tag(request.to), _tag(request.from_), request.call_id,
            request.cseq[0], method, " ".join(request.vias[0].split()))


def _ack_key(txn: Transaction) -> tuple:
    """The RFC 2543 key an ACK for `txn`'s final response will carry."""
    request = txn.request
    return ("2543-ack", request.uri, _tag(txn.last_response.to), _tag(request.from_),
            request.call_id, request.cseq[0], " ".join(request.vias[0].split()))


def _client_key(message: Request | Response) -> tuple:
    return (message.top_via.branch or "", message.cseq[1])


class TransactionTable:
    """All live transactions: matching, creation, and one heap of deadlines for `tick`."""

    def __init__(self, timers: Timers = Timers(), *,
                 max_servers: int = MAX_SERVER_TRANSACTIONS,
                 max_bytes: int = MAX_SERVER_BYTES) -> None:
        self.timers = timers
        self.max_servers = max_servers
        self.max_bytes = max_bytes
        # Whether a peer host is kept at the cap (registered phones, trunks); the box sets it.
        self.protected: Callable[[str], bool] = lambda host: False
        self.shed = 0                                       # transactions shed so far
        self.server_bytes = 0                               # request bytes of live servers
        # oldest first: (txn, size of its request, its peer's host)
        self._by_age: dict[int, tuple[ServerTransaction, int, str]] = {}
        self._host_counts: dict[str, int] = {}              # live server transactions per host
        self._clients: dict[tuple, ClientTransaction] = {}
        self._servers: dict[tuple, ServerTransaction] = {}
        self._keys: dict[int, list[tuple]] = {}  # id(txn) -> its keys in _clients/_servers
        self._heap: list[tuple[float, int, Transaction]] = []
        self._dead_in_heap = 0                              # shed transactions still on it
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def next_deadline(self) -> float | None:
        """When `tick` next has work; may be early (stale heap entries cost one pop)."""
        return self._heap[0][0] if self._heap else None

    # -- client side ----------------------------------------------------------------------

    def new_client(self, request: Request, dest: tuple[str, int], now: float,
                   reliable: bool = False) -> tuple[ClientTransaction, list[Action]]:
        """Start a client transaction for `request` (its top Via must carry a fresh branch)."""
        if request.method == "ACK":
            raise TransactionStateError("ACK is sent without a client transaction")
        cls = InviteClientTransaction if request.method == "INVITE" else NonInviteClientTransaction
        txn = cls(request, dest, reliable=reliable, timers=self.timers)
        key = _client_key(request)
        if key in self._clients:
            raise TransactionStateError(f"branch {key[0]!r} already in use for {key[1]}")
        self._clients[key] = txn
        self._keys[id(txn)] = [key]
        txn._watch = self._schedule
        return txn, txn.start(now)

    def receive_response(self, response: Response, now: float) -> list[Action]:
        """Feed a response to its client transaction; strays go to the TU (17.1.3)."""
        txn = self._clients.get(_client_key(response))
        if txn is None:
            logger.debug("response %s matches no client transaction", response.status)
            return [Deliver(response, None)]
        return txn.receive(response, now)

    # -- server side ----------------------------------------------------------------------

    def server_for(self, request: Request) -> ServerTransaction | None:
        """The live server transaction `request` belongs to (ACK -> its INVITE's), if any."""
        return self._servers.get(_server_key(request))

    def invite_for_cancel(self, cancel: Request) -> InviteServerTransaction | None:
        """The INVITE server transaction a CANCEL targets (RFC 3261 9.2), if still live."""
        txn = self._servers.get(_server_key(cancel, "INVITE"))
        return txn if isinstance(txn, InviteServerTransaction) else None

    def new_server(self, request: Request, source: tuple[str, int], now: float,
                   reliable: bool = False, *, size: int = 0
                   ) -> tuple[ServerTransaction, list[Action]]:
        """Create the server transaction for a new request; the actions deliver it to the TU.

        `size` is the request's length on the wire (for the byte cap). Raises Overloaded when
        the table is full and `source` is not protected (see the module's rules).
        """
        if request.method == "ACK":
            raise TransactionStateError("ACK never creates a server transaction")
        return self._new_server(request, source, now, reliable, size, _server_key(request))

    def _new_server(self, request: Request, source: tuple[str, int], now: float,
                    reliable: bool, size: int, key: tuple
                    ) -> tuple[ServerTransaction, list[Action]]:
        if len(self._by_age) >= self.max_servers or self.server_bytes + size > self.max_bytes:
            self._make_room(_host(source), size)
        cls = InviteServerTransaction if request.method == "INVITE" else NonInviteServerTransaction
        txn = cls(request, source, reliable=reliable, timers=self.timers)
        self._servers[key] = txn
        self._keys[id(txn)] = [key]
        host = _host(source)
        self._by_age[id(txn)] = (txn, size, host)
        self._host_counts[host] = self._host_counts.get(host, 0) + 1
        self.server_bytes += size
        txn._watch = self._schedule
        return txn, txn.start(now)

    def _make_room(self, host: str, size: int) -> None:
        """Shed the oldest server transactions until one of `size` bytes fits: strangers'
        first, then, for a protected newcomer only, protected peers' too.

        Looks at no more than SHED_SCAN of the oldest per call and asks `protected` once per
        host, so a table full of protected peers' transactions (a flood spoofed from a trunk's
        address) costs a stranger's request a bounded amount of work. A table of at most
        FEW_HOSTS hosts, all protected (an office's phones at the cap), costs no scan at all.
        """
        known: dict[str, bool] = {}

        def is_protected(peer_host: str) -> bool:
            answer = known.get(peer_host)
            if answer is None:
                answer = known[peer_host] = bool(self.protected(peer_host))
            return answer

        def full() -> bool:
            return (len(self._by_age) >= self.max_servers
                    or self.server_bytes + size > self.max_bytes) and bool(self._by_age)

        # The usual overload is an office's phones (or a flood spoofed from a trunk): the
        # table holds a few hosts, all protected. Asked about at once, they spare the scan,
        # which would shed none of theirs.
        hosts = self._host_counts
        if len(hosts) > FEW_HOSTS or not all(map(is_protected, hosts)):
            for txn, _, peer_host in list(itertools.islice(self._by_age.values(), SHED_SCAN)):
                if not full():
                    return
                if not is_protected(peer_host):
                    self._shed(txn)
        if not full():
            return
        if not is_protected(host):
            raise Overloaded(f"transaction table full ({len(self._by_age)} transactions, "
                             f"{self.server_bytes} bytes)")
        while full():
            self._shed(next(iter(self._by_age.values()))[0])

    def _shed(self, txn: ServerTransaction) -> None:
        self.shed += 1
        txn.state = TERMINATED
        txn._deadlines.clear()
        self._forget(txn)
        # The heap still holds it (and its request) until its deadline: under a flood that
        # is everything shed in the last 32 s. Sweep the heap once half of it is dead.
        self._dead_in_heap += 1
        if self._dead_in_heap > max(64, len(self._heap) // 2):
            self._heap = [entry for entry in self._heap if entry[2].state != TERMINATED]
            heapq.heapify(self._heap)
            self._dead_in_heap = 0

    def _forget(self, txn: Transaction) -> None:
        """Drop `txn` from every index (its keys, the age order, the byte count)."""
        for key in self._keys.pop(id(txn), ()):
            if self._clients.get(key) is txn:
                del self._clients[key]
            elif self._servers.get(key) is txn:
                del self._servers[key]
        entry = self._by_age.pop(id(txn), None)
        if entry is not None:
            self.server_bytes -= entry[1]
            left = self._host_counts[entry[2]] - 1
            if left:
                self._host_counts[entry[2]] = left
            else:
                del self._host_counts[entry[2]]
        txn._watch = None

    def receive_request(self, request: Request, source: tuple[str, int], now: float,
                        reliable: bool = False, *, size: int = 0) -> list[Action]:
        """Absorb a retransmission, match an ACK, or open a new server transaction.

        A match must also come from the transaction's own peer: RFC 3261 17.2.3 matches on
        branch and sent-by alone, which lets one host's request (a copied branch, or a forged
        one) be taken for another's retransmission and answered to the wrong address.
        """
        key = _server_key(request)
        txn = self._servers.get(key)
        if txn is not None and txn.peer == source:
            return txn.receive(request, now)
        if request.method == "ACK":
            return [Deliver(request, None)]  # the ACK for a 2xx belongs to the dialog
        return self._new_server(request, source, now, reliable, size, key)[1]

    # -- timers ---------------------------------------------------------------------------

    def tick(self, now: float) -> list[Action]:
        """Fire every timer due at `now` across all transactions."""
        out: list[Action] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, _, txn = heapq.heappop(heap)
            if txn._queued == when:
                txn._queued = None
            if txn.state == TERMINATED:
                continue
            deadline = txn.next_deadline
            if deadline is not None and deadline <= now:
                out += txn.on_timer(now)
            elif deadline is not None and txn._queued is None:
                self._push(txn, deadline)
        return out

    def _push(self, txn: Transaction, deadline: float) -> None:
        txn._queued = deadline
        heapq.heappush(self._heap, (deadline, next(self._seq), txn))

    def _schedule(self, txn: Transaction) -> None:
        """The watch hook: every transaction calls it after changing state or timers."""
        if txn.state == TERMINATED:
            self._forget(txn)
            return
        if (isinstance(txn, InviteServerTransaction) and txn.last_response is not None
                and txn.last_response.status >= 200
                and not txn.request.top_via.is_rfc3261):
            key = _ack_key(txn)
            keys = self._keys[id(txn)]
            if key not in keys:
                keys.append(key)
                self._servers[key] = txn
        deadline = txn.next_deadline
        if deadline is not None and (txn._queued is None or deadline < txn._queued):
            self._push(txn, deadline)

    def transactions(self) -> Iterable[Transaction]:
        """Every live transaction (for status pages and tests)."""
        return list({id(t): t for t in (*self._clients.values(), *self._servers.values())}.values())
