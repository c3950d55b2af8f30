"""Locating a SIP server (RFC 3263) as pure decisions: which names to ask, in what order to
try the answers, and where the box's nameservers are.

The look-ups themselves are firmware/pbx/dnsclient.py; the running state per trunk
(current target, fail-over, re-resolution) is firmware/pbx/trunknet.py.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from typing import Sequence

from firmware.pbx.dnswire import Srv

DNS_PORT = 53


@dataclass(frozen=True)
class Target:
    """One address to send a trunk's requests to, and the name it was found under."""

    host: str           # an IPv4 address
    port: int
    transport: str      # "UDP" or "TCP"
    name: str = ""      # the SRV target or host name it came from (for the log)

    def __str__(self) -> str:
        found = f" ({self.name})" if self.name and self.name != self.host else ""
        return f"{self.transport.lower()}:{self.host}:{self.port}{found}"


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def srv_name(host: str, transport: str) -> str:
    """The SRV name of SIP over `transport` at `host` (RFC 3263 4.2): `_sip._udp.<host>`."""
    return f"_sip._{transport.lower()}.{host.rstrip('.')}"


def order_srv(records: Sequence[Srv], rng: random.Random) -> list[Srv]:
    """Records in the order to try them (RFC 2782): lowest priority first; within one
    priority a weighted random draw, zero weights only when nothing heavier is left.

    A lone target "." means the service is explicitly not offered: that gives [].
    """
    usable = [r for r in records if r.target not in ("", ".")]
    ordered: list[Srv] = []
    for priority in sorted({r.priority for r in usable}):
        group = [r for r in usable if r.priority == priority]
        group.sort(key=lambda r: r.weight != 0)        # RFC 2782: zero weights first
        while group:
            total = sum(r.weight for r in group)
            pick = rng.randint(0, total) if total else 0
            running = 0
            for index, record in enumerate(group):
                running += record.weight
                if running >= pick:
                    ordered.append(group.pop(index))
                    break
    return ordered


def parse_resolv_conf(text: str) -> list[tuple[str, int]]:
    """The `nameserver` lines of /etc/resolv.conf (IPv4 only, as the box's DNS client is)."""
    servers = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver":
            try:
                address = ipaddress.ip_address(words[1])
            except ValueError:
                continue
            if address.version == 4:
                servers.append((str(address), DNS_PORT))
    return servers


def parse_server(text: str) -> tuple[str, int]:
    """"IP" or "IP:port" of a nameserver; raises ValueError for anything else."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, str(DNS_PORT)
    address = ipaddress.IPv4Address(host)
    number = int(port)
    if not 1 <= number <= 65535:
        raise ValueError(text)
    return str(address), number


def parse_host_port(text: str, default_port: int = 5060) -> tuple[str, int]:
    """"host:port" or "host" (an outbound proxy); raises ValueError when malformed."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = text.strip(), str(default_port)
    host = host.strip("[]")
    if not host or any(ch in host for ch in " /@;<>\"") or not port.isdigit():
        raise ValueError(text)
    number = int(port)
    if not 1 <= number <= 65535:
        raise ValueError(text)
    return host, number
