"""[central] in the box's config: what a box needs to report to a central panel."""

from __future__ import annotations

import pytest

from firmware.config import CentralLink, ConfigError, parse_config


def test_a_central_link_is_read(tmp_path):
    pem = tmp_path / "hq.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n")
    config = parse_config(f'[central]\nurl = "https://hq.example:8443/"\nsite = "Kraków"\n'
                          f'token = "0123456789abcdef"\nca_file = "{pem}"\n')
    assert config.central == CentralLink("https://hq.example:8443", "Kraków",
                                         "0123456789abcdef", str(pem))
    assert parse_config("").central is None


def test_bad_central_keys_are_named():
    with pytest.raises(ConfigError) as error:
        parse_config('[central]\nurl = "ftp://hq"\ntoken = "short"\nca_file = "/nope.pem"\n'
                     'color = "red"\n')
    assert error.value.problems == [
        "central.color: unknown key",
        "central.url: must be an http(s) URL, like https://hq.example:8443",
        "central.site: missing",
        "central.token: must be at least 16 characters",
        "central.ca_file: no such file: /nope.pem"]
