"""A B2BUA behind the real SipEndpoint, with the network replaced by a captured `send`.

Messages go in as bytes from an address (`box.receive(text, address)`), come out as parsed
messages with their destination (`box.sent`). The clocks are frozen values the test moves
(`box.advance(seconds)` fires due timers); the relay is a stand-in that hands out ports and
records where audio would go. No sockets, no sleeping.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from firmware.config import parse_config
from firmware.pbx.b2bua import B2BUA
from firmware.pbx.bindings import Binding, Bindings
from firmware.pbx.endpoint import SipEndpoint
from firmware.pbx.sip.digest import DigestServer
from firmware.pbx.sip.message import Request, Response, make_response, parse_message
from firmware.pbx.transport import Address

CONFIG_TEXT = """
[[trunk]]
name = "provider"
host = "127.0.0.2"
username = "48221234567"
password = "trunk-password-1"
register = false
[[extension]]
number = "101"
password = "secret-101-pw"
[[extension]]
number = "102"
password = "secret-102-pw"
[[campaign]]
name = "Shop window"
number = "+48221234567"
ring = ["101", "102"]
[[campaign]]
name = "Flyer"
number = "+48221234568"
ring = ["101"]
[tracking]
ring_timeout_seconds = 5
"""
TRUNK = Address("127.0.0.2", 5060)
PHONE1 = Address("127.0.0.11", 5060)
PHONE2 = Address("127.0.0.12", 5060)
WALL0 = 1_790_000_000.0     # 2026-09-21: a frozen wall clock


def sdp(host: str = "127.0.0.2", port: int = 40000) -> bytes:
    return (f"v=0\r\no=x 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n").encode()


class Session:
    def __init__(self, key: str, base: int) -> None:
        self.call_key = key
        self.a, self.b = SimpleNamespace(local_port=base), SimpleNamespace(local_port=base + 2)
        self.remotes: dict[str, tuple[str, int]] = {}
        self.closed = False

    def set_remote(self, side: str, host: str, port: int, signalled_from=None) -> None:
        self.remotes[side] = (host, port)

    def note_formats(self, side: str, formats: dict) -> None:
        self.formats = {**getattr(self, "formats", {}), side: formats}

    def close(self) -> None:
        self.closed = True


class Relay:
    def __init__(self) -> None:
        self.sessions: list[Session] = []
        self.fail = False

    async def open_session(self, key: str) -> Session:
        if self.fail:
            raise RuntimeError("no ports left")
        self.sessions.append(Session(key, 30000 + 4 * len(self.sessions)))
        return self.sessions[-1]


class Box:
    """The endpoint + B2BUA with 101 (127.0.0.11) and 102 (127.0.0.12) registered."""

    def __init__(self, config_text: str = CONFIG_TEXT) -> None:
        self.config = parse_config(config_text)
        self.mono, self.wall = 1000.0, WALL0
        self.sent: list[tuple[Request | Response, Address]] = []
        self.events: list = []
        self.relay = Relay()
        bindings = Bindings()
        for ext, address in (("101", PHONE1), ("102", PHONE2)):
            bindings.put(ext, Binding(f"sip:{ext}@{address.host}:5060", WALL0 + 3600,
                                      address.host, 5060, "UDP", "c", 1))
        self.b2bua = B2BUA(self.config, bindings,
                           DigestServer("callbox", b"k" * 32, algorithms=("MD5",)),
                           host="127.0.0.1", port=5060, trunk_hosts={"127.0.0.2": "provider"})
        self.endpoint = SipEndpoint(self._send, None, calls=self.b2bua, media=self.relay,
                                    publish=self.events.append, clock=lambda: self.mono,
                                    wall=lambda: self.wall)

    def _send(self, data: bytes, dest: Address) -> None:
        self.sent.append((parse_message(data), dest))

    def receive(self, message: str | bytes | Request | Response, source: Address) -> None:
        data = message.to_bytes() if hasattr(message, "to_bytes") else (
            message.encode() if isinstance(message, str) else message)
        self.endpoint.on_datagram(data, source)

    def advance(self, seconds: float) -> None:
        """Move both clocks; fire every timer due on the way, in order."""
        end = self.mono + seconds
        while True:
            due = self.endpoint.next_deadline()
            if due is None or due > end:
                break
            self.wall += max(0.0, due - self.mono)
            self.mono = max(self.mono, due)
            self.endpoint.tick()
        self.wall += end - self.mono
        self.mono = end

    # -- what went out -------------------------------------------------------------------
    def requests(self, method: str, dest: Address | None = None) -> list[Request]:
        return [m for m, d in self.sent if isinstance(m, Request) and m.method == method
                and (dest is None or d.host == dest.host)]

    def responses(self, dest: Address | None = None) -> list[Response]:
        return [m for m, d in self.sent if isinstance(m, Response)
                and (dest is None or d.host == dest.host)]

    def statuses(self, dest: Address = TRUNK) -> list[int]:
        return [r.status for r in self.responses(dest)]

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def trunk_invite(ruri_user: str = "+48221234567", to_user: str | None = None,
                 call_id: str = "trunk-1", extra: str = "", body: bytes | None = None,
                 from_user: str = "+48600111222") -> str:
    body = sdp() if body is None else body
    to_user = ruri_user if to_user is None else to_user
    content = "Content-Type: application/sdp\r\n" if body else ""
    return (f"INVITE sip:{ruri_user}@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK{call_id}\r\n"
            f"From: <sip:{from_user}@127.0.0.2>;tag=t-{call_id}\r\n"
            f"To: <sip:{to_user}@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
            f"Contact: <sip:trunk@127.0.0.2>\r\nMax-Forwards: 70\r\n{extra}{content}"
            f"Content-Length: {len(body)}\r\n\r\n") + body.decode()


def reply(request: Request, status: int, tag: str = "p", body: bytes = b"",
          contact: str = "", extra: list[tuple[str, str]] = ()) -> Response:
    headers = [("Contact", f"<{contact or request.uri}>"), *extra]
    if body:
        headers.append(("Content-Type", "application/sdp"))
    return make_response(request, status, None, to_tag=tag if status > 100 else None,
                         headers=headers, body=body)


def in_dialog(response: Response, method: str, cseq: int, source_uri: str,
              body: bytes = b"", extra: str = "") -> str:
    """A request from the far end of a dialog the box made (the box's response's tags)."""
    to_tag = response.to.tag
    content = "Content-Type: application/sdp\r\n" if body else ""
    return (f"{method} {source_uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {response.vias[0].split()[1].split(';')[0]};branch=z9hG4bK{method}{cseq}\r\n"
            f"From: {response.headers.get('From')}\r\n"
            f"To: {response.headers.get('To').split(';tag=')[0]};tag={to_tag}\r\n"
            f"Call-ID: {response.call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
            f"{extra}{content}Content-Length: {len(body)}\r\n\r\n") + body.decode()
