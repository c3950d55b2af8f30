"""The box registering to its SIP provider (a `[[trunk]]` with `register = true`).

`TrunkRegistration` is pure: it builds REGISTERs, reads the answers and says when to act
next (`next_at`); `TrunkClient` wires it to the endpoint and the event loop. Providers
challenge with 401 or 407; the registration is refreshed at 80 % of the granted expiry,
and after a failure retried with a doubling back-off (30 s up to 10 min), as providers
ban clients that hammer them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Callable

from firmware.config import Trunk
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
                 transport: str = "UDP") -> None:
        self.trunk = trunk
        self.contact = f"<sip:{trunk.username}@{contact_host}:{contact_port}>"
        self.via_host = f"{contact_host}:{contact_port}"
        self.transport = transport
        self.call_id = new_call_id(contact_host)
        self.from_tag = new_tag()
        self.cseq = 0
        self.state = UNREGISTERED
        self.next_at = 0.0
        self.retry = RETRY_FIRST
        self.auth_tries = 0
        self.last_error = ""

    def request(self, now: float, authorization: tuple[str, str] | None = None) -> Request:
        """The next REGISTER (with credentials when answering a challenge)."""
        self.cseq += 1
        self.state = REGISTERING if self.state != REGISTERED else REGISTERED
        trunk = self.trunk
        aor = f"<sip:{trunk.username}@{trunk.host}>"
        headers = Headers()
        headers.add("Via", f"SIP/2.0/{self.transport} {self.via_host};branch={new_branch()};rport")
        headers.add("Max-Forwards", "70")
        headers.add("From", f"{aor};tag={self.from_tag}")
        headers.add("To", aor)
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{self.cseq} REGISTER")
        headers.add("Contact", self.contact)
        headers.add("Expires", str(REQUESTED_EXPIRES))
        headers.add("User-Agent", "Callbox")
        if authorization is not None:
            headers.add(*authorization)
        self.next_at = now + 40.0   # a transaction times out after 32 s; then retry
        return Request("REGISTER", self.uri, headers)

    @property
    def uri(self) -> str:
        port = "" if self.trunk.port == 5060 else f":{self.trunk.port}"
        return f"sip:{self.trunk.host}{port}"

    def on_response(self, response: Response, now: float) -> Request | None:
        """Read an answer to our REGISTER; returns the next REGISTER to send at once, if any."""
        status = response.status
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
            return None
        if status == 423:
            return self._failed(now, "423 Interval Too Brief")
        return self._failed(now, f"{status} {response.reason}")

    def on_timeout(self, now: float) -> None:
        self._failed(now, "no answer from the provider")

    def _failed(self, now: float, why: str) -> None:
        if self.state != FAILED or why != self.last_error:
            logger.warning("trunk %s: registration failed (%s); retrying in %d s",
                           self.trunk.name, why, self.retry)
        self.state = FAILED
        self.last_error = why
        self.auth_tries = 0
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
    """Runs the registrations of every `register = true` trunk on the event loop."""

    def __init__(self, endpoint, registrations: dict[str, tuple[TrunkRegistration, Address]],
                 on_state: Callable[[str, str], None], clock: Callable[[], float] = time.time):
        self.endpoint = endpoint
        self.registrations = registrations
        self.on_state = on_state
        self.clock = clock

    async def run(self) -> None:
        while True:
            now = self.clock()
            for name, (registration, dest) in self.registrations.items():
                if now >= registration.next_at:
                    self._send(registration, registration.request(now), dest)
            await asyncio.sleep(1.0)

    def _send(self, registration: TrunkRegistration, request: Request, dest: Address) -> None:
        self.endpoint.send_request(request, dest, owner=_Owner(self, registration, dest))


class _Owner:
    """Routes the answers of one REGISTER transaction back to its registration."""

    def __init__(self, client: TrunkClient, registration: TrunkRegistration, dest: Address):
        self.client, self.registration, self.dest = client, registration, dest

    def on_sip_response(self, response: Response) -> None:
        if not self._current():
            return
        now = self.client.clock()
        follow_up = self.registration.on_response(response, now)
        if follow_up is not None:
            self.client._send(self.registration, follow_up, self.dest)
        self.client.on_state(self.registration.trunk.name, self.registration.state)

    def on_sip_timeout(self) -> None:
        if not self._current():
            return
        self.registration.on_timeout(self.client.clock())
        self.client.on_state(self.registration.trunk.name, self.registration.state)

    def _current(self) -> bool:
        """False for the late answer of a registration replaced by a config change."""
        kept = self.client.registrations.get(self.registration.trunk.name)
        return kept is not None and kept[0] is self.registration
