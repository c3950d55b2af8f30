"""Whose name is in the Host header: a guard for first-run setup against DNS rebinding.

Why: a fresh box has no owner, and /setup creates one for whoever comes first. A web page on
the internet can make a LAN browser reach the box under the page's own name (DNS rebinding:
attacker.example first resolves to the attacker, then to the box's LAN address), and its
script would then claim the box. Such requests carry the attacker's name in Host. So setup
answers only when Host is an IP literal (a browser sends one only when the user typed the
address, and no DNS was asked) or a name of the box itself: its host name, that name
under .local (mDNS), or localhost. Pure, apart from reading the host name once.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache
from typing import Iterable


@lru_cache(maxsize=1)
def box_names() -> frozenset[str]:
    """The names the box answers to on its own: host name, host name.local, localhost."""
    host = socket.gethostname().lower().rstrip(".")
    short = host.split(".")[0]
    return frozenset(n for n in {"localhost", host, short, f"{short}.local"} if n)


def split_host(header: str) -> str | None:
    """The host part of a Host header value (no port, no brackets), or None if malformed."""
    header = header.strip()
    if not header or any(c in header for c in "/@\\ \t\r\n"):
        return None
    if header.startswith("["):                      # "[v6]" or "[v6]:port"
        host, _, rest = header[1:].partition("]")
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return None
        return host
    if header.count(":") > 1:                       # a bare v6 address is not a Host value
        return None
    host, colon, port = header.partition(":")
    if colon and not port.isdigit():
        return None
    return host


def is_box_host(header: str | None, names: Iterable[str] | None = None) -> bool:
    """Whether a Host header names the box: an IP literal, or one of `names` (box_names())."""
    host = split_host(header or "")
    if host is None:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    known = box_names() if names is None else frozenset(n.lower() for n in names)
    return host.lower().rstrip(".") in known
