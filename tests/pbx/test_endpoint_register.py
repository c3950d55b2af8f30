"""REGISTERs through the endpoint, sans-I/O: datagrams in, datagrams out, as the box wires it
(registrar, bindings, the transaction table's protected hosts), with explicit clocks."""

from __future__ import annotations

import re

from firmware.pbx.bindings import Bindings
from firmware.pbx.endpoint import SipEndpoint
from firmware.pbx.registrar import Registrar
from firmware.pbx.sip.digest import DigestServer, answer_challenge
from firmware.pbx.transport import Address

WALL = 1_700_000_000.0
PHONE = Address("192.0.2.10", 5062)
STRANGER = Address("203.0.113.66", 5060)
PASSWORDS = {f"{n}": f"bench-pass-{n}" for n in range(200, 210)}


def register_bytes(user: str, n: int, cseq: int = 1, auth: str = "",
                   source: Address = PHONE) -> bytes:
    return (f"REGISTER sip:192.0.2.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {source.host}:{source.port};branch=z9hG4bK-{n}-{cseq};rport\r\n"
            f"From: <sip:{user}@192.0.2.1>;tag=t{n}\r\nTo: <sip:{user}@192.0.2.1>\r\n"
            f"Call-ID: reg-{n}\r\nCSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:{user}@{source.host}:{source.port}>\r\n"
            + (f"Authorization: {auth}\r\n" if auth else "")
            + "Max-Forwards: 70\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n").encode()


class Box:
    """The parts of firmware/box.py a REGISTER meets."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Address]] = []
        self.bindings = Bindings()
        self.registrar = Registrar(DigestServer("callbox", b"k" * 32, algorithms=("MD5",)),
                                   PASSWORDS.get, self.bindings, lambda: "totag")
        self.endpoint = SipEndpoint(lambda data, dest: self.sent.append((data, dest)),
                                    self.registrar, clock=lambda: 100.0, wall=lambda: WALL,
                                    protected=lambda host: self.bindings.reached_from(host, WALL))

    def send(self, data: bytes, source: Address = PHONE) -> bytes | None:
        before = len(self.sent)
        self.endpoint.on_datagram(data, source)
        return self.sent[-1][0] if len(self.sent) > before else None

    def register(self, user: str, n: int, source: Address = PHONE) -> tuple[bytes, bytes]:
        challenge = self.send(register_bytes(user, n, source=source), source)
        assert challenge is not None and challenge.startswith(b"SIP/2.0 401 ")
        value = re.search(rb"WWW-Authenticate: (.*)\r\n", challenge)[1].decode()
        auth = answer_challenge(value, method="REGISTER", uri="sip:192.0.2.1", username=user,
                                password=PASSWORDS[user], cnonce=f"c{n}")
        second = register_bytes(user, n, cseq=2, auth=auth, source=source)
        answer = self.send(second, source)
        assert answer is not None
        return second, answer


def test_a_retransmitted_register_gets_the_same_answer_and_binds_nothing_new():
    box = Box()
    second, answer = box.register("200", 1)
    assert answer.startswith(b"SIP/2.0 200 OK") and b";expires=600" in answer
    box.bindings.changed = False
    assert box.send(second) == answer                       # from the transaction, unchanged
    assert not box.bindings.changed
    (txn,) = [t for t in box.endpoint.table.transactions() if t.request.cseq[0] == 2]
    assert txn.request.to.uri == "sip:200@192.0.2.1"        # its views parse again on demand


def test_at_the_cap_registered_phones_still_register_and_strangers_are_dropped():
    box = Box()
    box.endpoint.table.max_servers = 20
    for n in range(30):                                     # 60 transactions: the cap is met
        _, answer = box.register(f"{200 + n % 10}", n)
        assert answer.startswith(b"SIP/2.0 200 OK")
    assert len(box.endpoint.table) == 20
    assert box.send(register_bytes("200", 99, source=STRANGER), STRANGER) is None
    assert box.endpoint.counters["overloaded"] == 1
    _, answer = box.register("201", 100)                    # the phone, once more
    assert answer.startswith(b"SIP/2.0 200 OK") and len(box.endpoint.table) == 20
