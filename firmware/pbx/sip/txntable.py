"""The transaction table: every live SIP transaction (transaction.py), sans-I/O.

Rules of this module:
- TransactionTable owns every live transaction: it matches messages to them (17.1.3, 17.2.3,
  and the RFC 2543 rules when a branch lacks the magic cookie), keeps a heap of deadlines so
  `tick` only touches what is due, and forgets transactions once they terminate.
- Server transactions are capped in total, by count and by the bytes of their requests
  (`max_servers`, `max_bytes`; issue 14.8): per-address limits cannot stop many sources, or
  spoofed ones, each sending large requests. At the cap the oldest are shed first (forgotten:
  no more retransmissions, a late answer to one is refused), those of strangers before those
  of `protected(host)` peers (registered phones, trunks); a stranger's new request that finds
  only protected ones raises Overloaded and is dropped, a protected peer's always gets in.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from typing import Any, Callable, Iterable

from .errors import SipError
from .message import Request, Response
from .transaction import (
    TERMINATED, Action, ClientTransaction, Deliver, InviteClientTransaction,
    InviteServerTransaction, NonInviteClientTransaction, NonInviteServerTransaction,
    ServerTransaction, Timers, Transaction, TransactionStateError,
)

logger = logging.getLogger(__name__)

MAX_SERVER_TRANSACTIONS = 4096     # ~30 s each: far above what an office's phones keep live
MAX_SERVER_BYTES = 16 * 1024 * 1024  # their requests' bytes: 256 of 64 KB, or 4096 of 4 KB
SHED_SCAN = 256                      # oldest transactions looked at per request at the cap
FEW_HOSTS = 16                       # a table of up to this many hosts: each asked once


class Overloaded(SipError, RuntimeError):
    """The table is at its cap and only protected peers' transactions are left to shed."""


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
