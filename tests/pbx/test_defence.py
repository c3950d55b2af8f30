"""Per-address defences (pbx/defence.py) with explicit `now` values: no clock, no sockets."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from firmware.config import ConfigError, Security, parse_config
from firmware.pbx import defence as defence_module
from firmware.pbx.bindings import Bindings
from firmware.pbx.defence import AUTH, FLOOD, SCANNER, BanFile, Defence
from firmware.pbx.endpoint import SipEndpoint
from firmware.pbx.registrar import Registrar
from firmware.pbx.sip.digest import DigestServer, answer_challenge
from firmware.pbx.sip.message import parse_message
from firmware.pbx.transport import Address

T0 = 1_700_000_000.0
ATTACKER = Address("203.0.113.66", 5060)
PHONE = Address("198.51.100.11", 5060)
OPTIONS = (b"OPTIONS sip:192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.66;branch=z9hG4bK1\r\n"
           b"From: <sip:a@b>;tag=1\r\nTo: <sip:192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n"
           b"User-Agent: Grandstream GXP1625\r\nContent-Length: 0\r\n\r\n")
SCANNER_OPTIONS = OPTIONS.replace(b"Grandstream GXP1625", b"friendly-scanner")


def make(**settings) -> Defence:
    trusted_hosts = settings.pop("trusted_hosts", ())
    return Defence(replace(Security(), **settings), trusted_hosts=trusted_hosts)


def scan(defence: Defence, source: Address, now: float, times: int = 3) -> list[bool]:
    """Three scanner-UA requests (SCANNER_STRIKES): what a real scanner sends at once."""
    return [defence.allow(source, now, SCANNER_OPTIONS) for _ in range(times)]


def flood(defence: Defence, source: Address, count: int, start: float, step: float) -> list[bool]:
    return [defence.allow(source, start + i * step, OPTIONS) for i in range(count)]


# -- floods (Kamailio pike) ------------------------------------------------------------------
def test_thirty_messages_in_two_seconds_pass_the_thirty_first_is_a_flood(caplog):
    defence = make()
    caplog.set_level(logging.WARNING, "firmware.pbx.defence")
    assert all(flood(defence, ATTACKER, 30, T0, 0.01))
    assert not defence.allow(ATTACKER, T0 + 0.31, OPTIONS)
    assert [b.reason for b in defence.bans(T0 + 1)] == [FLOOD]
    assert not defence.allow(ATTACKER, T0 + 30, OPTIONS)          # dropped for a while
    assert defence.allow(PHONE, T0 + 1, OPTIONS)                   # nobody else is
    assert defence.allow(ATTACKER, T0 + 0.31 + 60, OPTIONS)       # flood_ban_seconds later
    bans = [r for r in caplog.records if "banned" in r.getMessage()]
    assert len(bans) == 1 and "203.0.113.66" in bans[0].getMessage()


def test_a_busy_phone_below_the_rate_is_never_a_flood():
    defence = make()
    assert all(flood(defence, PHONE, 1000, T0, 0.07))              # ~14/s, 28 in any 2 s


def test_thirty_one_messages_over_exactly_two_seconds_are_not_a_flood():
    defence = make()
    assert all(flood(defence, PHONE, 30, T0, 0.01))
    assert defence.allow(PHONE, T0 + 2.0, OPTIONS)                # "in 2 s" means under 2 s
    assert not defence.allow(PHONE, T0 + 2.001, OPTIONS)          # 31 in 1.991 s


def test_answers_do_not_count_toward_a_flood():
    """A desk phone answering 40 calls a second sends ~120 responses a second: not a flood."""
    defence = make()
    answer = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\r\n"
    assert all(defence.allow(PHONE, T0 + i * 0.005, answer) for i in range(1000))
    assert all(flood(defence, PHONE, 30, T0 + 5, 0.01))
    assert not defence.allow(PHONE, T0 + 5.3, OPTIONS)


def test_flood_limit_zero_turns_the_flood_check_off():
    defence = make(flood_requests=0)
    assert all(flood(defence, ATTACKER, 500, T0, 0.001))


# -- failed digest answers (fail2ban's asterisk jail) ---------------------------------------
def test_ten_failed_answers_in_ten_minutes_ban_for_an_hour():
    defence = make()
    for i in range(9):
        defence.on_auth_failure(ATTACKER, T0 + i * 60)
    assert defence.allow(ATTACKER, T0 + 540)
    defence.on_auth_failure(ATTACKER, T0 + 599)
    assert not defence.allow(ATTACKER, T0 + 600)
    (ban,) = defence.bans(T0 + 600)
    assert (ban.address, ban.reason, ban.until) == ("203.0.113.66", AUTH, T0 + 599 + 3600)
    assert not defence.allow(ATTACKER, T0 + 599 + 3599)
    assert defence.allow(ATTACKER, T0 + 599 + 3600)


def test_failures_spread_wider_than_the_window_do_not_ban():
    defence = make()
    for i in range(100):
        defence.on_auth_failure(ATTACKER, T0 + i * 70)            # 9 per 630 s at most
    assert defence.bans(T0 + 7000) == []


def test_repeat_offenders_are_banned_twice_as_long_each_time_up_to_the_cap():
    defence = make(max_ban_seconds=5 * 3600)
    now, lengths = T0, []
    for _ in range(4):
        for _ in range(10):
            defence.on_auth_failure(ATTACKER, now)
        (ban,) = defence.bans(now)
        lengths.append(ban.until - now)
        now = ban.until + 60                                     # comes back a minute later
    assert lengths == [3600, 7200, 14400, 18000]


def test_an_offence_is_forgotten_after_max_ban_seconds():
    defence = make()
    for _ in range(10):
        defence.on_auth_failure(ATTACKER, T0)
    later = T0 + 3600 + 7 * 86400 + 1
    for _ in range(10):
        defence.on_auth_failure(ATTACKER, later)
    assert defence.bans(later)[0].until == later + 3600


def test_failures_of_a_banned_address_do_not_extend_its_ban():
    defence = make()
    for _ in range(30):
        defence.on_auth_failure(ATTACKER, T0)
    assert defence.bans(T0)[0].until == T0 + 3600


# -- scanners -------------------------------------------------------------------------------
@pytest.mark.parametrize("agent", [b"friendly-scanner", b"sipvicious 0.3.8", b"SIPcli/v1.8",
                                   b"sip-scan", b"VaxSIPUserAgent/3.1", b"pplsip", b"iWar",
                                   b"sundayddr", b"Friendly-Scanner"])
def test_scanner_user_agents_are_dropped_and_banned(agent):
    defence = make()
    data = OPTIONS.replace(b"Grandstream GXP1625", agent)
    assert not defence.allow(ATTACKER, T0, data)
    assert defence.bans(T0) == []                         # one packet: dropped, no ban
    assert not defence.allow(ATTACKER, T0 + 1, data)
    assert not defence.allow(ATTACKER, T0 + 2, data)
    assert defence.bans(T0 + 2)[0].reason == SCANNER
    assert not defence.allow(ATTACKER, T0 + 3, OPTIONS)


def test_one_spoofed_scanner_packet_never_bans_a_phone():
    """Issue 14.7: a desk phone's address with a forged scanner User-Agent."""
    defence = make()
    assert not defence.allow(PHONE, T0, SCANNER_OPTIONS)
    assert defence.allow(PHONE, T0 + 1, OPTIONS) and defence.bans(T0 + 1) == []


def test_an_address_that_authenticated_recently_is_not_banned_for_scanner_packets():
    defence = make()
    defence.on_auth_success(PHONE, T0)
    assert scan(defence, PHONE, T0 + 10, times=20) == [False] * 20   # dropped, each of them
    assert defence.bans(T0 + 10) == [] and defence.allow(PHONE, T0 + 11, OPTIONS)
    assert scan(defence, PHONE, T0 + 7200) == [False] * 3            # an hour later it counts
    assert defence.bans(T0 + 7200)[0].reason == SCANNER


def test_scanner_strikes_spread_over_more_than_the_window_do_not_ban():
    defence = make()
    for i in range(6):
        defence.allow(ATTACKER, T0 + i * 400, SCANNER_OPTIONS)
    assert defence.bans(T0 + 2400) == []


def test_a_scanner_name_outside_the_user_agent_header_is_not_a_scanner():
    defence = make()
    data = OPTIONS.replace(b"From: <sip:a@b>", b'From: "sipvicious fan" <sip:a@b>')
    assert defence.allow(PHONE, T0, data)
    assert defence.allow(PHONE, T0, data.replace(b"User-Agent", b"X-User-Agent-Note"))


def test_an_empty_scanner_list_turns_the_check_off():
    defence = make(scanner_user_agents=())
    assert defence.allow(ATTACKER, T0, SCANNER_OPTIONS)


# -- trust ----------------------------------------------------------------------------------
def test_trusted_networks_and_trunk_hosts_are_never_banned():
    defence = make(trusted=("192.168.0.0/16", "10.1.2.3"), trusted_hosts={"198.51.100.2"})
    for host in ("192.168.7.20", "10.1.2.3", "198.51.100.2"):
        source = Address(host, 5060)
        assert all(flood(defence, source, 200, T0, 0.001))
        for _ in range(50):
            defence.on_auth_failure(source, T0)
        assert scan(defence, source, T0 + 1) == [True] * 3
    assert defence.bans(T0 + 1) == []
    assert not defence.is_trusted("10.1.2.4") and defence.is_trusted("192.168.255.1")


def test_reconfigure_takes_new_thresholds_and_trusting_an_address_lifts_its_ban():
    defence = make()
    scan(defence, ATTACKER, T0)
    scan(defence, PHONE, T0)
    defence.reconfigure(replace(Security(), trusted=("198.51.100.0/24",), flood_requests=5,
                                scanner_user_agents=()))
    assert [b.address for b in defence.bans(T0)] == ["203.0.113.66"]
    assert defence.allow(PHONE, T0 + 1, SCANNER_OPTIONS)
    other = Address("203.0.113.99", 5060)
    assert defence.allow(other, T0 + 1, SCANNER_OPTIONS)         # no scanner check now
    assert all(flood(defence, other, 4, T0 + 1.5, 0.01))          # 5 requests in 2 s ...
    assert not defence.allow(other, T0 + 2, OPTIONS)              # ... and the 6th is a flood


# -- listing, saving, restoring -------------------------------------------------------------
def test_bans_are_listed_soonest_to_end_first_and_expire():
    defence = make()
    scan(defence, ATTACKER, T0)
    flood(defence, PHONE, 31, T0, 0.01)
    assert [(b.address, b.reason) for b in defence.bans(T0 + 1)] == [
        ("198.51.100.11", FLOOD), ("203.0.113.66", SCANNER)]
    defence.changed = False
    defence.expire(T0 + 100)
    assert [b.address for b in defence.bans(T0 + 100)] == ["203.0.113.66"]
    assert defence.changed


def test_dump_and_restore_keep_bans_and_offences_across_a_restart():
    defence = make()
    for _ in range(10):
        defence.on_auth_failure(ATTACKER, T0)
    data = json.loads(json.dumps(defence.dump(T0 + 10)))
    again = make()
    assert again.restore(data, T0 + 20) == 1
    assert not again.allow(ATTACKER, T0 + 20)
    for _ in range(10):                                           # still a repeat offender
        again.on_auth_failure(ATTACKER, T0 + 4000)
    assert again.bans(T0 + 4000)[0].until == T0 + 4000 + 7200


def test_restore_skips_ended_bans_and_now_trusted_addresses():
    defence = make()
    data = {"bans": [{"address": "203.0.113.66", "until": T0 + 10, "reason": AUTH},
                     {"address": "192.168.1.5", "until": T0 + 9999, "reason": FLOOD},
                     {"address": "203.0.113.67", "until": T0 - 1, "reason": AUTH}]}
    assert make(trusted=("192.168.0.0/16",)).restore(data, T0) == 1
    assert defence.restore({"bans": []}, T0) == 0


@pytest.mark.parametrize("data", [[], {"bans": [{"address": "x"}]}, {"bans": "x"},
                                  {"offences": {"h": {"count": "many", "until": 1}}}])
def test_restore_of_junk_raises_and_changes_nothing(data):
    defence = make()
    with pytest.raises((ValueError, TypeError, KeyError, AttributeError)):
        defence.restore(data, T0)
    assert defence.dump(T0) == {"bans": [], "offences": {}}


def test_ban_file_round_trip_is_atomic(tmp_path):
    defence = make()
    scan(defence, ATTACKER, T0)
    file = BanFile(tmp_path / "bans.json")
    file.write(defence, T0)
    assert not defence.changed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bans.json"]
    again = make()
    file.read(again, T0 + 1)
    assert again.is_banned("203.0.113.66", T0 + 1)


def test_a_corrupt_ban_file_is_set_aside_and_logged(tmp_path, caplog):
    path = tmp_path / "bans.json"
    path.write_text('{"bans": [{"address": "203.0.113.66", "until": ')
    defence = make()
    BanFile(path).read(defence, T0)
    assert defence.bans(T0) == []
    assert not path.exists() and (tmp_path / "bans.corrupt").exists()
    assert "unreadable" in caplog.text


def test_a_missing_ban_file_is_no_problem(tmp_path):
    defence = make()
    BanFile(tmp_path / "bans.json").read(defence, T0)
    assert defence.bans(T0) == []


# -- bounded tables ------------------------------------------------------------------------
def test_spoofed_sources_cannot_grow_the_tables_without_bound(monkeypatch):
    monkeypatch.setattr(defence_module, "MAX_TRACKED", 64)
    monkeypatch.setattr(defence_module, "MAX_BANS", 10)
    defence = make()
    for i in range(1000):
        source = Address(f"10.{i // 250}.{i % 250}.1", 5060)
        defence.allow(source, T0 + i * 0.001, OPTIONS)
        defence.on_auth_failure(source, T0)
        scan(defence, source, T0)
        defence.on_auth_success(source, T0)
    assert len(defence._recent) <= 65 and len(defence._failures) <= 65
    assert len(defence._strikes) <= 65 and len(defence._authenticated) <= 65
    assert len(defence.bans(T0)) == 10
    assert not defence.allow(Address("10.3.249.1", 5060), T0 + 2, SCANNER_OPTIONS)


# -- wired to the endpoint and the registrar ----------------------------------------------
def test_the_endpoint_drops_banned_traffic_before_parsing_it():
    sent = []
    defence = make()
    endpoint = SipEndpoint(lambda data, dest: sent.append(data), registrar=None,
                           clock=lambda: T0)
    endpoint.gate = defence
    for _ in range(3):
        endpoint.on_datagram(SCANNER_OPTIONS, ATTACKER)
    endpoint.on_datagram(b"garbage that would be malformed", ATTACKER)
    endpoint.on_datagram(OPTIONS, ATTACKER)
    assert sent == [] and endpoint.counters["malformed"] == 0
    assert endpoint.counters["dropped"] == 5
    endpoint.on_datagram(OPTIONS, PHONE)
    assert len(sent) == 1 and sent[0].startswith(b"SIP/2.0 200 OK")


def _register(digest: DigestServer, password: str, cseq: int, now: float):
    challenge = digest.challenge(now)[0]
    auth = answer_challenge(challenge, method="REGISTER", uri="sip:192.0.2.1", username="101",
                            password=password, cnonce=f"c{cseq}")
    return parse_message((
        "REGISTER sip:192.0.2.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 203.0.113.66;branch=z9hG4bKr{cseq}\r\n"
        "From: <sip:101@192.0.2.1>;tag=1\r\nTo: <sip:101@192.0.2.1>\r\nCall-ID: crack\r\n"
        f"CSeq: {cseq} REGISTER\r\nContact: <sip:101@203.0.113.66>\r\n"
        f"Authorization: {auth}\r\nContent-Length: 0\r\n\r\n").encode())


def test_the_registrar_reports_each_refused_password():
    digest = DigestServer("callbox", b"0123456789abcdef0123", algorithms=("MD5",))
    registrar = Registrar(digest, {"101": "secret-101-pw"}.get, Bindings(), lambda: "tag")
    defence = make()
    registrar.on_auth_failure = defence.on_auth_failure
    for cseq in range(1, 11):
        response = registrar.handle(_register(digest, f"guess{cseq}", cseq, T0 + cseq),
                                    ATTACKER, T0 + cseq)
        assert response.status == 403
    assert [b.reason for b in defence.bans(T0 + 11)] == [AUTH]
    ok = registrar.handle(_register(digest, "secret-101-pw", 20, T0 + 20), PHONE, T0 + 20)
    assert ok.status == 200
    assert defence.bans(T0 + 20)[0].address == ATTACKER.host


def test_the_registrar_reports_a_good_password_so_spoofed_scanner_packets_never_ban_it():
    digest = DigestServer("callbox", b"0123456789abcdef0123", algorithms=("MD5",))
    registrar = Registrar(digest, {"101": "secret-101-pw"}.get, Bindings(), lambda: "tag")
    defence = make()
    registrar.on_auth_success = defence.on_auth_success
    ok = registrar.handle(_register(digest, "secret-101-pw", 1, T0), PHONE, T0)
    assert ok.status == 200
    assert scan(defence, PHONE, T0 + 5, times=10) == [False] * 10
    assert defence.bans(T0 + 5) == [] and defence.allow(PHONE, T0 + 6, OPTIONS)


# -- the [security] table of the config -------------------------------------------------------
def test_security_defaults():
    security = parse_config("[box]\ncountry = \"PL\"\n").security
    assert (security.auth_failures, security.auth_window_seconds, security.ban_seconds) == \
        (10, 600, 3600)
    assert (security.flood_requests, security.flood_window_seconds) == (30, 2)
    assert security.allowed_prefixes == ("+48",) and security.max_outbound_calls == 4
    assert "friendly-scanner" in security.scanner_user_agents and security.trusted == ()


def test_security_values_are_read():
    security = parse_config("""
[security]
trusted = ["192.168.0.0/16", "10.0.0.7"]
auth_failures = 5
ban_seconds = 600
flood_requests = 100
scanner_user_agents = ["evil-scanner"]
allowed_prefixes = ["+48", "+49"]
max_outbound_calls = 2
""").security
    assert security.trusted == ("192.168.0.0/16", "10.0.0.7")
    assert (security.auth_failures, security.ban_seconds, security.flood_requests) == \
        (5, 600, 100)
    assert security.scanner_user_agents == ("evil-scanner",)
    assert security.allowed_prefixes == ("+48", "+49") and security.max_outbound_calls == 2


def test_bad_security_values_name_their_keys():
    with pytest.raises(ConfigError) as caught:
        parse_config("""
[security]
trusted = ["192.168.0.0/33", 5]
auth_failures = -1
ban_seconds = 7200
max_ban_seconds = 3600
flood_window_seconds = "2"
scanner_user_agents = "friendly-scanner"
allowed_prefixes = ["48"]
max_outbound_calls = true
banana = 1
""")
    keys = sorted({problem.split(":")[0] for problem in caught.value.problems})
    assert keys == ["security.allowed_prefixes", "security.auth_failures", "security.banana",
                    "security.flood_window_seconds", "security.max_ban_seconds",
                    "security.max_outbound_calls", "security.scanner_user_agents",
                    "security.trusted"]
