"""Per-address defences of the SIP port: bans for password guessing, floods and scanners.

Why it looks like this:
- A box on the internet is scanned within hours. Three signs get an address banned:
  `auth_failures` failed digest answers within `auth_window_seconds` (fail2ban's asterisk
  jail), more than `flood_requests` requests within `flood_window_seconds` (Kamailio's pike),
  and a User-Agent naming a known scanner (friendly-scanner, sipvicious, ...).
- A scanner User-Agent alone drops that one request; it bans only after SCANNER_STRIKES such
  requests within `auth_window_seconds`, and never an address that passed a digest check in
  the last RECENT_AUTH_SECONDS: one datagram spoofed from a desk phone's address (UDP source
  addresses are free to forge) must not lock that phone out for an hour.
- Only requests (and keep-alives) count toward a flood, as in pike: a desk phone answering a
  burst of calls sends many responses, and a response matching no transaction of ours is
  dropped after parsing anyway.
- A repeat offender's ban doubles each time (fail2ban's recidive idea), up to
  `max_ban_seconds`; an address is a repeat offender while its last ban ended less than
  `max_ban_seconds` ago.
- Trusted addresses (trunks, the office LAN) are never counted and never banned: an office
  behind one NAT address can be busy, and a trunk must never be locked out.
- Banned traffic must cost next to nothing: `allow` starts with one dict lookup on the
  source host, before the datagram is parsed. The scanner check is one bytes regex.
- Pure: `now` is always passed in; no clock, no sockets. `BanFile` (below) keeps the bans
  across restarts (data/bans.json, replaced atomically).
- Every table is bounded (MAX_TRACKED, MAX_BANS), so spoofed source addresses cannot make
  the box run out of memory; under such pressure counters are forgotten, never bans.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Protocol

from firmware.atomic import atomic_write
from firmware.config import Security

logger = logging.getLogger(__name__)

MAX_TRACKED = 4096      # addresses with live counters (flood, failed auth)
MAX_BANS = 10000        # addresses banned at once; beyond this scanners are still dropped
MAX_OFFENDERS = 10000   # addresses remembered as earlier offenders
SCANNER_STRIKES = 3     # scanner-UA requests within auth_window_seconds before a ban
RECENT_AUTH_SECONDS = 3600.0    # an address that authenticated this recently is no scanner

AUTH, FLOOD, SCANNER = "auth", "flood", "scanner"


class Source(Protocol):
    """What the defence needs of a message's source (pbx/transport.py Address)."""

    host: str


@dataclass(frozen=True)
class Ban:
    """One banned address: dropped until `until` (wall-clock seconds)."""

    address: str
    until: float
    reason: str          # AUTH / FLOOD / SCANNER
    since: float = 0.0


def scanner_pattern(names: Iterable[str]) -> re.Pattern[bytes] | None:
    """A regex finding any of these scanner names in a lower-cased line, or None if none."""
    names = sorted({n.lower().encode("utf-8", "replace") for n in names if n})
    if not names:
        return None
    return re.compile(b"|".join(re.escape(n) for n in names))


def is_scanner(data: bytes, pattern: re.Pattern[bytes]) -> bool:
    """Does the User-Agent header of this raw message match `pattern` (see scanner_pattern)?

    Looks at the first 4 KB, unparsed: a few C-level passes (lower, find) and a regex over
    one line only; with the flood count, `allow` costs ordinary traffic ~2.5 us a message.
    """
    head = data[:4096].lower()
    start = head.find(b"\nuser-agent")
    if start < 0:
        return False
    end = head.find(b"\n", start + 11)
    return pattern.search(head, start + 11, end if end >= 0 else len(head)) is not None


class Defence:
    """Decides, per message source, whether the SIP endpoint should look at a message.

    The endpoint calls `allow(source, now, data)` first thing for every datagram; the
    registrar and the B2BUA call `on_auth_failure(source, now)` when they answer 403 to
    credentials. `changed` is set whenever the list of bans changes (the owner saves it).
    """

    def __init__(self, settings: Security, *, trusted_hosts: Iterable[str] = ()) -> None:
        self._trusted_hosts = frozenset(trusted_hosts)
        self._trusted_cache: dict[str, bool] = {}
        self._bans: dict[str, Ban] = {}
        self._offences: dict[str, tuple[int, float]] = {}   # host -> (bans so far, last until)
        self._recent: dict[str, deque[float]] = {}          # host -> times of latest requests
        self._failures: dict[str, deque[float]] = {}        # host -> times of latest failures
        self._strikes: dict[str, deque[float]] = {}         # host -> times of scanner requests
        self._authenticated: dict[str, float] = {}          # host -> last successful digest
        self.changed = False
        self.reconfigure(settings)

    def trust_hosts(self, hosts: Iterable[str]) -> None:
        """The trunks' addresses (after a trunk was changed in the panel)."""
        self._trusted_hosts = frozenset(hosts)
        self._trusted_cache.clear()
        self._lift_trusted()

    def reconfigure(self, settings: Security) -> None:
        """New thresholds (a config saved in the panel): bans in force stay, except those of
        addresses now trusted (adding an address to `trusted` lifts its ban); counts restart."""
        self.settings = settings
        self._networks = tuple(ipaddress.ip_network(n, strict=False) for n in settings.trusted)
        self._trusted_cache.clear()
        self._scanner = scanner_pattern(settings.scanner_user_agents)
        self._recent.clear()
        self._failures.clear()
        self._strikes.clear()
        self._lift_trusted()

    def _lift_trusted(self) -> None:
        """Trusted addresses are never banned: lift the bans of those trusted now."""
        for ban in [b for b in list(self._bans.values()) if self.is_trusted(b.address)]:
            self._lift(ban)

    # -- the hot path -------------------------------------------------------------------
    def allow(self, source: Source, now: float, data: bytes = b"") -> bool:
        """False when a message from `source` must be dropped unread (and unanswered)."""
        host = source.host
        ban = self._bans.get(host)
        if ban is not None:
            if now < ban.until:
                return False
            self._lift(ban)
        trusted = self._trusted_cache.get(host)
        if trusted is None:
            trusted = self._check_trusted(host)
        if trusted:
            return True
        limit = self.settings.flood_requests
        if limit and data[:4] != b"SIP/":   # requests count, as in pike; answers do not
            times = self._recent.get(host)
            if times is None:
                times = self._recent[host] = deque(maxlen=limit + 1)
                if len(self._recent) > MAX_TRACKED:
                    _prune(self._recent, now - self.settings.flood_window_seconds)
            times.append(now)
            if len(times) > limit and now - times[0] < self.settings.flood_window_seconds:
                self._ban(host, now, FLOOD, f"more than {limit} messages in "
                          f"{self.settings.flood_window_seconds:g} s")
                return False
        if self._scanner is not None and data and is_scanner(data, self._scanner):
            self._on_scanner(host, now)
            return False
        return True

    def _on_scanner(self, host: str, now: float) -> None:
        """A scanner User-Agent: the request is dropped; a strike, and a ban at the third."""
        last_auth = self._authenticated.get(host)
        if last_auth is not None and now - last_auth <= RECENT_AUTH_SECONDS:
            return
        times = self._strikes.get(host)
        if times is None:
            times = self._strikes[host] = deque(maxlen=SCANNER_STRIKES)
            if len(self._strikes) > MAX_TRACKED:
                _prune(self._strikes, now - self.settings.auth_window_seconds)
        times.append(now)
        if len(times) >= SCANNER_STRIKES and \
                now - times[0] <= self.settings.auth_window_seconds:
            self._ban(host, now, SCANNER, f"{SCANNER_STRIKES} requests with a scanner "
                      "User-Agent")

    # -- reports from the registrar and the B2BUA ---------------------------------------
    def on_auth_failure(self, source: Source, now: float) -> None:
        """A digest answer from `source` was wrong (or named nobody): count it."""
        limit = self.settings.auth_failures
        host = source.host
        if not limit or self.is_trusted(host) or self.is_banned(host, now):
            return
        times = self._failures.get(host)
        if times is None:
            times = self._failures[host] = deque(maxlen=limit)
            if len(self._failures) > MAX_TRACKED:
                _prune(self._failures, now - self.settings.auth_window_seconds)
        times.append(now)
        if len(times) >= limit and now - times[0] <= self.settings.auth_window_seconds:
            times.clear()
            self._ban(host, now, AUTH, f"{limit} failed digest answers in "
                      f"{self.settings.auth_window_seconds:g} s")

    def on_auth_success(self, source: Source, now: float) -> None:
        """A digest answer from `source` was right: a phone lives there (see _on_scanner)."""
        host = source.host
        self._authenticated.pop(host, None)
        self._authenticated[host] = now
        if len(self._authenticated) > MAX_TRACKED:
            del self._authenticated[next(iter(self._authenticated))]
        self._strikes.pop(host, None)

    # -- questions ------------------------------------------------------------------------
    def is_trusted(self, host: str) -> bool:
        trusted = self._trusted_cache.get(host)
        return self._check_trusted(host) if trusted is None else trusted

    def is_banned(self, host: str, now: float) -> bool:
        ban = self._bans.get(host)
        return ban is not None and now < ban.until

    def bans(self, now: float) -> list[Ban]:
        """The bans in force at `now`, soonest to end first."""
        return sorted((b for b in list(self._bans.values()) if now < b.until),
                      key=lambda b: (b.until, b.address))

    # -- bans -----------------------------------------------------------------------------
    def _ban(self, host: str, now: float, reason: str, why: str) -> None:
        if len(self._bans) >= MAX_BANS:
            self.expire(now)
            if len(self._bans) >= MAX_BANS:
                logger.warning("defence: ban table full; not banning %s (%s)", host, why)
                return
        count, last_until = self._offences.get(host, (0, 0.0))
        if now - last_until > self.settings.max_ban_seconds:
            count = 0
        base = self.settings.flood_ban_seconds if reason == FLOOD else self.settings.ban_seconds
        seconds = min(base * 2 ** min(count, 32), max(base, self.settings.max_ban_seconds))
        ban = Ban(host, now + seconds, reason, now)
        self._bans[host] = ban
        self._offences.pop(host, None)
        self._offences[host] = (count + 1, ban.until)
        if len(self._offences) > MAX_OFFENDERS:
            del self._offences[next(iter(self._offences))]
        self._recent.pop(host, None)
        self._failures.pop(host, None)
        self._strikes.pop(host, None)
        self.changed = True
        repeat = f", offence {count + 1}" if count else ""
        logger.warning("defence: banned %s for %d s (%s: %s%s)", host, seconds, reason, why,
                       repeat)

    def _lift(self, ban: Ban) -> None:
        if self._bans.get(ban.address) is ban:
            del self._bans[ban.address]
            self.changed = True
            logger.info("defence: ban of %s ended", ban.address)

    def expire(self, now: float) -> None:
        """Forget bans that have ended and offenders no longer remembered."""
        for ban in [b for b in list(self._bans.values()) if now >= b.until]:
            self._lift(ban)
        forget = now - self.settings.max_ban_seconds
        for host in [h for h, (_, until) in self._offences.items() if until < forget]:
            del self._offences[host]

    def _check_trusted(self, host: str) -> bool:
        trusted = host in self._trusted_hosts
        if not trusted and self._networks:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                address = None
            trusted = address is not None and any(address in n for n in self._networks)
        if len(self._trusted_cache) >= MAX_TRACKED:
            self._trusted_cache.clear()
        self._trusted_cache[host] = trusted
        return trusted

    # -- persistence (values only: BanFile does the file) ---------------------------------
    def dump(self, now: float) -> dict:
        """The bans in force and the remembered offenders, as JSON-ready values."""
        forget = now - self.settings.max_ban_seconds
        return {"bans": [asdict(b) for b in self.bans(now)],
                "offences": {h: {"count": c, "until": u} for h, (c, u) in self._offences.items()
                             if u >= forget}}

    def restore(self, data: dict, now: float) -> int:
        """Take back what `dump` gave (trusted addresses are skipped); the number of bans.

        Raises ValueError, TypeError, KeyError or AttributeError for data that is not a
        dump, and then changes nothing.
        """
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        offences = {str(host): (int(value["count"]), float(value["until"]))
                    for host, value in data.get("offences", {}).items()}
        bans = [Ban(str(item["address"]), float(item["until"]), str(item["reason"]),
                    float(item.get("since", 0.0))) for item in data.get("bans", [])]
        self._offences.update(list(offences.items())[-MAX_OFFENDERS:])
        for ban in bans:
            if now < ban.until and not self.is_trusted(ban.address) and \
                    len(self._bans) < MAX_BANS:
                self._bans[ban.address] = ban
        self.changed = False
        return len(self._bans)


def _prune(table: dict[str, deque[float]], older_than: float) -> None:
    """Drop counters whose latest entry is older than `older_than`; then the oldest half."""
    for host in [h for h, times in table.items() if not times or times[-1] < older_than]:
        del table[host]
    if len(table) > MAX_TRACKED // 2:
        for host in list(table)[:len(table) - MAX_TRACKED // 2]:
            del table[host]


class BanFile:
    """bans.json in the data folder, replaced atomically (firmware/atomic.py)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, defence: Defence, now: float) -> None:
        """Restore `defence` from the file; a damaged file is set aside and logged."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            count = defence.restore(data, now)
        except FileNotFoundError:
            return
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            aside = self.path.with_suffix(".corrupt")
            logger.error("defence: %s is unreadable (%s); moved to %s, starting without bans",
                         self.path, exc, aside.name)
            os.replace(self.path, aside)
            return
        if count:
            logger.info("defence: %d ban(s) restored from %s", count, self.path)

    def write(self, defence: Defence, now: float) -> None:
        atomic_write(self.path, json.dumps(defence.dump(now), separators=(",", ":")).encode())
        defence.changed = False
