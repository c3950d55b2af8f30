"""RFC 4475 over the wire: each torture message sent to the running box over UDP gets the
answer ../shared/sip-torture/README.md asks for, and the box still answers OPTIONS after all 49."""

from __future__ import annotations

import select
import socket
import time

from tests import peers
from tests.pbx.sip.test_torture_parse import EXPECTED, TORTURE

RESPONSES = {"scalarlg", "bigcode", "bcast", "noreason", "unreason"}   # dropped, never answered


def test_every_torture_message_over_udp(box):
    if TORTURE is None:
        peers.missing("../shared/sip-torture is not beside this checkout")
    sockets = {}
    for index, path in enumerate(sorted(TORTURE.glob("*.dat"))):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((f"127.0.1.{10 + index}", 0))   # one address each: no flood limit trips
        sock.sendto(path.read_bytes(), ("127.0.0.1", box.sip_port))
        sockets[path.stem] = sock
    answers: dict[str, int] = {}
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and len(answers) < len(sockets) - len(RESPONSES):
        ready, _, _ = select.select(list(sockets.values()), [], [], 0.2)
        for sock in ready:
            name = next(n for n, s in sockets.items() if s is sock)
            data = sock.recv(65535)
            status = int(data.split(b" ", 2)[1])
            if status >= 200:
                answers[name] = status
    time.sleep(0.3)
    for sock in sockets.values():
        sock.close()
    for name, (kind, status) in EXPECTED.items():
        if name in RESPONSES:
            assert name not in answers, f"{name}: a bad or stray response must be dropped"
        elif kind == "ok":
            assert answers.get(name, 0) >= 200, f"{name}: valid, must be handled"
        else:
            assert answers.get(name) in (status, None if kind == "parse" else status), \
                f"{name}: expected {status}, got {answers.get(name)}"
    # the specific answers of RFC 4475 3.3
    for name, status in {"unkscm": 416, "novelsc": 416, "bext01": 420, "invut": 415,
                         "sdp01": 406, "multi01": 400, "mcl01": 400, "insuf": 400,
                         "regaut01": 401, "badvers": 505}.items():
        assert answers.get(name) == status, (name, answers.get(name))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.16", 0))
        sock.settimeout(3)
        port = sock.getsockname()[1]
        sock.sendto((f"OPTIONS sip:127.0.0.1:{box.sip_port} SIP/2.0\r\n"
                     f"Via: SIP/2.0/UDP 127.0.0.16:{port};branch=z9hG4bKafter{port}\r\n"
                     "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                     "Call-ID: after-torture\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                     "Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", box.sip_port))
        assert sock.recv(65535).startswith(b"SIP/2.0 200 OK\r\n")
    assert box.proc.poll() is None
    assert "Traceback" not in box.log()
