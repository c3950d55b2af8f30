"""How the box reaches its trunk: [[trunk]] transport / outbound_proxy / keep-alive /
fail-over keys and [dns], each bad value named by its key (callbox check-config)."""

import subprocess
import sys

import pytest

from firmware.config import ConfigError, parse_config

TRUNK = """
[[trunk]]
name = "provider"
host = "sip.provider.example"
username = "hotelzdroj"
password = "trunk-secret"
"""


def test_defaults_and_srv_only_without_a_port():
    config = parse_config(TRUNK)
    [trunk] = config.trunks
    assert (trunk.transport, trunk.outbound_proxy, trunk.keepalive_seconds,
            trunk.failover_seconds, trunk.srv) == ("udp", "", 25, 4, True)
    assert config.dns.servers == () and config.dns.timeout_seconds == 2
    assert parse_config(TRUNK + "port = 5060\n").trunks[0].srv is False


def test_all_keys_set():
    config = parse_config(TRUNK + 'transport = "TCP"\noutbound_proxy = "proxy.example:5070"\n'
                          "keepalive_seconds = 0\nfailover_seconds = 2\n"
                          '[dns]\nservers = ["127.0.0.1:5353", "10.0.0.1"]\n'
                          "timeout_seconds = 5\n")
    trunk = config.trunks[0]
    assert (trunk.transport, trunk.outbound_proxy, trunk.keepalive_seconds,
            trunk.failover_seconds) == ("tcp", "proxy.example:5070", 0, 2)
    assert config.dns.servers == (("127.0.0.1", 5353), ("10.0.0.1", 53))
    assert config.dns.timeout_seconds == 5


def test_every_bad_value_is_named():
    text = (TRUNK.replace("sip.provider.example", "sip provider")
            + 'transport = "sctp"\noutbound_proxy = "proxy:port"\nkeepalive_seconds = -1\n'
            'failover_seconds = 60\n[dns]\nservers = ["dns.example"]\ntimeout_seconds = 0\n'
            "retries = 3\n")
    with pytest.raises(ConfigError) as error:
        parse_config(text)
    assert error.value.problems == [
        'trunk[1].transport: must be "udp" or "tcp"',
        "trunk[1].outbound_proxy: must be host:port, like proxy.example:5060",
        "trunk[1].keepalive_seconds: must be between 0 and 3600",
        "trunk[1].failover_seconds: must be between 1 and 32",
        "trunk[1].host: must be an IP address or a DNS name",
        "dns.retries: unknown key",
        "dns.servers: 'dns.example' is not an IPv4 address or IP:port",
        "dns.timeout_seconds: must be between 1 and 30",
    ]
    with pytest.raises(ConfigError, match=r'dns.servers: must be a list of "IP"'):
        parse_config('[dns]\nservers = "127.0.0.1"\n')


def test_check_config_names_the_key(tmp_path):
    path = tmp_path / "callbox.toml"
    path.write_text(TRUNK + 'transport = "sctp"\n')
    result = subprocess.run([sys.executable, "-m", "firmware", "check-config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert 'trunk[1].transport: must be "udp" or "tcp"' in result.stdout + result.stderr
