"""Issue 13: the box finds its trunk by DNS (RFC 3263, served by a real dnsmasq), fails over
from a dead target, registers over TCP, and notices a trunk that stops answering."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

from tests.e2e.dnsmasq import Dnsmasq
from tests.e2e.panel_api import make_owner, wait_call
from tests.e2e.rig import BoxProcess, box_config, finish, free_port_block, scenario, \
    sipp_background


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        return json.loads(response.read())


def owner_health(data_dir, web_port: int) -> dict:
    """/healthz as the signed-in owner sees it (with each trunk's target and last error)."""
    from tests.e2e.test_trunk_register import Panel

    passwd = subprocess.run([sys.executable, "-m", "firmware", "passwd", "owner", "--data",
                             str(data_dir)], input="owner-password-1\n", text=True,
                            capture_output=True, timeout=30)
    assert passwd.returncode == 0, passwd.stderr
    panel = Panel(f"http://127.0.0.1:{web_port}")
    panel.post("/login", {"user": "owner", "password": "owner-password-1"})
    return json.loads(panel.get("/healthz"))


def wait_state(port: int, trunk: str, state: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        now = health(port)
        if now["trunks"].get(trunk) == state:
            return now
        assert time.monotonic() < deadline, now
        time.sleep(0.2)


def wait_listening(port: int, timeout: float = 10.0) -> None:
    """Until something listens on TCP `port` (read from /proc, without connecting: SIPp
    must see only the box's connection)."""
    deadline = time.monotonic() + timeout
    while True:
        with open("/proc/net/tcp") as table:
            rows = [line.split() for line in table.readlines()[1:]]
        if any(row[1].endswith(f":{port:04X}") and row[3] == "0A" for row in rows):
            return
        assert time.monotonic() < deadline, f"nothing listens on TCP port {port}"
        time.sleep(0.05)


def registrar(tmp_path, ip: str, port: int, name: str = "provider_registrar.xml",
              tcp: bool = False):
    return sipp_background(
        str(scenario(name, tmp_path, USER="hotelzdroj", PASS="trunk-secret")),
        "127.0.0.1:9", local_ip=ip, local_port=port, cwd=tmp_path,
        args=["-t", "t1"] if tcp else [])


def trunk(name: str, host: str, extra: str = "") -> str:
    return (f'\n[[trunk]]\nname = "{name}"\nhost = "{host}"\nusername = "hotelzdroj"\n'
            f'password = "trunk-secret"\nregister = true\n{extra}')


def test_srv_fail_over_to_the_second_target_and_a_name_that_is_not_found(tmp_path, need):
    """_sip._udp.trunk.test: the first target (priority 10) is dead, the second answers. A
    second trunk's name does not exist: it shows dns-failed, and the first is unaffected."""
    need("sipp")
    base = free_port_block()
    dns = Dnsmasq(base + 2, srv=(f"_sip._udp.trunk.test,dead.trunk.test,{base + 4},10,0",
                                 f"_sip._udp.trunk.test,live.trunk.test,{base + 5},20,0"),
                  hosts=("dead.trunk.test,127.0.0.3", "live.trunk.test,127.0.0.4")).start()
    provider = registrar(tmp_path, "127.0.0.4", base + 5)
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200,
                                 f'\n[dns]\nservers = ["127.0.0.1:{base + 2}"]\n'
                                 + trunk("provider", "trunk.test", "failover_seconds = 1\n")
                                 + trunk("spare", "nowhere.trunk.test")))
    box = BoxProcess(config, tmp_path / "data").start()
    try:
        code, out = finish(provider, 20)
        assert code == 0, out
        now = wait_state(base + 1, "provider", "registered")
        assert now["trunks"]["spare"] == "dns-failed"
        assert now["trunk_routes"]["spare"] == {"state": "dns-failed"}     # a stranger's view
        now = owner_health(tmp_path / "data", base + 1)
        assert now["trunk_routes"]["provider"]["target"].startswith(f"udp:127.0.0.4:{base + 5}")
        assert "nowhere.trunk.test" in now["trunk_routes"]["spare"]["error"]
        box.wait_for(r"trunk provider: udp:127\.0\.0\.3:\d+ \(dead\.trunk\.test\) failed "
                     r"\(no answer in 1 s\); trying udp:127\.0\.0\.4")
        box.wait_for(r"trunk spare: DNS look-up of nowhere\.trunk\.test failed")
        assert now["sip"] == "ok"
    finally:
        box.stop()
        queries = dns.stop()
    assert "query[SRV] _sip._udp.trunk.test" in queries


def test_a_tcp_trunk_registers_over_one_connection_and_a_lost_one_shows(tmp_path, need):
    need("sipp")
    base = free_port_block()
    provider = registrar(tmp_path, "127.0.0.2", base + 3, tcp=True)
    wait_listening(base + 3)
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200,
                                 trunk("provider", "127.0.0.2",
                                       f'port = {base + 3}\ntransport = "tcp"\n'
                                       'keepalive_seconds = 1\n')))
    box = BoxProcess(config, tmp_path / "data").start()
    try:
        code, out = finish(provider, 20)
        assert code == 0, out
        box.wait_for(r"trunk provider: registered for 120 s")
        box.wait_for(rf"sip: connected to tcp:127\.0\.0\.2:{base + 3}")
        # SIPp is gone with its end of the connection: the box says so, and tries again.
        now = wait_state(base + 1, "provider", "failed")
        # (closed, or reset when a keep-alive CRLF met the closed socket first)
        box.wait_for(r"trunk provider: lost \(connection (closed|lost).*\); registering again")
        now = owner_health(tmp_path / "data", base + 1)
        assert now["trunk_routes"]["provider"]["target"] == f"tcp:127.0.0.2:{base + 3}"
        assert len([line for line in box.log().splitlines() if "sip: connected" in line]) == 1
    finally:
        box.stop()


def test_udp_keep_alive_and_a_trunk_that_stops_answering(tmp_path, need):
    """The registrar answers one keep-alive OPTIONS and goes away: the next one goes
    unanswered, the trunk shows failed and registers again."""
    need("sipp")
    base = free_port_block()
    provider = registrar(tmp_path, "127.0.0.2", base + 3, "provider_registrar_ping.xml")
    time.sleep(0.3)
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200,
                                 trunk("provider", "127.0.0.2",
                                       f"port = {base + 3}\nkeepalive_seconds = 1\n"
                                       "failover_seconds = 1\n")))
    box = BoxProcess(config, tmp_path / "data").start()
    try:
        box.wait_for(r"trunk provider: registered for 120 s")
        wait_state(base + 1, "provider", "failed", timeout=20)
        code, out = finish(provider, 20)
        assert code == 0, out                   # it got the OPTIONS and answered it
        box.wait_for(r"trunk provider: lost \(keep-alive not answered\); registering again")
    finally:
        box.stop()


def test_an_outbound_proxy_takes_the_registration(tmp_path, need):
    """The trunk's host is a name nobody resolves: with outbound_proxy set, the REGISTER
    goes to the proxy with a pre-loaded Route, the Request-URI keeps the provider's domain."""
    need("sipp")
    base = free_port_block()
    provider = sipp_background(
        str(scenario("proxy_registrar.xml", tmp_path, USER="hotelzdroj", PASS="trunk-secret",
                     ROUTE=rf"&lt;sip:127\.0\.0\.2:{base + 3};lr&gt;",
                     DOMAIN=r"sip\.provider\.invalid")),
        "127.0.0.1:9", local_ip="127.0.0.2", local_port=base + 3, cwd=tmp_path)
    time.sleep(0.3)
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200,
                                 trunk("provider", "sip.provider.invalid",
                                       f'outbound_proxy = "127.0.0.2:{base + 3}"\n')))
    box = BoxProcess(config, tmp_path / "data").start()
    try:
        code, out = finish(provider, 20)
        assert code == 0, out
        wait_state(base + 1, "provider", "registered")
        now = owner_health(tmp_path / "data", base + 1)
        assert now["trunk_routes"]["provider"]["target"] == f"udp:127.0.0.2:{base + 3}"
    finally:
        box.stop()


def test_a_call_out_over_a_tcp_trunk(tmp_path, need):
    """transport = "tcp": the INVITE, the ACK and the BYE reach a provider that listens on
    TCP only (SIPp -t t1), over the connection the box opened."""
    from tests.e2e.test_calls import VERIFY, ok, phone, register

    need("sipp")
    base = free_port_block()
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200,
                                 '[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\n'
                                 f'port = {base + 5}\ntransport = "tcp"\n'
                                 'username = "48221234567"\npassword = "trunk-secret"\n'
                                 'register = false\n'))
    make_owner(tmp_path / "data")
    box = BoxProcess(config, tmp_path / "data").start()
    box.sip_port, box.base, box.folder, box.web_port = base, base, tmp_path, base + 1
    try:
        register(box, "101", "127.0.0.11", base + 6)
        script = scenario("trunk_answer_auth.xml", tmp_path, CODE="401", REASON="Unauthorized",
                          HEADER="WWW-Authenticate", CHECK=VERIFY)
        provider = sipp_background(str(script), f"127.0.0.1:{base}", local_ip="127.0.0.2",
                                   local_port=base + 5, cwd=tmp_path, args=["-t", "t1"])
        wait_listening(base + 5)
        caller = phone(box, "phone_call_out.xml", "101", "127.0.0.11", base + 6,
                       "-au", "101", "-ap", "secret-101-pw", "-key", "dialled", "+48600000000",
                       "-d", "300")
        ok(caller)
        ok(provider)
        wait_call(box, direction="outbound", caller="101", callee="+48600000000",
                  status="answered")
        box.wait_for(rf"sip: connected to tcp:127\.0\.0\.2:{base + 5}")
    finally:
        box.stop()


def test_calls_out_and_in_through_a_trunk_known_by_its_srv_record(tmp_path, need):
    """The trunk is a name whose SRV record points at 127.0.0.4 and a port of its own: 101's
    call out goes there (the provider's 401 answered), and a call in from that address is
    taken as the trunk's and rings the campaign's phone."""
    from tests.e2e.test_calls import CAMPAIGN, VERIFY, ok, phone, register

    need("sipp")
    base = free_port_block()
    dns = Dnsmasq(base + 2, srv=(f"_sip._udp.trunk.test,live.trunk.test,{base + 5},10,0",),
                  hosts=("live.trunk.test,127.0.0.4",)).start()
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200,
                                 f'\n[dns]\nservers = ["127.0.0.1:{base + 2}"]\n'
                                 '[[trunk]]\nname = "provider"\nhost = "trunk.test"\n'
                                 'username = "48221234567"\npassword = "trunk-secret"\n'
                                 'register = false\n'))
    make_owner(tmp_path / "data")
    box = BoxProcess(config, tmp_path / "data").start()
    box.sip_port, box.base, box.folder, box.web_port = base, base, tmp_path, base + 1
    try:
        deadline = time.monotonic() + 10
        while health(base + 1)["trunk_routes"]["provider"]["state"] != "resolved":
            assert time.monotonic() < deadline, health(base + 1)
            time.sleep(0.2)
        register(box, "101", "127.0.0.11", base + 6)
        script = scenario("trunk_answer_auth.xml", tmp_path, CODE="401", REASON="Unauthorized",
                          HEADER="WWW-Authenticate", CHECK=VERIFY)
        provider = sipp_background(str(script), f"127.0.0.1:{base}", local_ip="127.0.0.4",
                                   local_port=base + 5, cwd=tmp_path)
        time.sleep(0.3)
        caller = phone(box, "phone_call_out.xml", "101", "127.0.0.11", base + 6,
                       "-au", "101", "-ap", "secret-101-pw", "-key", "dialled", "+48600000000",
                       "-d", "300")
        ok(caller)
        ok(provider)
        wait_call(box, direction="outbound", caller="101", callee="+48600000000",
                  status="answered")
        answering = phone(box, "phone_answer.xml", "101", "127.0.0.11", base + 6, "-d", "300")
        time.sleep(0.3)
        ok(sipp_background(str(scenario("trunk_call.xml", tmp_path)), f"127.0.0.1:{base}",
                           local_ip="127.0.0.4", local_port=base + 5, cwd=tmp_path,
                           args=["-key", "dialled", CAMPAIGN, "-key", "caller", "+48600111222",
                                 "-key", "rtp", "40000", "-d", "300"]))
        ok(answering)
        box.wait_for(r"answered by 101")
    finally:
        box.stop()
        dns.stop()
