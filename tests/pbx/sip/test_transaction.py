"""Transactions driven by explicit `now` values, and two tables joined by a fake link."""

import heapq
import itertools

import pytest

from firmware.pbx.sip.message import make_response, parse_message
from firmware.pbx.sip.transaction import (
    ACCEPTED,
    COMPLETED,
    CONFIRMED,
    PROCEEDING,
    TERMINATED,
    Deliver,
    Send,
    Terminated,
    Timeout,
    Timers,
    TransactionStateError,
    TransportError,
)
from firmware.pbx.sip.txntable import TransactionTable

UAC = ("192.0.2.10", 5060)
UAS = ("192.0.2.20", 5060)


def request(method="INVITE", *, branch="z9hG4bKabc1", cseq=1, via_host="192.0.2.10:5060",
            to_tag=None, routes=(), transport="UDP"):
    to = "<sip:101@callbox.local>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"{method} sip:101@callbox.local SIP/2.0",
        f"Via: SIP/2.0/{transport} {via_host};branch={branch}",
        "Max-Forwards: 70",
        *(f"Route: {r}" for r in routes),
        "From: \"Alice\" <sip:alice@example.com>;tag=from1",
        f"To: {to}",
        "Call-ID: call-1@example.com",
        f"CSeq: {cseq} {method}",
        "Contact: <sip:alice@192.0.2.10:5060>",
        "Content-Length: 0",
        "",
        "",
    ]
    return parse_message("\r\n".join(lines).encode())


def kinds(actions):
    return [type(a).__name__ for a in actions]


def sends(actions):
    return [a.message for a in actions if isinstance(a, Send)]


def run_timers(table, until):
    """Tick at every deadline up to `until`; return [(time, action)]."""
    out = []
    while table.next_deadline is not None and table.next_deadline <= until:
        now = table.next_deadline
        out += [(now, a) for a in table.tick(now)]
    return out


# -- client transactions ----------------------------------------------------------------------

def test_invite_client_retransmits_with_doubling_and_times_out_at_64_t1():
    table = TransactionTable()
    txn, actions = table.new_client(request(), UAS, 0.0)
    assert actions == [Send(txn.request, UAS)]
    fired = run_timers(table, 100.0)
    times = [t for t, a in fired if isinstance(a, Send)]
    assert times == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert [(t, type(a)) for t, a in fired if not isinstance(a, Send)] == [
        (32.0, Timeout), (32.0, Terminated)]
    assert txn.state == TERMINATED and len(table) == 0


def test_non_invite_client_e_capped_at_t2():
    table = TransactionTable()
    table.new_client(request("REGISTER"), UAS, 0.0)
    fired = run_timers(table, 100.0)
    times = [t for t, a in fired if isinstance(a, Send)]
    assert times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert kinds(a for _, a in fired[-2:]) == ["Timeout", "Terminated"]
    assert fired[-1][0] == 32.0


def test_non_invite_client_proceeding_retransmits_every_t2_then_completes():
    table = TransactionTable()
    txn, _ = table.new_client(request("OPTIONS"), UAS, 0.0)
    trying = make_response(txn.request, 100)
    assert kinds(table.receive_response(trying, 0.2)) == ["Deliver"]
    assert txn.state == PROCEEDING
    times = [t for t, a in run_timers(table, 10.0) if isinstance(a, Send)]
    assert times == [0.5, 4.5, 8.5]
    ok = make_response(txn.request, 200, to_tag="t1")
    assert table.receive_response(ok, 10.0) == [Deliver(ok)]
    assert txn.state == COMPLETED
    assert table.receive_response(ok, 10.1) == []  # absorbed
    fired = run_timers(table, 100.0)
    assert fired == [(15.0, Terminated())]  # Timer K = T4
    assert len(table) == 0


def test_invite_client_acks_non_2xx_final_per_17_1_1_3():
    table = TransactionTable()
    invite = request(routes=["<sip:proxy.example.com;lr>"])
    txn, _ = table.new_client(invite, UAS, 0.0)
    ringing = make_response(invite, 180, to_tag="callee")
    assert table.receive_response(ringing, 0.1) == [Deliver(ringing)]
    assert run_timers(table, 31.0) == []  # Proceeding: no retransmission, no Timer B
    busy = make_response(invite, 486, to_tag="callee")
    actions = table.receive_response(busy, 31.0)
    assert kinds(actions) == ["Deliver", "Send"]
    ack = actions[1].message
    assert actions[1].dest == UAS
    assert ack.method == "ACK" and ack.uri == invite.uri
    assert ack.top_via.branch == invite.top_via.branch and len(ack.vias) == 1
    assert ack.to.tag == "callee" and ack.from_.tag == "from1"
    assert ack.call_id == invite.call_id and ack.cseq == (1, "ACK")
    assert ack.headers.get_all("Route") == ["<sip:proxy.example.com;lr>"]
    assert parse_message(ack.to_bytes()).method == "ACK"
    # The 486 is retransmitted (our ACK was lost): re-ACK, do not bother the TU.
    assert table.receive_response(busy, 32.0) == [Send(ack, UAS)]
    assert txn.state == COMPLETED
    assert run_timers(table, 100.0) == [(63.0, Terminated())]  # Timer D = 32 s


def test_invite_client_2xx_goes_accepted_and_passes_retransmissions_up():
    table = TransactionTable()
    txn, _ = table.new_client(request(), UAS, 0.0)
    ok = make_response(txn.request, 200, to_tag="callee")
    assert table.receive_response(ok, 1.0) == [Deliver(ok)]
    assert txn.state == ACCEPTED
    assert table.receive_response(ok, 2.0) == [Deliver(ok)]  # the TU re-sends its ACK
    assert run_timers(table, 100.0) == [(33.0, Terminated())]  # Timer M = 64*T1


def test_tcp_client_never_retransmits_and_needs_no_wait():
    table = TransactionTable()
    txn, _ = table.new_client(request(transport="TCP"), UAS, 0.0, reliable=True)
    assert [(t, type(a)) for t, a in run_timers(table, 100.0)] == [
        (32.0, Timeout), (32.0, Terminated)]
    txn, _ = table.new_client(request(branch="z9hG4bKtcp2", transport="TCP"), UAS, 0.0,
                              reliable=True)
    busy = make_response(txn.request, 486, to_tag="x")
    assert kinds(table.receive_response(busy, 0.1)) == ["Deliver", "Send", "Terminated"]
    txn, _ = table.new_client(request("BYE", transport="TCP"), UAS, 0.0, reliable=True)
    ok = make_response(txn.request, 200)
    assert kinds(table.receive_response(ok, 0.1)) == ["Deliver", "Terminated"]
    assert len(table) == 0


def test_custom_timers():
    table = TransactionTable(Timers(t1=0.1, t2=0.4, t4=1.0))
    table.new_client(request("OPTIONS"), UAS, 0.0)
    fired = run_timers(table, 100.0)
    times = [round(t, 6) for t, a in fired if isinstance(a, Send)]
    assert times[:5] == [0.1, 0.3, 0.7, 1.1, 1.5]
    assert fired[-1][0] == pytest.approx(6.4)


def test_stray_response_goes_to_the_tu():
    table = TransactionTable()
    ok = make_response(request(), 200, to_tag="x")
    actions = table.receive_response(ok, 0.0)
    assert actions == [Deliver(ok)] and actions[0].txn is None


def test_transport_error_terminates():
    table = TransactionTable()
    txn, _ = table.new_client(request(), UAS, 0.0)
    assert kinds(txn.transport_error(0.1)) == ["TransportError", "Terminated"]
    assert len(table) == 0 and table.tick(100.0) == []


def test_reused_branch_refused():
    table = TransactionTable()
    table.new_client(request("OPTIONS"), UAS, 0.0)
    with pytest.raises(TransactionStateError):
        table.new_client(request("OPTIONS"), UAS, 0.0)
    with pytest.raises(TransactionStateError):
        table.new_client(request("ACK"), UAS, 0.0)


# -- server transactions ----------------------------------------------------------------------

def test_non_invite_server_absorbs_retransmissions_and_resends_last_response():
    table = TransactionTable()
    register = request("REGISTER")
    actions = table.receive_request(register, UAC, 0.0)
    assert actions == [Deliver(register)]
    txn = actions[0].txn
    assert table.server_for(register) is txn
    assert table.receive_request(register, UAC, 0.4) == []  # Trying: nothing to resend
    trying = make_response(register, 100)
    assert txn.send_response(trying, 0.5) == [Send(trying, UAC)]
    assert table.receive_request(register, UAC, 0.6) == [Send(trying, UAC)]
    ok = make_response(register, 200, to_tag="srv")
    assert txn.send_response(ok, 1.0) == [Send(ok, UAC)]
    assert table.receive_request(register, UAC, 2.0) == [Send(ok, UAC)]
    with pytest.raises(TransactionStateError):
        txn.send_response(ok, 2.0)
    assert run_timers(table, 100.0) == [(33.0, Terminated())]  # Timer J = 64*T1
    assert table.server_for(register) is None


def test_non_invite_server_over_tcp_terminates_at_once():
    table = TransactionTable()
    register = request("REGISTER", transport="TCP")
    txn = table.receive_request(register, UAC, 0.0, reliable=True)[0].txn
    ok = make_response(register, 200, to_tag="srv")
    assert kinds(txn.send_response(ok, 0.1)) == ["Send", "Terminated"]
    assert len(table) == 0


def test_invite_server_retransmits_final_until_ack_then_waits_t4():
    table = TransactionTable()
    invite = request()
    txn = table.receive_request(invite, UAC, 0.0)[0].txn
    ringing = make_response(invite, 180, to_tag="srv")
    txn.send_provisional(ringing, 0.0)
    assert table.receive_request(invite, UAC, 0.3) == [Send(ringing, UAC)]
    busy = make_response(invite, 486, to_tag="srv")
    assert txn.send_response(busy, 1.0) == [Send(busy, UAC)]
    assert txn.state == COMPLETED
    assert table.receive_request(invite, UAC, 1.2) == [Send(busy, UAC)]
    fired = run_timers(table, 9.0)
    assert [t for t, a in fired if isinstance(a, Send)] == [1.5, 2.5, 4.5, 8.5]  # G, capped T2
    ack = request("ACK", to_tag="srv")
    assert table.server_for(ack) is txn
    assert table.receive_request(ack, UAC, 9.0) == []
    assert txn.state == CONFIRMED
    assert table.receive_request(ack, UAC, 9.5) == []  # absorbed
    assert run_timers(table, 100.0) == [(14.0, Terminated())]  # Timer I = T4


def test_invite_server_without_ack_times_out_by_timer_h():
    table = TransactionTable()
    invite = request()
    txn = table.receive_request(invite, UAC, 0.0)[0].txn
    txn.send_response(make_response(invite, 603, to_tag="srv"), 0.0)
    fired = run_timers(table, 100.0)
    assert [(t, type(a)) for t, a in fired if not isinstance(a, Send)] == [
        (32.0, Timeout), (32.0, Terminated)]


def test_invite_server_2xx_is_accepted_and_absorbs_retransmitted_invite():
    table = TransactionTable()
    invite = request()
    txn = table.receive_request(invite, UAC, 0.0)[0].txn
    ok = make_response(invite, 200, to_tag="srv")
    assert txn.send_response(ok, 0.0) == [Send(ok, UAC)]
    assert txn.state == ACCEPTED
    assert table.receive_request(invite, UAC, 0.5) == []
    assert txn.send_response(ok, 0.5) == [Send(ok, UAC)]  # the TU's 2xx retransmission
    # The ACK for a 2xx has its own branch: no transaction, straight to the TU.
    ack = request("ACK", branch="z9hG4bKack2", to_tag="srv")
    assert table.receive_request(ack, UAC, 0.6) == [Deliver(ack)]
    assert run_timers(table, 100.0) == [(32.0, Terminated())]  # Timer L


def test_tcp_invite_server_does_not_retransmit():
    table = TransactionTable()
    invite = request(transport="TCP")
    txn = table.receive_request(invite, UAC, 0.0, reliable=True)[0].txn
    txn.send_response(make_response(invite, 486, to_tag="srv"), 0.0)
    fired = run_timers(table, 100.0)
    assert [(t, type(a)) for t, a in fired] == [(32.0, Timeout), (32.0, Terminated)]
    txn = table.receive_request(request(branch="z9hG4bKtcp3", transport="TCP"), UAC, 0.0,
                                reliable=True)[0].txn
    txn.send_response(make_response(txn.request, 486, to_tag="srv"), 0.0)
    ack = request("ACK", branch="z9hG4bKtcp3", transport="TCP", to_tag="srv")
    assert kinds(table.receive_request(ack, UAC, 0.1, reliable=True)) == ["Terminated"]


# -- matching ---------------------------------------------------------------------------------

def test_cancel_has_its_own_transaction_and_finds_the_invite():
    table = TransactionTable()
    invite = request()
    invite_txn = table.receive_request(invite, UAC, 0.0)[0].txn
    cancel = request("CANCEL")
    actions = table.receive_request(cancel, UAC, 1.0)
    assert actions == [Deliver(cancel)] and actions[0].txn is not invite_txn
    assert table.invite_for_cancel(cancel) is invite_txn
    assert len(table) == 2


def test_sent_by_and_method_are_part_of_the_key():
    table = TransactionTable()
    table.receive_request(request(), UAC, 0.0)
    other_host = request(via_host="192.0.2.99:5060")
    assert table.server_for(other_host) is None
    assert table.server_for(request(via_host="192.0.2.10")) is not None  # default port 5060
    assert table.server_for(request("OPTIONS")) is None


def test_rfc2543_matching_without_magic_cookie():
    table = TransactionTable()
    invite = request(branch="oldstyle-1")
    txn = table.receive_request(invite, UAC, 0.0)[0].txn
    assert table.receive_request(request(branch="oldstyle-1"), UAC, 0.1) == []  # retransmission
    busy = make_response(invite, 486, to_tag="srv")
    txn.send_response(busy, 0.2)
    assert table.receive_request(request(branch="oldstyle-1"), UAC, 0.3) == [Send(busy, UAC)]
    wrong_tag = request("ACK", branch="oldstyle-1", to_tag="other")
    assert table.server_for(wrong_tag) is None
    ack = request("ACK", branch="oldstyle-1", to_tag="srv")
    assert table.server_for(ack) is txn
    assert table.receive_request(ack, UAC, 0.4) == []
    assert txn.state == CONFIRMED
    # Same Call-ID and CSeq but a different branch-less request: a new transaction.
    assert len(table) == 1
    options = table.receive_request(request("OPTIONS", branch="oldstyle-1", cseq=2), UAC, 0.5)
    assert len(table) == 2
    options[0].txn.send_response(make_response(options[0].message, 200, to_tag="srv"), 0.6)
    run_timers(table, 100.0)
    assert len(table) == 0 and table._servers == {}


def test_tick_is_cheap_with_thousands_of_transactions():
    table = TransactionTable()
    for i in range(3000):
        table.new_client(request("OPTIONS", branch=f"z9hG4bKmany{i}"), UAS, i * 0.001)
    assert table.tick(0.4) == []
    assert len(table._heap) == 3000
    fired = table.tick(0.5005)
    assert len(fired) == 1
    # One late retransmission each, never a burst of the missed ones (the first transaction
    # already sent at 0.5005, so its next one, due 1.5005, is the one sent now).
    assert len(table.tick(3.5)) == 3000
    run_timers(table, 1000.0)
    assert len(table) == 0


# -- two endpoints joined by a fake link ------------------------------------------------------

class Endpoint:
    def __init__(self, link, addr, tu=None):
        self.link, self.addr, self.tu = link, addr, tu
        self.table = TransactionTable()
        self.delivered = []
        link.endpoints[addr] = self

    def handle(self, actions, now):
        for action in actions:
            if isinstance(action, Send):
                self.link.transmit(self.addr, action.dest, action.message, now)
            elif isinstance(action, Deliver):
                self.delivered.append((now, action.message))
                if self.tu is not None:
                    self.handle(self.tu(action, now), now)
            elif isinstance(action, (Timeout, TransportError)):
                self.delivered.append((now, action))

    def arrive(self, message, source, now):
        if hasattr(message, "method"):
            self.handle(self.table.receive_request(message, source, now), now)
        else:
            self.handle(self.table.receive_response(message, now), now)


class Link:
    """Carries serialized messages with a fixed latency; `drop(message)` loses some."""

    def __init__(self, latency=0.01, drop=lambda message: False):
        self.latency, self.drop = latency, drop
        self.endpoints = {}
        self.queue = []
        self.seq = itertools.count()
        self.log = []

    def transmit(self, source, dest, message, now):
        wire = message.to_bytes()
        lost = self.drop(message)
        self.log.append((now, source, wire.split(b"\r\n", 1)[0].decode(), lost))
        if not lost:
            heapq.heappush(self.queue, (now + self.latency, next(self.seq), dest, source, wire))

    def run(self, until):
        while True:
            deadlines = [(ep.table.next_deadline, ep) for ep in self.endpoints.values()
                         if ep.table.next_deadline is not None]
            when_timer = min(deadlines, key=lambda d: d[0]) if deadlines else (None, None)
            when_msg = self.queue[0][0] if self.queue else None
            candidates = [t for t in (when_timer[0], when_msg) if t is not None]
            if not candidates or min(candidates) > until:
                return
            if when_msg is not None and (when_timer[0] is None or when_msg <= when_timer[0]):
                now, _, dest, source, wire = heapq.heappop(self.queue)
                self.endpoints[dest].arrive(parse_message(wire), source, now)
            else:
                ep = when_timer[1]
                ep.handle(ep.table.tick(when_timer[0]), when_timer[0])


def test_register_over_a_lossy_link():
    dropped = []

    def drop_first_request(message):
        if getattr(message, "method", None) == "REGISTER" and not dropped:
            dropped.append(message)
            return True
        return False

    link = Link(drop=drop_first_request)

    def registrar(action, now):
        return action.txn.send_response(make_response(action.message, 200, to_tag="reg"), now)

    phone = Endpoint(link, UAC)
    Endpoint(link, UAS, tu=registrar)
    _, actions = phone.table.new_client(request("REGISTER"), UAS, 0.0)
    phone.handle(actions, 0.0)
    link.run(100.0)
    assert [(round(t, 3), m.status) for t, m in phone.delivered] == [(0.52, 200)]
    assert [line for _, _, line, _ in link.log] == [
        "REGISTER sip:101@callbox.local SIP/2.0",
        "REGISTER sip:101@callbox.local SIP/2.0",
        "SIP/2.0 200 OK",
    ]
    assert len(link.endpoints[UAS].table) == 0 and len(phone.table) == 0


def test_rejected_invite_with_lost_ack_over_the_link():
    lost_acks = []

    def drop_first_ack(message):
        if getattr(message, "method", None) == "ACK" and not lost_acks:
            lost_acks.append(message)
            return True
        return False

    link = Link(drop=drop_first_ack)

    def busy_phone(action, now):
        if action.message.method == "INVITE":
            return action.txn.send_response(make_response(action.message, 486, to_tag="b"), now)
        return []

    caller = Endpoint(link, UAC)
    callee = Endpoint(link, UAS, tu=busy_phone)
    _, actions = caller.table.new_client(request(), UAS, 0.0)
    caller.handle(actions, 0.0)
    link.run(100.0)
    assert [m.status for _, m in caller.delivered] == [486]  # the TU sees the 486 once
    assert [line.split()[0] for _, _, line, _ in link.log] == [
        "INVITE", "SIP/2.0", "ACK", "SIP/2.0", "ACK"]  # lost ACK -> 486 again -> ACK again
    assert [m.method for _, m in callee.delivered] == ["INVITE"]
    assert len(caller.table) == 0 and len(callee.table) == 0


# -- issue 14.8: an overall cap on server transactions ------------------------------------------
def _flood(table, count, *, start=0, size=500, method="OPTIONS", now=0.0, hosts=None):
    """`count` requests, each from its own (spoofed) source address."""
    out = []
    for i in range(start, start + count):
        host = hosts(i) if hosts else f"10.{i // 250 % 250}.{i % 250}.1"
        req = request(method, branch=f"z9hG4bKf{i}", via_host=f"{host}:5060")
        out.append(table.receive_request(req, (host, 5060), now + i * 0.001, size=size))
    return out


def test_many_sources_cannot_grow_the_table_past_its_count_cap():
    table = TransactionTable(max_servers=50)
    _flood(table, 500)
    assert len(table) == 50 and table.shed == 450
    branches = sorted(t.request.top_via.branch for t in table.transactions())
    assert branches == sorted(f"z9hG4bKf{i}" for i in range(450, 500))   # the newest stay


def test_large_requests_are_capped_by_bytes():
    table = TransactionTable(max_bytes=300 * 1024)
    _flood(table, 40, size=64 * 1024)
    assert table.server_bytes <= 300 * 1024 and len(table) == 4
    for txn in table.transactions():
        txn.send_response(make_response(txn.request, 200, "OK"), 1.0)
    run_timers(table, 100.0)                                        # all end: nothing leaks
    assert len(table) == 0 and table.server_bytes == 0


def test_registered_phones_are_kept_and_always_get_in():
    from firmware.pbx.sip.txntable import Overloaded
    table = TransactionTable(max_servers=20)
    table.protected = lambda host: host.startswith("192.168.")
    phones = _flood(table, 10, hosts=lambda i: f"192.168.1.{i}")          # 10 phones first
    assert all(kinds(a) == ["Deliver"] for a in phones)
    _flood(table, 300, start=10)                                         # then the flood
    kept = {t.peer[0] for t in table.transactions()}
    assert {f"192.168.1.{i}" for i in range(10)} <= kept and len(table) == 20
    more = _flood(table, 10, start=400, hosts=lambda i: f"192.168.2.{i}")  # more phones
    assert all(kinds(a) == ["Deliver"] for a in more)
    assert sum(t.peer[0].startswith("192.168.") for t in table.transactions()) == 20
    with pytest.raises(Overloaded):                                  # a stranger: no room
        _flood(table, 1, start=999)


def test_a_shed_transaction_refuses_a_late_answer():
    table = TransactionTable(max_servers=1)
    first = request("OPTIONS", branch="z9hG4bKold", via_host="10.0.0.1:5060")
    txn, _ = table.new_server(first, ("10.0.0.1", 5060), 0.0)
    table.receive_request(request("OPTIONS", branch="z9hG4bKnew", via_host="10.0.0.2:5060"),
                          ("10.0.0.2", 5060), 0.1)
    assert txn.state == TERMINATED and table.server_for(first) is None
    with pytest.raises(TransactionStateError):
        txn.send_response(make_response(first, 200, "OK"), 0.2)


def test_shed_transactions_do_not_linger_on_the_timer_heap():
    """Their requests would stay in memory until their timers ran out (32 s)."""
    table = TransactionTable(max_servers=50)
    for i in range(2000):
        for action in _flood(table, 1, start=i)[0]:
            action.txn.send_response(make_response(action.txn.request, 200, "OK"), 1.0)
    assert len(table) == 50
    assert len(table._heap) <= 50 + max(64, len(table._heap) // 2) + 1


def test_a_table_full_of_protected_peers_costs_a_stranger_little():
    """A flood spoofed from a trunk's address fills the table with protected transactions."""
    from firmware.pbx.sip.txntable import Overloaded
    table = TransactionTable(max_servers=2000)
    asked = []
    table.protected = lambda host: asked.append(host) or host == "198.51.100.2"
    _flood(table, 2000, hosts=lambda i: "198.51.100.2")
    asked.clear()
    with pytest.raises(Overloaded):
        _flood(table, 1, start=5000)
    assert len(asked) <= 2                          # once for the trunk, once for the stranger


def test_an_office_at_the_cap_sheds_its_own_oldest_and_asks_once_per_host():
    """Phones registering faster than Timer J lets their transactions go fill the table with
    protected hosts' transactions: each new request then sheds the oldest, asking about
    each host once, without looking at the oldest transactions one by one."""
    table = TransactionTable(max_servers=300)
    asked = []
    table.protected = lambda host: asked.append(host) or host.startswith("192.168.")
    _flood(table, 300, hosts=lambda i: f"192.168.1.{i % 3}")
    asked.clear()
    for i in range(300, 310):
        assert kinds(_flood(table, 1, start=i, hosts=lambda i: "192.168.1.0")[0]) == ["Deliver"]
    branches = {t.request.top_via.branch for t in table.transactions()}
    assert len(table) == 300 and table.shed == 10
    assert branches == {f"z9hG4bKf{i}" for i in range(10, 310)}        # the 10 oldest went
    assert len(asked) <= 3 * 10


def test_among_few_hosts_a_strangers_transaction_is_still_shed_first():
    table = TransactionTable(max_servers=20)
    table.protected = lambda host: host.startswith("192.168.")
    _flood(table, 5, hosts=lambda i: "192.168.1.5")                     # a phone's, oldest
    _flood(table, 1, start=5, hosts=lambda i: "203.0.113.9")            # a stranger's
    _flood(table, 14, start=6, hosts=lambda i: "192.168.1.6")
    _flood(table, 1, start=20, hosts=lambda i: "192.168.1.5")           # the phone again
    branches = {t.request.top_via.branch for t in table.transactions()}
    assert "z9hG4bKf5" not in branches and "z9hG4bKf0" in branches and len(table) == 20


def test_the_per_host_counts_end_with_the_transactions():
    table = TransactionTable(max_servers=50)
    _flood(table, 80, hosts=lambda i: f"192.0.2.{i % 7}")
    for txn in table.transactions():
        txn.send_response(make_response(txn.request, 200, "OK"), 1.0)
    run_timers(table, 100.0)
    assert len(table) == 0 and table._host_counts == {}
