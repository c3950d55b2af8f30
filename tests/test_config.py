"""The config file: valid ones load, broken ones name every bad key (callbox check-config)."""

import subprocess
import sys

import pytest

from firmware.config import EMBEDDED_DEFAULT, ConfigError, load_config, parse_config

GOOD = """
[box]
name = "Hotel Zdroj"
timezone = "Europe/Warsaw"
country = "PL"
currency = "PLN"

[sip]
listen = "0.0.0.0:5060"
rtp_ports = "10000-10999"

[[trunk]]
name = "provider"
host = "sip.provider.example"
username = "48221234567"
password = "trunk-secret"

[[extension]]
number = "101"
name = "Reception"
password = "long-enough"

[[campaign]]
name = "Shop window"
number = "22 123 45 67"
source = "Outdoor"
lead_value = 300
ring = ["101"]

[tracking]
ring_timeout_seconds = 20

[hw]
callback_led = 17
"""


def test_good_config_loads_into_values():
    config = parse_config(GOOD)
    assert config.box.timezone == "Europe/Warsaw"
    assert config.campaigns[0].number == "+48221234567"   # normalised with box.country
    assert config.campaigns[0].ring == ("101",)
    assert config.trunks[0].register is True and config.trunks[0].port == 5060
    assert config.tracking.ring_timeout_seconds == 20
    assert config.tracking.target_call_seconds == 30
    assert config.hw.callback_led == 17
    assert config.campaign_for("+48221234567").name == "Shop window"
    assert config.extension("101").password == "long-enough"


def test_embedded_default_is_valid():
    config = load_config(None)
    assert config.sip.listen_host == "127.0.0.1" and config.sip.listen_port == 5060
    assert config.web.listen_port == 8080
    assert len(config.extensions) == 2 and len(config.campaigns) == 1


BROKEN = [
    ('[[campaign]]\nname="a"\nnumber="not a number"\n', "campaign[1].number: not a phone number"),
    ('[[extension]]\nnumber="101"\npassword="longenough"\n[[campaign]]\nname="a"\n'
     'number="+48221234567"\n[[campaign]]\nname="b"\nnumber="12"\n',
     "campaign[2].number: not a phone number"),
    ('[[campaign]]\nname="a"\nnumber="+48221234567"\n[[campaign]]\nname="a"\n'
     'number="+48221234568"\n', "campaign[2].name: duplicate campaign name 'a'"),
    ('[[campaign]]\nname="a"\nnumber="+48221234567"\n[[campaign]]\nname="b"\n'
     'number="221234567"\n', "campaign[2].number: duplicate campaign number +48221234567"),
    ('[box]\ntimezone="Mars/Olympus"\n', "box.timezone: unknown time zone"),
    ('[box]\ncountry="XX"\n', "box.country: unknown country code"),
    ('[sip]\nlisten="somewhere"\n', "sip.listen: must be IP:port"),
    ('[sip]\nrtp_ports="5-3"\n', "sip.rtp_ports:"),
    ('[[extension]]\nnumber="1x1"\npassword="longenough"\n', "extension[1].number: must be 2 to 6 digits"),
    ('[[extension]]\nnumber="101"\npassword="short"\n', "extension[1].password: must be at least 8"),
    ('[[extension]]\nnumber="101"\n', "extension[1].password: missing"),
    ('[[extension]]\nnumber="101"\npassword=""\n', "extension[1].password: must not be empty"),
    ('[[extension]]\nnumber="101"\npassword="12345678"\n', "extension[1].password: must mix"),
    ('[[extension]]\nnumber="101"\npassword="Passw0rd"\n', "extension[1].password: is a well"),
    ('[[extension]]\nnumber="101"\npassword="101-101-101"\n', "extension[1].password: must not be built"),
    ('[[campaign]]\nname="a"\nnumber="+48221234567"\nring=["109"]\n', "campaign[1].ring: no extension 109"),
    ('[tracking]\nring_timeout_seconds="soon"\n', "tracking.ring_timeout_seconds: must be a whole number"),
    ('[[trunk]]\nname="p"\nhost="h"\nregister=true\n', "trunk[1].register: needs username and password"),
    ('[hw]\ncallback_led=99\n', "hw.callback_led: must be between"),
    ('[box]\nnmae="typo"\n', "box.nmae: unknown key"),
    ('[box\nname=', "not valid TOML"),
]


@pytest.mark.parametrize("text,expected", BROKEN)
def test_broken_config_names_the_key(text, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert any(expected in line for line in caught.value.problems), caught.value.problems


def test_every_problem_is_listed_not_just_the_first():
    with pytest.raises(ConfigError) as caught:
        parse_config('[box]\ncountry="XX"\ntimezone="Nowhere/Land"\n[hw]\ncallback_led=-1\n')
    assert len(caught.value.problems) == 3


def run_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "firmware", *args], capture_output=True,
                          text=True, timeout=60, **kwargs)


def test_check_config_cli_exit_codes(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    result = run_cli("check-config", str(good))
    assert result.returncode == 0, result.stdout + result.stderr
    for index, (text, expected) in enumerate(BROKEN):
        bad = tmp_path / f"bad{index}.toml"
        bad.write_text(text)
        result = run_cli("check-config", str(bad))
        assert result.returncode == 1
        assert expected in result.stdout
        assert "Traceback" not in result.stdout + result.stderr


def test_check_config_on_a_missing_file(tmp_path):
    result = run_cli("check-config", str(tmp_path / "nope.toml"))
    assert result.returncode == 1 and "cannot read" in result.stdout


def test_run_with_a_broken_config_says_why_and_exits_1(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[campaign]]\nname="a"\nnumber="junk"\n')
    result = run_cli("run", "--config", str(bad), "--data", str(tmp_path / "data"))
    assert result.returncode == 1
    assert "campaign[1].number: not a phone number" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_embedded_default_text_is_what_the_readme_promises():
    assert "127.0.0.1:5060" in EMBEDDED_DEFAULT and "127.0.0.1:8080" in EMBEDDED_DEFAULT
