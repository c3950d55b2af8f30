"""The box's one config file (TOML), validated into frozen values.

Validation collects every problem as `key: problem` (e.g. `campaign[2].number: not a phone
number`) instead of stopping at the first, so `callbox check-config` can list them all.
Indexes in keys are 1-based, as a person counts the [[campaign]] blocks in the file.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import tomllib
import zoneinfo
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import phonenumbers

from firmware.pbx.hours import WEEKDAYS, parse_day
from firmware.pbx.passwords import sip_password_problem

logger = logging.getLogger(__name__)

EMBEDDED_DEFAULT = """\
# Embedded default: used when there is no callbox.toml. Demo values, loopback only.
[box]
name = "Callbox demo"
timezone = "Europe/Warsaw"
country = "PL"
currency = "PLN"

[sip]
listen = "127.0.0.1:5060"
rtp_ports = "10000-10999"

[web]
listen = "127.0.0.1:8080"

[[extension]]
number = "101"
name = "Reception"
password = "demo-101-change-me"

[[extension]]
number = "102"
name = "Sales"
password = "demo-102-change-me"

[[campaign]]
name = "Shop window"
number = "+48221234567"
source = "Outdoor"
lead_value = 300
ring = ["101", "102"]
"""


class ConfigError(Exception):
    """The config cannot be used; `problems` holds one `key: problem` line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Box:
    name: str = "Callbox"
    timezone: str = "UTC"
    country: str = "PL"
    currency: str = "PLN"


@dataclass(frozen=True)
class Sip:
    listen_host: str = "0.0.0.0"
    listen_port: int = 5060
    rtp_port_min: int = 10000
    rtp_port_max: int = 10999
    public_address: str = ""
    max_call_minutes: int = 240      # an answered call is hung up after this long


@dataclass(frozen=True)
class Web:
    listen_host: str = "0.0.0.0"
    listen_port: int = 8080


@dataclass(frozen=True)
class Trunk:
    name: str
    host: str
    port: int = 5060
    username: str = ""
    password: str = ""
    register: bool = True
    # where the dialled number is looked for, in order (pbx/dialled.py); () = the contract's
    called_number_from: tuple[str, ...] = ()
    # How the box reaches the trunk (firmware/pbx/trunknet.py, docs/config.md "Reaching"):
    transport: str = "udp"             # "udp" or "tcp"
    outbound_proxy: str = ""           # "host:port": every request goes there (Route ;lr)
    keepalive_seconds: int = 25        # NAT keep-alive: OPTIONS (UDP) or CRLF (TCP); 0: off
    failover_seconds: int = 4          # a target silent this long is skipped for the next
    srv: bool = True                   # no `port` written: look up DNS SRV (RFC 3263 4.2)


@dataclass(frozen=True)
class Extension:
    number: str
    name: str = ""
    password: str = ""
    record: bool = False      # record this extension's outbound calls (firmware/recording)


@dataclass(frozen=True)
class Campaign:
    name: str
    number: str               # E.164
    source: str = ""
    lead_value: float = 0.0
    ring: tuple[str, ...] = ()
    cost_per_month: float = 0.0
    after_hours_ring: tuple[str, ...] | None = None      # None: [hours] after_hours_ring
    after_hours_forward: tuple[str, ...] | None = None   # E.164; None: [hours] default
    web_source: str = ""      # the number-swap snippet's rule: "google/cpc" or "facebook.com"
    record: bool = False      # record this campaign's answered calls (firmware/recording)
    voicemail: bool = False   # nobody answers: the box takes a message (docs/voicemail.md)
    voicemail_max_seconds: int = 120


@dataclass(frozen=True)
class Tracking:
    ring_timeout_seconds: int = 30
    target_call_seconds: int = 30
    unique_window_days: int = 30
    answer_within_seconds: int = 10     # /api/summary answered_within: "answered within N s"
    first_time_window_days: int | None = None   # None: unique_window_days; 0: first call ever
    target_unique: bool = True          # False: every answered call long enough is a target
    too_long_factor: float = 3.0        # too long: talked > this x the campaign's average; 0 off


@dataclass(frozen=True)
class Hw:
    callback_led: int | None = None
    status_led: int | None = None
    night_button: int | None = None     # BCM pin of the night-mode button (to ground)
    night_led: int | None = None        # BCM pin of the LED lit in night mode


@dataclass(frozen=True)
class Hours:
    """Opening hours (firmware/pbx/hours.py): per weekday, Monday first, the open minute
    ranges; `week` None when [hours] names no weekday (always open)."""

    week: tuple[tuple[tuple[int, int], ...], ...] | None = None
    after_hours_ring: tuple[str, ...] = ()
    after_hours_forward: tuple[str, ...] = ()     # E.164, dialled through the first trunk


@dataclass(frozen=True)
class Modem:
    """A GSM modem sending an SMS for missed calls (firmware/hw/modem.py)."""

    device: str                          # serial port or pyserial URL: "/dev/ttyUSB2"
    alert_numbers: tuple[str, ...]       # E.164
    pin: str = ""
    batch_minutes: int = 0               # 0: one SMS per missed call


# User-Agents of SIP scanners and crackers (matched case-insensitively, anywhere in the value).
SCANNER_USER_AGENTS = (
    "friendly-scanner", "sipvicious", "sipcli", "sip-scan", "sipscan", "VaxSIPUserAgent",
    "pplsip", "iWar", "sundayddr", "siparmyknife",
)


@dataclass(frozen=True)
class Security:
    """Per-address defences of the SIP port and the toll-fraud guard (docs/config.md)."""

    trusted: tuple[str, ...] = ()            # networks never banned, like "192.168.0.0/16"
    auth_failures: int = 10                  # failed digest answers ...
    auth_window_seconds: int = 600           # ... within this long: ban
    ban_seconds: int = 3600                  # first ban; doubles for each repeat offence
    max_ban_seconds: int = 7 * 86400
    flood_requests: int = 30                 # more than this many messages ...
    flood_window_seconds: int = 2            # ... within this long: a flood
    flood_ban_seconds: int = 60
    scanner_user_agents: tuple[str, ...] = SCANNER_USER_AGENTS
    allowed_prefixes: tuple[str, ...] | None = None   # None: the box's country ("+48")
    max_outbound_calls: int = 4
    trunk_calls_per_minute: int = 120        # new calls a trunk may offer (spoofing guard)


@dataclass(frozen=True)
class Dns:
    """Where the box asks DNS questions (trunk hosts, RFC 3263): docs/config.md, `[dns]`."""

    servers: tuple[tuple[str, int], ...] = ()   # empty: the nameservers of /etc/resolv.conf
    timeout_seconds: int = 2


@dataclass(frozen=True)
class Config:
    box: Box = field(default_factory=Box)
    sip: Sip = field(default_factory=Sip)
    web: Web = field(default_factory=Web)
    trunks: tuple[Trunk, ...] = ()
    extensions: tuple[Extension, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    tracking: Tracking = field(default_factory=Tracking)
    hw: Hw = field(default_factory=Hw)
    source: str = "<embedded default>"   # where it was loaded from, for the log
    hours: Hours = field(default_factory=Hours)
    modem: Modem | None = None
    security: Security = field(default_factory=Security)
    webhooks: tuple["Webhook", ...] = ()
    ga4: "Ga4 | None" = None
    email: "Email | None" = None
    central: "CentralLink | None" = None     # [central]: report to a central panel
    dns: Dns = field(default_factory=lambda: Dns())
    voicemail: "VoicemailSettings" = field(default_factory=lambda: VoicemailSettings())
    recording: "Recording" = field(default_factory=lambda: Recording())

    def extension(self, number: str) -> Extension | None:
        return self._extensions_by_number.get(number)

    @functools.cached_property
    def _extensions_by_number(self) -> dict[str, Extension]:
        """Asked for every digest check (REGISTER, INVITE): one lookup, not a walk of them
        all. The first of a number wins, as the walk had it."""
        return {e.number: e for e in reversed(self.extensions)}

    def campaign_for(self, e164: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.number == e164), None)


# Pure and asked 3-4 times per call (dialled number, campaign, caller): phonenumbers' parse
# costs ~0.1 ms a time. Bounded, so junk numbers from a flood cannot grow it.
@functools.lru_cache(maxsize=4096)
def normalise_number(text: str, country: str) -> str | None:
    """A phone number in E.164 ("+48221234567"), or None when it is not a possible number.

    National formats follow the country: a leading 0 is the trunk prefix in BG, RU, UA, DE
    (phonenumbers drops it). Where it is not one (PL), people still write one out of habit
    ("0501234567" for 501 234 567): when the number is not valid as written but is without
    that 0, the 0 is dropped."""
    try:
        parsed = phonenumbers.parse(text, country or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    digits = text.strip()
    if (country and digits.startswith("0") and not digits.startswith("00")
            and not phonenumbers.is_valid_number(parsed)):
        try:
            trimmed = phonenumbers.parse(digits[1:], country)
        except phonenumbers.NumberParseException:
            trimmed = None
        if trimmed is not None and phonenumbers.is_valid_number(trimmed):
            parsed = trimmed
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class _Checker:
    """Reads a TOML table key by key, noting a problem instead of raising."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{key}: {text}")

    def table(self, data: dict, name: str) -> dict:
        value = data.get(name, {})
        if not isinstance(value, dict):
            self.problem(name, "must be a table")
            return {}
        return value

    def tables(self, data: dict, name: str) -> list[dict]:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(name, f"must be [[{name}]] blocks")
            return []
        return value

    def unknown(self, table: dict, prefix: str, known: set[str]) -> None:
        for key in table:
            if key not in known:
                self.problem(f"{prefix}.{key}", "unknown key")

    def string(self, table: dict, key: str, prefix: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if value is None:
            self.problem(f"{prefix}.{key}", "missing")
            return ""
        if not isinstance(value, str):
            self.problem(f"{prefix}.{key}", "must be a string")
            return default or ""
        return value

    def integer(self, table: dict, key: str, prefix: str, default: int | None,
                low: int, high: int) -> int | None:
        value = table.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{prefix}.{key}", "must be a whole number")
            return default
        if not low <= value <= high:
            self.problem(f"{prefix}.{key}", f"must be between {low} and {high}")
            return default
        return value

    def number(self, table: dict, key: str, prefix: str, default: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            self.problem(f"{prefix}.{key}", "must be a number >= 0")
            return default
        return float(value)

    def boolean(self, table: dict, key: str, prefix: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{prefix}.{key}", "must be true or false")
            return default
        return value

    def address(self, table: dict, key: str, prefix: str, default: str) -> tuple[str, int]:
        text = self.string(table, key, prefix, default)
        host, sep, port = text.rpartition(":")
        host = host.strip("[]")
        try:
            ipaddress.ip_address(host)
            number = int(port)
            if not sep or not 1 <= number <= 65535:
                raise ValueError(text)
        except ValueError:
            self.problem(f"{prefix}.{key}", "must be IP:port, like 0.0.0.0:5060")
            host, _, port = default.rpartition(":")
            return host, int(port)
        return host, number


def parse_config(text: str, source: str = "<string>") -> Config:
    """Validate TOML text into a Config; raises ConfigError listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: not valid TOML: {exc}"]) from None
    check = _Checker()
    check.unknown(data, "config", {"box", "sip", "web", "trunk", "extension", "campaign",
                                   "tracking", "hw", "modem", "hours", "security",
                                   "webhook", "ga4", "email", "central",
                                   "dns", "recording", "voicemail"})
    box = _box(check, check.table(data, "box"))
    sip = _sip(check, check.table(data, "sip"))
    web_table = check.table(data, "web")
    check.unknown(web_table, "web", {"listen"})
    web = Web(*check.address(web_table, "listen", "web", "0.0.0.0:8080"))
    trunks = _trunks(check, check.tables(data, "trunk"))
    extensions = _extensions(check, check.tables(data, "extension"))
    for index, extension in enumerate(extensions, 1):
        # an emergency number always dials out (pbx/routing.py): it cannot be a desk phone
        if extension.number == "112" or (extension.number.isdigit() and box.country and
                                          phonenumbers.is_emergency_number(extension.number,
                                                                           box.country)):
            check.problem(f"extension[{index}].number",
                          f"{extension.number} is an emergency number in {box.country}")
    campaigns = _campaigns(check, check.tables(data, "campaign"), box.country,
                           {e.number for e in extensions})
    tracking = _tracking(check, check.table(data, "tracking"))
    hw_table = check.table(data, "hw")
    check.unknown(hw_table, "hw", {"callback_led", "status_led", "night_button", "night_led"})
    hw = Hw(*(check.integer(hw_table, key, "hw", None, 0, 27)
              for key in ("callback_led", "status_led", "night_button", "night_led")))
    hours = _hours(check, check.table(data, "hours"), box.country,
                   {e.number for e in extensions}, campaigns, bool(trunks))
    modem = _modem(check, check.table(data, "modem"), box.country) if "modem" in data else None
    security = _security(check, check.table(data, "security"), box.country)
    campaigns = _web_sources(check, data, campaigns)
    integrations = _integrations(check, data)
    central = _central_link(check, check.table(data, "central")) if "central" in data else None
    dns = _dns(check, check.table(data, "dns"))
    campaigns = _campaign_voicemail(check, data, campaigns)
    voicemail = _voicemail_settings(check, data)
    extensions, campaigns, recording = _recording(check, data, extensions, campaigns)
    if check.problems:
        raise ConfigError(check.problems)
    return Config(box, sip, web, trunks, extensions, campaigns, tracking, hw, source,
                  security=security, hours=hours, modem=modem, central=central, dns=dns,
                  voicemail=voicemail, recording=recording, **integrations)


def _box(check: _Checker, table: dict[str, Any]) -> Box:
    check.unknown(table, "box", {"name", "timezone", "country", "currency"})
    name = check.string(table, "name", "box", "Callbox")
    timezone = check.string(table, "timezone", "box", "UTC")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        check.problem("box.timezone", f"unknown time zone {timezone!r}")
        timezone = "UTC"
    country = check.string(table, "country", "box", "PL").upper()
    if country not in phonenumbers.SUPPORTED_REGIONS:
        check.problem("box.country", f"unknown country code {country!r} (ISO 3166, like PL)")
    currency = check.string(table, "currency", "box", "PLN").upper()
    if len(currency) != 3 or not currency.isalpha():
        check.problem("box.currency", "must be a 3-letter ISO 4217 code, like PLN")
    return Box(name, timezone, country, currency)


def _sip(check: _Checker, table: dict[str, Any]) -> Sip:
    check.unknown(table, "sip", {"listen", "rtp_ports", "public_address", "max_call_minutes"})
    host, port = check.address(table, "listen", "sip", "0.0.0.0:5060")
    ports = check.string(table, "rtp_ports", "sip", "10000-10999")
    low, _, high = ports.partition("-")
    try:
        rtp_min, rtp_max = int(low), int(high)
        if not (1024 <= rtp_min < rtp_max <= 65535) or rtp_min % 2:
            raise ValueError(ports)
    except ValueError:
        check.problem("sip.rtp_ports", "must be an even LOW-HIGH range within 1024-65535")
        rtp_min, rtp_max = 10000, 10999
    public = check.string(table, "public_address", "sip", "")
    minutes = check.integer(table, "max_call_minutes", "sip", 240, 1, 24 * 60) or 240
    return Sip(host, port, rtp_min, rtp_max, public, minutes)


def _trunks(check: _Checker, tables: list[dict]) -> tuple[Trunk, ...]:
    trunks = []
    for index, table in enumerate(tables, 1):
        key = f"trunk[{index}]"
        check.unknown(table, key, {"name", "host", "port", "username", "password", "register",
                                   "called_number_from", *TRUNK_NETWORK_KEYS})
        name = check.string(table, "name", key, f"trunk{index}")
        host = check.string(table, "host", key)
        port = check.integer(table, "port", key, 5060, 1, 65535) or 5060
        username = check.string(table, "username", key, "")
        password = check.string(table, "password", key, "")
        register = check.boolean(table, "register", key, bool(username))
        if register and not (username and password):
            check.problem(f"{key}.register", "needs username and password")
        if name in {t.name for t in trunks}:
            check.problem(f"{key}.name", f"duplicate trunk name {name!r}")
        trunks.append(Trunk(name, host, port, username, password, register,
                            _called_number_from(check, table, key)))
        trunks[-1] = replace(trunks[-1], **_trunk_network(check, table, key))
    return tuple(trunks)


CALLED_NUMBER_SOURCES = ("request-uri", "to", "p-called-party-id", "diversion", "history-info")


def _called_number_from(check: _Checker, table: dict, key: str) -> tuple[str, ...]:
    value = table.get("called_number_from", [])
    if not isinstance(value, list) or not all(v in CALLED_NUMBER_SOURCES for v in value):
        check.problem(f"{key}.called_number_from",
                      f"must be a list of {', '.join(CALLED_NUMBER_SOURCES)}")
        return ()
    return tuple(value)


TRUNK_NETWORK_KEYS = ("transport", "outbound_proxy", "keepalive_seconds", "failover_seconds")


def _trunk_network(check: _Checker, table: dict, key: str) -> dict[str, Any]:
    """How the box reaches one trunk: transport, outbound proxy, keep-alive, fail-over."""
    from firmware.pbx.locate import parse_host_port

    transport = check.string(table, "transport", key, "udp").lower()
    if transport not in ("udp", "tcp"):
        check.problem(f"{key}.transport", 'must be "udp" or "tcp"')
        transport = "udp"
    proxy = check.string(table, "outbound_proxy", key, "").strip()
    if proxy:
        try:
            parse_host_port(proxy)
        except ValueError:
            check.problem(f"{key}.outbound_proxy", "must be host:port, like proxy.example:5060")
            proxy = ""
    keepalive = check.integer(table, "keepalive_seconds", key, 25, 0, 3600)
    failover = check.integer(table, "failover_seconds", key, 4, 1, 32)
    host = table.get("host")
    if isinstance(host, str) and host and not _host_name_ok(host):
        check.problem(f"{key}.host", "must be an IP address or a DNS name")
    return {"transport": transport, "outbound_proxy": proxy,
            "keepalive_seconds": 25 if keepalive is None else keepalive,
            "failover_seconds": failover or 4, "srv": "port" not in table}


def _host_name_ok(host: str) -> bool:
    """An IP literal or a DNS name (letters, digits, hyphens; labels of 1-63)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(
        0 < len(label) <= 63 and label.isascii()
        and all(ch.isalnum() or ch in "-_" for ch in label) for label in labels)


def _extensions(check: _Checker, tables: list[dict]) -> tuple[Extension, ...]:
    extensions = []
    for index, table in enumerate(tables, 1):
        key = f"extension[{index}]"
        check.unknown(table, key, {"number", "name", "password",
                                   "record"})
        number = str(table.get("number", "")) if isinstance(table.get("number"), int) \
            else check.string(table, "number", key)
        if number and not (number.isdigit() and 2 <= len(number) <= 6):
            check.problem(f"{key}.number", "must be 2 to 6 digits")
        password = check.string(table, "password", key)
        weakness = sip_password_problem(password, number) if "password" in table else None
        if weakness:
            check.problem(f"{key}.password", weakness)
        if number in {e.number for e in extensions}:
            check.problem(f"{key}.number", f"duplicate extension {number}")
        extensions.append(Extension(number, check.string(table, "name", key, ""), password))
    return tuple(extensions)


def _campaigns(check: _Checker, tables: list[dict], country: str,
               extensions: set[str]) -> tuple[Campaign, ...]:
    campaigns = []
    for index, table in enumerate(tables, 1):
        key = f"campaign[{index}]"
        check.unknown(table, key, {"name", "number", "source", "lead_value", "ring",
                                   "cost_per_month", "after_hours_ring", "after_hours_forward",
                                   "web_source", "record", "voicemail",
                                   "voicemail_max_seconds"})
        name = check.string(table, "name", key)
        if name and name in {c.name for c in campaigns}:
            # the reports add calls up by campaign name: two would be counted as one
            check.problem(f"{key}.name", f"duplicate campaign name {name!r}")
        raw = check.string(table, "number", key)
        number = normalise_number(raw, country) if raw else None
        if raw and number is None:
            check.problem(f"{key}.number", "not a phone number")
        elif number in {c.number for c in campaigns}:
            check.problem(f"{key}.number", f"duplicate campaign number {number}")
        ring = table.get("ring", [])
        if not isinstance(ring, list) or not all(isinstance(r, (str, int)) for r in ring):
            check.problem(f"{key}.ring", "must be a list of extension numbers")
            ring = []
        ring = [str(r) for r in ring]
        for ext in ring:
            if ext not in extensions:
                check.problem(f"{key}.ring", f"no extension {ext}")
        campaigns.append(Campaign(
            name, number or "", check.string(table, "source", key, ""),
            check.number(table, "lead_value", key, 0.0), tuple(ring),
            check.number(table, "cost_per_month", key, 0.0),
            _extension_list(check, table, "after_hours_ring", key, extensions),
            _number_list(check, table, "after_hours_forward", key, country)))
    return tuple(campaigns)


def _tracking(check: _Checker, table: dict[str, Any]) -> Tracking:
    check.unknown(table, "tracking", {"ring_timeout_seconds", "target_call_seconds",
                                      "unique_window_days", "answer_within_seconds",
                                      "first_time_window_days", "target_unique",
                                      "too_long_factor"})
    return Tracking(
        check.integer(table, "ring_timeout_seconds", "tracking", 30, 5, 600) or 30,
        check.integer(table, "target_call_seconds", "tracking", 30, 0, 3600) or 0,
        check.integer(table, "unique_window_days", "tracking", 30, 1, 3650) or 30,
        _answer_within(check, table),
        first_time_window_days=check.integer(table, "first_time_window_days", "tracking",
                                             None, 0, 3650),
        target_unique=check.boolean(table, "target_unique", "tracking", True),
        too_long_factor=_too_long_factor(check, table))


def _strings(check: _Checker, table: dict[str, Any], key: str, prefix: str,
             default: tuple[str, ...] | None) -> tuple[str, ...] | None:
    value = table.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        check.problem(f"{prefix}.{key}", "must be a list of non-empty strings")
        return default
    return tuple(value)


def _security(check: _Checker, table: dict[str, Any], country: str) -> Security:
    check.unknown(table, "security", {
        "trusted", "auth_failures", "auth_window_seconds", "ban_seconds", "max_ban_seconds",
        "flood_requests", "flood_window_seconds", "flood_ban_seconds", "scanner_user_agents",
        "allowed_prefixes", "max_outbound_calls", "trunk_calls_per_minute"})
    default = Security()
    trusted = _strings(check, table, "trusted", "security", ()) or ()
    for network in trusted:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            check.problem("security.trusted", f"{network!r} is not an address or network "
                          "(like 192.168.0.0/16)")
    prefixes = _strings(check, table, "allowed_prefixes", "security", None)
    if prefixes is None:
        prefixes = (f"+{phonenumbers.country_code_for_region(country)}",)
    for prefix in prefixes:
        if not (prefix.startswith("+") and prefix[1:].isdigit() and prefix[1:].isascii()
                and len(prefix) <= 16) and prefix != "+":
            check.problem("security.allowed_prefixes", f"{prefix!r} is not a prefix like +48")

    def whole(key: str, low: int, high: int) -> int:
        value = check.integer(table, key, "security", getattr(default, key), low, high)
        return getattr(default, key) if value is None else value

    ban = whole("ban_seconds", 1, 365 * 86400)
    longest = whole("max_ban_seconds", 1, 365 * 86400)
    if longest < ban:
        check.problem("security.max_ban_seconds", "must be at least security.ban_seconds")
    return Security(
        trusted=tuple(trusted),
        auth_failures=whole("auth_failures", 0, 10000),
        auth_window_seconds=whole("auth_window_seconds", 1, 7 * 86400),
        ban_seconds=ban,
        max_ban_seconds=longest,
        flood_requests=whole("flood_requests", 0, 1000000),
        flood_window_seconds=whole("flood_window_seconds", 1, 3600),
        flood_ban_seconds=whole("flood_ban_seconds", 1, 365 * 86400),
        scanner_user_agents=_strings(check, table, "scanner_user_agents", "security",
                                     default.scanner_user_agents) or (),
        allowed_prefixes=prefixes,
        trunk_calls_per_minute=whole("trunk_calls_per_minute", 1, 100000),
        max_outbound_calls=whole("max_outbound_calls", 0, 1000))


def _extension_list(check: _Checker, table: dict[str, Any], key: str, prefix: str,
                    extensions: set[str]) -> tuple[str, ...] | None:
    """A list of configured extensions, or None when the key is absent."""
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        check.problem(f"{prefix}.{key}", "must be a list of extension numbers")
        return ()
    for ext in map(str, value):
        if ext not in extensions:
            check.problem(f"{prefix}.{key}", f"no extension {ext}")
    return tuple(str(v) for v in value)


def _number_list(check: _Checker, table: dict[str, Any], key: str, prefix: str,
                 country: str) -> tuple[str, ...] | None:
    """A list of phone numbers in E.164, or None when the key is absent."""
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        check.problem(f"{prefix}.{key}", "must be a list of phone numbers in quotes")
        return ()
    numbers = []
    for text in value:
        number = normalise_number(text, country)
        if number is None:
            check.problem(f"{prefix}.{key}", f"{text!r} is not a phone number")
        else:
            numbers.append(number)
    return tuple(numbers)


def _hours(check: _Checker, table: dict[str, Any], country: str, extensions: set[str],
           campaigns: tuple[Campaign, ...], has_trunk: bool) -> Hours:
    check.unknown(table, "hours", {*WEEKDAYS, "after_hours_ring", "after_hours_forward"})
    week = None
    if any(day in table for day in WEEKDAYS):
        days = []
        for day in WEEKDAYS:        # a weekday left out is closed all day
            try:
                days.append(parse_day(check.string(table, day, "hours", "")))
            except ValueError as exc:
                check.problem(f"hours.{day}", f"{exc}; like \"08:00-18:00\", \"\" when closed")
                days.append(())
        week = tuple(days)
    ring = _extension_list(check, table, "after_hours_ring", "hours", extensions) or ()
    forward = _number_list(check, table, "after_hours_forward", "hours", country) or ()
    if not has_trunk:
        if forward:
            check.problem("hours.after_hours_forward", "needs a [[trunk]] to forward through")
        for index, campaign in enumerate(campaigns, 1):
            if campaign.after_hours_forward:
                check.problem(f"campaign[{index}].after_hours_forward",
                              "needs a [[trunk]] to forward through")
    return Hours(week, ring, forward)


def _modem(check: _Checker, table: dict[str, Any], country: str) -> Modem:
    check.unknown(table, "modem", {"device", "pin", "alert_numbers", "batch_minutes"})
    device = check.string(table, "device", "modem")
    if "device" in table and not device.strip():
        check.problem("modem.device", "must name the serial port, like /dev/ttyUSB2")
    pin = check.string(table, "pin", "modem", "")
    if pin and not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        check.problem("modem.pin", "must be 4 to 8 digits in quotes, like \"1234\"")
    numbers = _number_list(check, table, "alert_numbers", "modem", country)
    if numbers is None:
        check.problem("modem.alert_numbers", "missing")
    elif table["alert_numbers"] == []:
        check.problem("modem.alert_numbers", "must name at least one phone number")
    batch = check.integer(table, "batch_minutes", "modem", 0, 0, 1440) or 0
    return Modem(device.strip(), numbers or (), pin, batch)


@dataclass(frozen=True)
class CentralLink:
    """[central]: where this box reports its calls (firmware/uplink/, docs/central.md)."""

    url: str                 # https://hq.example:8443 (http:// accepted)
    site: str                # this box's [[site]] name in central.toml
    token: str               # that site's token
    ca_file: str = ""        # a PEM file to trust (a private certificate); "": the system's


def _central_link(check: _Checker, table: dict[str, Any]) -> CentralLink:
    check.unknown(table, "central", {"url", "site", "token", "ca_file"})
    url = check.string(table, "url", "central").strip().rstrip("/")
    if "url" in table and not (url.startswith(("https://", "http://")) and len(url) > 8
                               and " " not in url):
        check.problem("central.url", "must be an http(s) URL, like https://hq.example:8443")
    site = check.string(table, "site", "central").strip()
    if "site" in table and not 1 <= len(site) <= 100:
        check.problem("central.site", "must be 1 to 100 characters")
    token = check.string(table, "token", "central")
    if "token" in table and len(token) < 16:
        check.problem("central.token", "must be at least 16 characters")
    ca_file = check.string(table, "ca_file", "central", "")
    if ca_file and not Path(ca_file).is_file():
        check.problem("central.ca_file", f"no such file: {ca_file}")
    return CentralLink(url, site, token, ca_file)


def load_config(path: Path | None) -> Config:
    """Load `path`, or the embedded default when path is None. Raises ConfigError."""
    if path is None:
        return parse_config(EMBEDDED_DEFAULT, "<embedded default>")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    return parse_config(text, str(path))


# -- integrations (firmware/integrations, docs/webhooks.md) -------------------------------------

WEBHOOK_EVENTS = ("call.ended", "call.missed", "wrapup.saved", "callback.cleared",
                  "contact.changed")
GA4_ENDPOINT = "https://www.google-analytics.com/mp/collect"


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str
    events: tuple[str, ...] = WEBHOOK_EVENTS


@dataclass(frozen=True)
class Ga4:
    measurement_id: str
    api_secret: str
    endpoint: str = GA4_ENDPOINT


@dataclass(frozen=True)
class Email:
    smtp_host: str
    smtp_port: int = 587
    username: str = ""
    password: str = ""
    sender: str = ""                  # the key `from`
    weekly_to: tuple[str, ...] = ()
    ca_file: str = ""                 # trusts a private certificate for STARTTLS
    daily_to: tuple[str, ...] = ()    # the daily digest of callers waiting over a day


def _url(check: _Checker, table: dict[str, Any], key: str, prefix: str,
         default: str | None = None) -> str:
    from firmware.integrations.http_post import url_problem

    url = check.string(table, key, prefix, default)
    problem = url_problem(url) if url else None
    if problem:
        check.problem(f"{prefix}.{key}", problem)
    return url


def _web_sources(check: _Checker, data: dict[str, Any],
                 campaigns: tuple[Campaign, ...]) -> tuple[Campaign, ...]:
    """`[[campaign]] web_source`: "utm_source/utm_medium", "utm_source" or a referrer host."""
    from dataclasses import replace

    tables = data.get("campaign", [])
    if not isinstance(tables, list):
        return campaigns
    out = list(campaigns)
    for index, table in enumerate(tables[:len(out)], 1):
        if not isinstance(table, dict) or "web_source" not in table:
            continue
        key = f"campaign[{index}]"
        rule = check.string(table, "web_source", key, "").strip().lower()
        if rule and (any(c.isspace() or c in "\"'<>&" for c in rule) or rule.count("/") > 1
                     or rule.startswith("/") or len(rule) > 100):
            check.problem(f"{key}.web_source",
                          'must be like "google/cpc", "newsletter" or "facebook.com"')
            rule = ""
        out[index - 1] = replace(out[index - 1], web_source=rule)
    return tuple(out)


def _integrations(check: _Checker, data: dict[str, Any]) -> dict[str, Any]:
    hooks = []
    for index, table in enumerate(check.tables(data, "webhook"), 1):
        key = f"webhook[{index}]"
        check.unknown(table, key, {"url", "secret", "events"})
        url = _url(check, table, "url", key)
        secret = check.string(table, "secret", key)
        if "secret" in table and len(secret) < 16:
            check.problem(f"{key}.secret", "must be at least 16 characters")
        events = _strings(check, table, "events", key, WEBHOOK_EVENTS) or ()
        for event in events:
            if event not in WEBHOOK_EVENTS:
                check.problem(f"{key}.events", f"unknown event {event!r} (one of "
                              + ", ".join(WEBHOOK_EVENTS) + ")")
        if url in {h.url for h in hooks}:
            check.problem(f"{key}.url", "the same URL twice")
        hooks.append(Webhook(url, secret, tuple(dict.fromkeys(events))))
    ga4 = None
    if "ga4" in data:
        table = check.table(data, "ga4")
        check.unknown(table, "ga4", {"measurement_id", "api_secret", "endpoint"})
        measurement = check.string(table, "measurement_id", "ga4")
        if measurement and not (measurement.startswith("G-") and measurement[2:].isalnum()):
            check.problem("ga4.measurement_id", "must be like G-XXXXXXX")
        ga4 = Ga4(measurement, check.string(table, "api_secret", "ga4"),
                  _url(check, table, "endpoint", "ga4", GA4_ENDPOINT))
    email = None
    if "email" in data:
        table = check.table(data, "email")
        check.unknown(table, "email", {"smtp", "username", "password", "from", "weekly_to",
                                       "ca_file", "daily_to"})
        host, _, port = check.string(table, "smtp", "email").rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            check.problem("email.smtp", "must be host:port, like mail.example:587")
            host, port = host or "", "587"
        sender = check.string(table, "from", "email")
        if sender and "@" not in sender:
            check.problem("email.from", "must be an e-mail address")
        weekly = _strings(check, table, "weekly_to", "email", ()) or ()
        daily = _strings(check, table, "daily_to", "email", ()) or ()
        for key, addresses in (("weekly_to", weekly), ("daily_to", daily)):
            for address in addresses:
                if "@" not in address or any(c.isspace() or c in ",;<>" for c in address):
                    check.problem(f"email.{key}", f"{address!r} is not an e-mail address")
        email = Email(host, int(port), check.string(table, "username", "email", ""),
                      check.string(table, "password", "email", ""), sender, tuple(weekly),
                      check.string(table, "ca_file", "email", ""), tuple(daily))
    return {"webhooks": tuple(hooks), "ga4": ga4, "email": email}


def _too_long_factor(check: _Checker, table: dict[str, Any]) -> float:
    """[tracking] too_long_factor: 0 (off) or 1 to 100 times the campaign's average talk."""
    value = check.number(table, "too_long_factor", "tracking", 3.0)
    if value and not 1 <= value <= 100:
        check.problem("tracking.too_long_factor", "must be 0 (off) or from 1 to 100")
        return 3.0
    return value


def _answer_within(check: _Checker, table: dict[str, Any]) -> int:
    """[tracking] answer_within_seconds: 0 (nothing counts as answered in time) to 600."""
    value = check.integer(table, "answer_within_seconds", "tracking", 10, 0, 600)
    return 10 if value is None else value


def _dns(check: _Checker, table: dict[str, Any]) -> Dns:
    from firmware.pbx.locate import parse_server

    check.unknown(table, "dns", {"servers", "timeout_seconds"})
    value = table.get("servers", [])
    servers = []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        check.problem("dns.servers", 'must be a list of "IP" or "IP:port" strings')
        value = []
    for text in value:
        try:
            servers.append(parse_server(text))
        except ValueError:
            check.problem("dns.servers", f"{text!r} is not an IPv4 address or IP:port")
    timeout = check.integer(table, "timeout_seconds", "dns", 2, 1, 30) or 2
    return Dns(tuple(servers), timeout)


# -- voicemail, prompts and the recording notice (docs/voicemail.md) --------------------------
@dataclass(frozen=True)
class VoicemailSettings:
    """`[recording] announce` (the notice before the phones ring) and `[voicemail]`."""

    announce: bool = False            # [recording] announce
    greeting_max_seconds: int = 120   # [voicemail]: an uploaded or dialled greeting, at most


def _campaign_voicemail(check: _Checker, data: dict[str, Any],
                        campaigns: tuple[Campaign, ...]) -> tuple[Campaign, ...]:
    """`[[campaign]] voicemail`, `voicemail_max_seconds` (5 s to 1 h); `record` is _recording's."""
    from dataclasses import replace

    tables = data.get("campaign", [])
    if not isinstance(tables, list):
        return campaigns
    out = list(campaigns)
    for index, table in enumerate(tables[:len(out)], 1):
        if not isinstance(table, dict):
            continue
        key = f"campaign[{index}]"
        seconds = check.integer(table, "voicemail_max_seconds", key, 120, 5, 3600)
        out[index - 1] = replace(out[index - 1],
                                 voicemail=check.boolean(table, "voicemail", key, False),
                                 voicemail_max_seconds=120 if seconds is None else seconds)
    return tuple(out)


def _voicemail_settings(check: _Checker, data: dict[str, Any]) -> VoicemailSettings:
    """`[recording] announce` is read here; the table's other keys belong to recording."""
    recording = check.table(data, "recording")
    table = check.table(data, "voicemail")
    check.unknown(table, "voicemail", {"greeting_max_seconds"})
    seconds = check.integer(table, "greeting_max_seconds", "voicemail", 120, 5, 600)
    return VoicemailSettings(check.boolean(recording, "announce", "recording", False),
                             120 if seconds is None else seconds)
# -- recordings (firmware/recording, docs/recordings.md) ----------------------------------------

@dataclass(frozen=True)
class Recording:
    """[recording]: how long recordings are kept and how much disk they may take."""

    announce: bool = False      # the caller hears the recording notice (the contract's key)
    keep_days: int = 90
    max_disk_mb: int = 2000


def _recording(check: _Checker, data: dict[str, Any], extensions: tuple[Extension, ...],
               campaigns: tuple[Campaign, ...]):
    """`[recording]`, and `record = true` on [[extension]] and [[campaign]] blocks."""
    table = check.table(data, "recording")
    check.unknown(table, "recording", {"announce", "keep_days", "max_disk_mb"})
    recording = Recording(
        check.boolean(table, "announce", "recording", False),
        check.integer(table, "keep_days", "recording", 90, 1, 36500) or 90,
        check.integer(table, "max_disk_mb", "recording", 2000, 10, 10_000_000) or 2000)
    out = []
    for name, blocks, values in (("extension", data.get("extension"), extensions),
                                 ("campaign", data.get("campaign"), campaigns)):
        blocks = blocks if isinstance(blocks, list) else []
        values = list(values)
        for index, block in enumerate(blocks[:len(values)], 1):
            if isinstance(block, dict) and "record" in block:
                values[index - 1] = replace(values[index - 1], record=check.boolean(
                    block, "record", f"{name}[{index}]", False))
        out.append(tuple(values))
    return out[0], out[1], recording
