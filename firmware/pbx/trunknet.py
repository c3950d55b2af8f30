"""Where each trunk's requests go, kept up to date on the event loop (RFC 3263).

State: per trunk, the ordered targets (SRV by priority and weight, then the A records of
each; or the A records of the host; or the IP literal as written; or the outbound proxy's
addresses), which one is in use, and when to look again (the answers' TTL; after a failed
look-up a doubling back-off). A failed look-up keeps the targets found before, if any.

The call path asks one question, `TrunkNetwork.route(name) -> TrunkRoute | None` (or
`next_hop(name) -> (Address, routes)`, the shape the B2BUA takes), and tells one thing back,
`report_failure(name, dest, why)`, which moves that trunk on to its next target
(fail-over). `trunk_hosts` (address -> trunk name) is one dict, updated in place as look-ups
change it, so whoever holds it (the B2BUA, the defences) follows the addresses.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from firmware.config import Trunk
from firmware.pbx.dnsclient import MAX_CACHE_SECONDS, MIN_CACHE_SECONDS, DnsClient, DnsError
from firmware.pbx.dnswire import TYPE_SRV
from firmware.pbx.locate import Target, is_ip_literal, order_srv, parse_host_port, srv_name
from firmware.pbx.transport import Address

logger = logging.getLogger(__name__)

RESOLVING, RESOLVED, DNS_FAILED = "resolving", "resolved", "dns-failed"
RETRY_FIRST, RETRY_MAX = 5.0, 300.0     # seconds between look-ups after a failed one


@dataclass(frozen=True)
class TrunkRoute:
    """Where to send a request to a trunk: the next hop, the Route headers to pre-load
    (the outbound proxy's, with ;lr) and the transport ("UDP" or "TCP")."""

    dest: Address
    route: tuple[str, ...]
    transport: str


class _Entry:
    """One trunk's targets and look-up schedule."""

    def __init__(self, trunk: Trunk) -> None:
        self.trunk = trunk
        self.targets: list[Target] = []
        self.index = 0
        self.state = RESOLVING
        self.error = ""
        self.refresh_at = 0.0
        self.retry = RETRY_FIRST
        self.busy = False

    @property
    def current(self) -> Target | None:
        return self.targets[self.index % len(self.targets)] if self.targets else None


class TrunkNetwork:
    """Resolves every trunk's host; answers `route()` from what it last found."""

    def __init__(self, trunks: Iterable[Trunk], dns: DnsClient, *,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None,
                 on_change: Callable[[dict[str, str]], None] | None = None) -> None:
        self.dns = dns
        self.clock = clock
        self.rng = rng or random.Random()
        self.on_change = on_change
        self.trunk_hosts: dict[str, str] = {}
        self._entries: dict[str, _Entry] = {}
        self.set_trunks(trunks)

    # -- what the call path asks ------------------------------------------------------------
    def route(self, name: str) -> TrunkRoute | None:
        """Where the next request to trunk `name` goes; None while no address is known
        (the caller answers 503 or waits: the look-up is retried with back-off)."""
        entry = self._entries.get(name)
        target = entry.current if entry is not None else None
        if target is None:
            return None
        trunk = entry.trunk
        route: tuple[str, ...] = ()
        if trunk.outbound_proxy:
            host, port = parse_host_port(trunk.outbound_proxy)
            suffix = ";transport=tcp" if target.transport == "TCP" else ""
            route = (f"<sip:{host}:{port};lr{suffix}>",)
        return TrunkRoute(Address(target.host, target.port, target.transport), route,
                          target.transport)

    def next_hop(self, name: str) -> tuple[Address, tuple[str, ...]]:
        """`route()` in the shape B2BUA(trunk_route=...) takes: (destination, Route values).
        With no address known yet, the destination names the unresolved host: the transport
        drops what is sent there (one log line) and the transaction times out, as for a
        dead trunk, instead of the event loop blocking on a name look-up."""
        route = self.route(name)
        if route is not None:
            return route.dest, route.route
        entry = self._entries.get(name)
        trunk = entry.trunk if entry is not None else None
        if trunk is None:
            return Address(name, 5060, "UDP"), ()
        return Address(trunk.host, trunk.port, trunk.transport.upper()), ()

    def has_alternative(self, name: str) -> bool:
        """Whether a target not tried yet follows the one in use (worth failing over to
        before the request's own timeout)."""
        entry = self._entries.get(name)
        return entry is not None and entry.index + 1 < len(entry.targets)

    def report_failure(self, name: str, dest: Address, why: str) -> bool:
        """`dest` did not answer (timeout, transport error, 503): use the next target.
        True when an untried target is left; False when all were tried (start over)."""
        entry = self._entries.get(name)
        target = entry.current if entry is not None else None
        if target is None or (target.host, target.port) != (dest.host, dest.port):
            return False        # an old target, already moved on from
        entry.index += 1
        if entry.index < len(entry.targets):
            logger.warning("trunk %s: %s failed (%s); trying %s", name, target, why,
                           entry.current)
            return True
        entry.index = 0
        if len(entry.targets) > 1:
            logger.warning("trunk %s: %s failed (%s); every target tried, starting over",
                           name, target, why)
        entry.refresh_at = min(entry.refresh_at, self.clock())   # look again: DNS may know better
        return False

    def trunk_for(self, host: str) -> str | None:
        return self.trunk_hosts.get(host)

    def state(self, name: str) -> str:
        entry = self._entries.get(name)
        return entry.state if entry is not None else DNS_FAILED

    def describe(self) -> dict[str, dict[str, str]]:
        """For /healthz: each trunk's look-up state, target in use and last error."""
        return {name: {"state": entry.state, "target": str(entry.current or ""),
                       "error": entry.error}
                for name, entry in self._entries.items()}

    # -- keeping it up to date -------------------------------------------------------------
    def set_trunks(self, trunks: Iterable[Trunk]) -> None:
        """Take up a (new) config: unchanged trunks keep their targets; IP literals are
        known at once, names are looked up by `run()`."""
        before = self._entries
        self._entries = {}
        for trunk in trunks:
            kept = before.get(trunk.name)
            if kept is not None and kept.trunk == trunk:
                self._entries[trunk.name] = kept
                continue
            entry = self._entries[trunk.name] = _Entry(trunk)
            literal = _literal_targets(trunk)
            if literal:
                entry.targets, entry.state, entry.refresh_at = literal, RESOLVED, math.inf
        self._publish()

    async def run(self) -> None:
        """Look up whatever is due, for ever (every second; each look-up in its own task so a
        slow nameserver holds up no other trunk)."""
        while True:
            self.refresh_due()
            await asyncio.sleep(1.0)

    def refresh_due(self) -> list[asyncio.Task]:
        now = self.clock()
        return [asyncio.create_task(self.refresh(name))
                for name, entry in self._entries.items()
                if not entry.busy and now >= entry.refresh_at]

    async def refresh(self, name: str) -> None:
        """Look trunk `name` up now."""
        entry = self._entries.get(name)
        if entry is None or entry.busy:
            return
        entry.busy = True
        try:
            targets, ttl = await self._locate(entry.trunk)
            if not targets:
                raise DnsError(f"no address for {entry.trunk.host}")
        except DnsError as exc:
            self._lookup_failed(entry, str(exc))
        else:
            self._found(entry, targets, ttl)
        finally:
            entry.busy = False
        if self._entries.get(name) is entry:
            self._publish()

    def _found(self, entry: _Entry, targets: list[Target], ttl: float) -> None:
        trunk = entry.trunk
        if set(targets) == set(entry.targets):
            pass        # the same targets (a weighted draw may order them anew): keep going
        elif targets != entry.targets:
            logger.info("trunk %s: %s -> %s", trunk.name, trunk.outbound_proxy or trunk.host,
                        ", ".join(map(str, targets)))
            entry.targets, entry.index = targets, 0
        elif entry.state != RESOLVED:
            logger.info("trunk %s: %s found again", trunk.name, trunk.host)
        entry.state, entry.error, entry.retry = RESOLVED, "", RETRY_FIRST
        entry.refresh_at = self.clock() + min(max(ttl, MIN_CACHE_SECONDS), MAX_CACHE_SECONDS)

    def _lookup_failed(self, entry: _Entry, why: str) -> None:
        trunk = entry.trunk
        kept = "; keeping " + str(entry.current) if entry.targets else ""
        logger.warning("trunk %s: DNS look-up of %s failed (%s)%s; retrying in %d s",
                       trunk.name, trunk.outbound_proxy or trunk.host, why, kept, entry.retry)
        entry.error = why
        if not entry.targets:
            entry.state = DNS_FAILED
        entry.refresh_at = self.clock() + entry.retry
        entry.retry = min(entry.retry * 2, RETRY_MAX)

    async def _locate(self, trunk: Trunk) -> tuple[list[Target], float]:
        """The targets of one trunk in the order to try them, and how long they hold."""
        transport = trunk.transport.upper()
        if trunk.outbound_proxy:
            host, port = parse_host_port(trunk.outbound_proxy)
            return await self._addresses(host, port, transport)
        if is_ip_literal(trunk.host) or not trunk.srv:
            return await self._addresses(trunk.host, trunk.port, transport)
        name = srv_name(trunk.host, transport)
        answer = await self.dns.lookup(name, TYPE_SRV)
        records = answer.srv(name)
        if not records:     # no SRV: the host's own A records on the default port (4.2)
            return await self._addresses(trunk.host, trunk.port, transport)
        ttl = min(record_ttl for _, record_ttl in records)
        targets: list[Target] = []
        problems = []
        for srv in order_srv([record for record, _ in records], self.rng):
            extra = answer.addresses(srv.target)    # the additional section saves a question
            try:
                if extra:
                    found = [Target(ip, srv.port, transport, srv.target) for ip, _ in extra]
                    a_ttl = float(min(a for _, a in extra))
                else:
                    found, a_ttl = await self._addresses(srv.target, srv.port, transport)
            except DnsError as exc:
                problems.append(f"{srv.target}: {exc}")
                continue
            targets += [t for t in found if t not in targets]
            ttl = min(ttl, a_ttl)
        if problems:
            logger.warning("trunk %s: SRV targets without an address: %s", trunk.name,
                           "; ".join(problems))
        if not targets:
            raise DnsError(f"no SRV target of {name} has an address"
                           + (f" ({'; '.join(problems)})" if problems else ""))
        return targets, ttl

    async def _addresses(self, host: str, port: int, transport: str
                         ) -> tuple[list[Target], float]:
        if is_ip_literal(host):
            return [Target(host.strip("[]"), port, transport)], math.inf
        found = await self.dns.addresses(host)
        if not found:
            raise DnsError(f"{host} has no A record")
        return ([Target(ip, port, transport, host) for ip, _ in found],
                float(min(ttl for _, ttl in found)))

    def _publish(self) -> None:
        hosts: dict[str, str] = {}
        for name, entry in self._entries.items():
            for target in entry.targets:
                hosts.setdefault(target.host, name)
            if is_ip_literal(entry.trunk.host):
                hosts.setdefault(entry.trunk.host.strip("[]"), name)
        if hosts != self.trunk_hosts:
            self.trunk_hosts.clear()
            self.trunk_hosts.update(hosts)
            if self.on_change is not None:
                self.on_change(self.trunk_hosts)


def _literal_targets(trunk: Trunk) -> list[Target]:
    """The targets known without DNS (an IP literal host or proxy), else []."""
    transport = trunk.transport.upper()
    if trunk.outbound_proxy:
        host, port = parse_host_port(trunk.outbound_proxy)
        return [Target(host, port, transport)] if is_ip_literal(host) else []
    if is_ip_literal(trunk.host):
        return [Target(trunk.host.strip("[]"), trunk.port, transport)]
    return []
