"""The box registering to its SIP provider (a `[[trunk]]` with `register = true`).

`TrunkRegistration` is pure: it builds REGISTERs (and keep-alive OPTIONS), reads the
answers and says when to act next (`next_at`, `answer_by`, `ping_at`); `TrunkClient` wires
it to the endpoint, the trunk's network (firmware/pbx/trunknet.py: where to send, RFC 3263
fail-over) and the event loop. Providers challenge with 401 or 407; the registration is
refreshed at 80 % of the granted expiry, and after a failure retried with a doubling
back-off (30 s up to 10 min), as providers ban clients that hammer them.

Through NAT (RFC 5626 in spirit): every `keepalive_seconds` a registered trunk is pinged,
with OPTIONS over UDP (any answer proves the binding and the provider alive) and a CRLF over
TCP (the connection itself proves it; its loss is reported by the transport). A ping still
unanswered when the next is due, or a lost connection, marks the trunk failed; it
registers again at once (to the next target, if DNS gave several), then with back-off.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from typing import Callable

from firmware.config import Trunk
from firmware.pbx.trunknet import TrunkNetwork, TrunkRoute
from firmware.pbx.sip.digest import answer_challenge
from firmware.pbx.sip.errors import SipError
from firmware.pbx.sip.message import Headers, Request, Response, new_branch, new_call_id, new_tag
from firmware.pbx.sip.uri import parse_name_addr, split_header_list
from firmware.pbx.transport import Address

logger = logging.getLogger(__name__)

REQUESTED_EXPIRES = 600
RETRY_FIRST, RETRY_MAX = 30.0, 600.0

UNREGISTERED, REGISTERING, REGISTERED, FAILED = "unregistered", "registering", "registered", "failed"


class TrunkRegistration:
    """One trunk's registration state machine."""

    def __init__(self, trunk: Trunk, contact_host: str, contact_port: int,
                 transport: str | None = None) -> None:
        self.trunk = trunk
        self.transport = (transport or trunk.transport).upper()
        suffix = ";transport=tcp" if self.transport == "TCP" else ""
        self.contact = f"<sip:{trunk.username}@{contact_host}:{contact_port}{suffix}>"
        self.via_host = f"{contact_host}:{contact_port}"
        self.route: TrunkRoute | None = None      # where the current REGISTER went
        self.answer_by: float | None = None       # no answer by then: the target is dead
        self.ping_at = math.inf                   # next keep-alive (while registered)
        self.ping_waiting = False                 # an OPTIONS ping not answered yet
        self.generation = 0                       # answers of older sends are ignored
        self.call_id = new_call_id(contact_host)
        self.from_tag = new_tag()
        self.cseq = 0
        self.state = UNREGISTERED
        self.next_at = 0.0
        self.retry = RETRY_FIRST
        self.auth_tries = 0
        self.last_error = ""

    def request(self, now: float, authorization: tuple[str, str] | None = None,
                route: TrunkRoute | None = None) -> Request:
        """The next REGISTER (with credentials when answering a challenge), sent by `route`
        (the one of the last REGISTER when None)."""
        self.cseq += 1
        if self.state == UNREGISTERED:
            self.state = REGISTERING    # a failed trunk shows failed until it registers again
        if route is not None:
            self.route = route
        self.answer_by = now + self.trunk.failover_seconds
        headers = self._headers(self.cseq, "REGISTER")
        headers.add("Contact", self.contact)
        headers.add("Expires", str(REQUESTED_EXPIRES))
        headers.add("User-Agent", "Callbox")
        if authorization is not None:
            headers.add(*authorization)
        self.next_at = now + 40.0   # a transaction times out after 32 s; then retry
        return Request("REGISTER", self.uri, headers)

    def ping(self, now: float) -> Request:
        """A keep-alive OPTIONS (UDP) on the registration's Call-ID; the next is due in
        `keepalive_seconds`, and this one must be answered by then."""
        self.cseq += 1
        self.ping_waiting = True
        self.ping_at = now + self.trunk.keepalive_seconds
        headers = self._headers(self.cseq, "OPTIONS")
        headers.add("Accept", "application/sdp")
        headers.add("User-Agent", "Callbox")
        return Request("OPTIONS", self.uri, headers)

    def on_ping_answer(self) -> None:
        self.ping_waiting = False

    def _headers(self, cseq: int, method: str) -> Headers:
        trunk = self.trunk
        aor = f"<sip:{trunk.username}@{trunk.host}>"
        transport = self.route.transport if self.route is not None else self.transport
        headers = Headers()
        headers.add("Via", f"SIP/2.0/{transport} {self.via_host};branch={new_branch()};rport")
        for value in (self.route.route if self.route is not None else ()):
            headers.add("Route", value)
        headers.add("Max-Forwards", "70")
        headers.add("From", f"{aor};tag={self.from_tag}")
        headers.add("To", aor)
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        return headers

    @property
    def uri(self) -> str:
        port = "" if self.trunk.port == 5060 else f":{self.trunk.port}"
        return f"sip:{self.trunk.host}{port}"

    def on_response(self, response: Response, now: float) -> Request | None:
        """Read an answer to our REGISTER; returns the next REGISTER to send at once, if any."""
        status = response.status
        self.answer_by = None       # the target is alive, whatever it says
        if status < 200:
            return None
        if status in (401, 407) and self.auth_tries < 2:
            header = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
            challenges = response.headers.get_all(header)
            if challenges:
                self.auth_tries += 1
                try:
                    value = answer_challenge(
                        challenges[0], method="REGISTER", uri=self.uri,
                        username=self.trunk.username, password=self.trunk.password,
                        cnonce=secrets.token_hex(8))
                except (ValueError, SipError) as exc:
                    return self._failed(now, f"cannot answer challenge: {exc}")
                name = "Authorization" if status == 401 else "Proxy-Authorization"
                return self.request(now, (name, value))
        self.auth_tries = 0
        if 200 <= status < 300:
            granted = self._granted(response)
            if self.state != REGISTERED:
                logger.info("trunk %s: registered for %d s", self.trunk.name, granted)
            self.state = REGISTERED
            self.retry = RETRY_FIRST
            self.last_error = ""
            self.next_at = now + max(30.0, granted * 0.8)
            self.ping_waiting = False
            keepalive = self.trunk.keepalive_seconds
            self.ping_at = now + keepalive if keepalive else math.inf
            return None
        if status == 423:
            return self._failed(now, "423 Interval Too Brief")
        return self._failed(now, f"{status} {response.reason}")

    def on_timeout(self, now: float) -> None:
        self._failed(now, "no answer from the provider")

    def lost(self, now: float, why: str) -> None:
        """A registered trunk stopped answering: failed, and registering again now (the
        back-off applies if that fails too)."""
        logger.warning("trunk %s: lost (%s); registering again", self.trunk.name, why)
        self.state = FAILED
        self.last_error = why
        self.auth_tries = 0
        self.answer_by = None
        self.ping_at, self.ping_waiting = math.inf, False
        self.next_at = now

    def _failed(self, now: float, why: str) -> None:
        if self.state != FAILED or why != self.last_error:
            logger.warning("trunk %s: registration failed (%s); retrying in %d s",
                           self.trunk.name, why, self.retry)
        self.state = FAILED
        self.last_error = why
        self.auth_tries = 0
        self.answer_by = None
        self.ping_at, self.ping_waiting = math.inf, False
        self.next_at = now + self.retry
        self.retry = min(self.retry * 2, RETRY_MAX)
        return None

    def _granted(self, response: Response) -> int:
        for value in response.headers.get_all("Contact"):
            for item in split_header_list(value):
                try:
                    contact = parse_name_addr(item)
                except SipError:
                    continue
                if contact.uri in self.contact and contact.param("expires"):
                    return _seconds(contact.param("expires"), REQUESTED_EXPIRES)
        return _seconds(response.headers.get("Expires"), REQUESTED_EXPIRES)


def _seconds(text: str | None, default: int) -> int:
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else default


class TrunkClient:
    """Runs the registrations of every `register = true` trunk on the event loop: sends
    each REGISTER where `network.route()` says, fails over on silence, 503 or a broken
    connection (`network.report_failure`), and keeps registered trunks alive."""

    def __init__(self, endpoint, registrations: dict[str, TrunkRegistration],
                 on_state: Callable[[str, str], None], network: TrunkNetwork, *,
                 transport=None, clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoint = endpoint
        self.registrations = registrations
        self.on_state = on_state
        self.network = network
        self.transport = transport          # the SipTransport: CRLF keep-alives, lost links
        self.clock = clock                  # monotonic: the wall clock steps after NTP on a Pi
        if transport is not None:
            transport.on_failure.append(self.on_transport_failure)

    async def run(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(1.0)

    def tick(self) -> None:
        """Do whatever is due: fail-over of a silent target, REGISTER, keep-alive."""
        now = self.clock()
        for name, registration in list(self.registrations.items()):
            if registration.answer_by is not None and now >= registration.answer_by:
                if self.network.has_alternative(name):
                    self._target_failed(registration,
                                        f"no answer in {registration.trunk.failover_seconds} s")
                else:   # nowhere else to go: a slow answer is still welcome (32 s timeout)
                    registration.answer_by = None
            elif now >= registration.next_at:
                self._register(registration, now)
            elif registration.state == REGISTERED and now >= registration.ping_at:
                self._keep_alive(registration, now)

    def _register(self, registration: TrunkRegistration, now: float) -> None:
        name = registration.trunk.name
        route = self.network.route(name)
        if route is None:       # the host is not found (yet): the network retries the look-up
            registration.next_at = now + 1.0
            self.on_state(name, self.network.state(name))
            return
        self._send(registration, registration.request(now, route=route))
        self.on_state(name, registration.state)

    def _send(self, registration: TrunkRegistration, request: Request) -> None:
        assert registration.route is not None
        self.endpoint.send_request(request, registration.route.dest,
                                   owner=_Owner(self, registration, registration.generation))

    def _keep_alive(self, registration: TrunkRegistration, now: float) -> None:
        route = registration.route
        if route is None:
            return
        if registration.ping_waiting:
            self._target_failed(registration, "keep-alive not answered")
            return
        if route.transport == "TCP" and self.transport is not None:
            registration.ping_at = now + registration.trunk.keepalive_seconds
            if not self.transport.is_connected(route.dest):
                self._target_failed(registration, "connection lost")
                return
            self.transport.send(b"\r\n\r\n", route.dest)
            return
        self.endpoint.send_request(registration.ping(now), route.dest,
                                   owner=_PingOwner(self, registration))

    def _target_failed(self, registration: TrunkRegistration, why: str) -> None:
        """The target in use stopped answering: fail over, or fail and back off."""
        now = self.clock()
        name = registration.trunk.name
        registration.generation += 1        # answers still on their way are stale now
        registration.answer_by = None
        route = registration.route
        was_registered = registration.state == REGISTERED
        more = route is not None and self.network.report_failure(name, route.dest, why)
        if was_registered:          # a NAT binding or a connection lost: register again now
            registration.lost(now, why)
        elif more:
            registration.next_at = now      # the next target, at once
        else:
            registration._failed(now, why)
        self.on_state(name, registration.state)

    def on_transport_failure(self, dest: Address, why: str) -> None:
        """The transport could not connect to `dest`, or its connection closed."""
        for registration in list(self.registrations.values()):
            route = registration.route
            if route is not None and route.dest == dest and (
                    registration.answer_by is not None or registration.state == REGISTERED):
                self._target_failed(registration, why)

    def _current(self, registration: TrunkRegistration, generation: int) -> bool:
        """False for the late answer of a registration replaced by a config change, or of a
        target already given up."""
        return self.registrations.get(registration.trunk.name) is registration \
            and registration.generation == generation


class _Owner:
    """Routes the answers of one REGISTER transaction back to its registration."""

    def __init__(self, client: TrunkClient, registration: TrunkRegistration,
                 generation: int) -> None:
        self.client, self.registration, self.generation = client, registration, generation

    def on_sip_response(self, response: Response) -> None:
        if not self.client._current(self.registration, self.generation):
            return
        if response.status == 503:      # RFC 3263 4.3: the next target
            self.client._target_failed(self.registration, "503 from the provider")
            return
        now = self.client.clock()
        follow_up = self.registration.on_response(response, now)
        if follow_up is not None:
            self.client._send(self.registration, follow_up)
        self.client.on_state(self.registration.trunk.name, self.registration.state)

    def on_sip_timeout(self) -> None:
        if not self.client._current(self.registration, self.generation):
            return
        self.client._target_failed(self.registration, "no answer from the provider")


class _PingOwner:
    """The answer (any) or the silence after one keep-alive OPTIONS."""

    def __init__(self, client: TrunkClient, registration: TrunkRegistration) -> None:
        self.client, self.registration = client, registration
        self.generation = registration.generation

    def on_sip_response(self, response: Response) -> None:
        if self.client._current(self.registration, self.generation):
            self.registration.on_ping_answer()

    def on_sip_timeout(self) -> None:
        if self.client._current(self.registration, self.generation) \
                and self.registration.state == REGISTERED:
            self.client._target_failed(self.registration, "keep-alive not answered")
