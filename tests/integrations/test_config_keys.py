"""The integration keys of the config: validated, each problem naming its key."""

import subprocess
import sys

import pytest

from firmware.config import ConfigError, WEBHOOK_EVENTS
from tests.integrations.integ_helpers import config_with


def problems(extra: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_with(extra)
    return caught.value.problems


def test_a_full_integrations_block_loads():
    config = config_with('''
[[webhook]]
url = "https://crm.example/hooks/callbox"
secret = "0123456789abcdef"
[[webhook]]
url = "http://127.0.0.1:8000/x"
secret = "0123456789abcdef"
events = ["call.missed"]
[ga4]
measurement_id = "G-ABC123"
api_secret = "s"
[email]
smtp = "mail.example:587"
from = "callbox@hotel.example"
weekly_to = ["owner@hotel.example"]
''')
    assert [h.events for h in config.webhooks] == [WEBHOOK_EVENTS, ("call.missed",)]
    assert config.ga4.endpoint == "https://www.google-analytics.com/mp/collect"
    assert (config.email.smtp_host, config.email.smtp_port, config.email.username) == \
        ("mail.example", 587, "")
    assert config_with("").webhooks == () and config_with("").email is None


def test_each_problem_names_its_key():
    assert problems('''
[[webhook]]
url = "http://crm.example/x"
secret = "short"
events = ["call.started"]
colour = "red"
[ga4]
measurement_id = "UA-1"
api_secret = "s"
endpoint = "ftp://x"
[email]
smtp = "mail.example"
from = "nobody"
weekly_to = ["a b", 3]
''') == [
        "webhook[1].colour: unknown key",
        "webhook[1].url: must use https (plain http only to this machine, 127.0.0.1)",
        "webhook[1].secret: must be at least 16 characters",
        "webhook[1].events: unknown event 'call.started' (one of call.ended, call.missed, "
        "wrapup.saved, callback.cleared, contact.changed)",
        "ga4.measurement_id: must be like G-XXXXXXX",
        "ga4.endpoint: must be an http(s) URL",
        "email.smtp: must be host:port, like mail.example:587",
        "email.from: must be an e-mail address",
        "email.weekly_to: must be a list of non-empty strings",
    ]
    assert problems('[[webhook]]\nurl = "https://a.example/x"\n') == ["webhook[1].secret: missing"]


def test_web_source_is_checked():
    from tests.integrations.integ_helpers import h
    from firmware.config import parse_config

    text = h.CONFIG.replace('source = "Print"', 'source = "Print"\nweb_source = "<b>x"')
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "<test>")
    assert caught.value.problems == [
        'campaign[2].web_source: must be like "google/cpc", "newsletter" or "facebook.com"']
    good = parse_config(h.CONFIG.replace('source = "Print"',
                                         'source = "Print"\nweb_source = "Google/CPC"'), "t")
    assert [c.web_source for c in good.campaigns] == ["", "google/cpc"]


def test_check_config_command_lists_them(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[webhook]]\nurl = "http://crm.example/x"\nsecret = "0123456789abcdef"\n')
    done = subprocess.run([sys.executable, "-m", "firmware", "check-config", str(path)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert done.stdout.strip() == \
        "webhook[1].url: must use https (plain http only to this machine, 127.0.0.1)"
