"""central.toml: every problem named by its key, as the box's config does."""

from __future__ import annotations

import pytest

from firmware.central.config import parse_central_config
from firmware.config import ConfigError


def test_a_good_file_is_read():
    config = parse_central_config('[central]\ndatabase = "postgresql://u@h/db"\n'
                                  '[box]\ntimezone = "Europe/Warsaw"\n'
                                  '[[site]]\nname = "Kraków"\ntoken = "0123456789abcdef"\n')
    assert config.site("Kraków").token == "0123456789abcdef"
    assert config.as_box_config().box.timezone == "Europe/Warsaw"
    assert (config.web.listen_host, config.web.listen_port) == ("0.0.0.0", 8443)


def test_every_problem_is_named():
    with pytest.raises(ConfigError) as error:
        parse_central_config('[central]\ndatabase = "mysql://x"\n[box]\ntimezone = "Mars/X"\n'
                             '[[site]]\nname = "A"\ntoken = "short"\n'
                             '[[site]]\nname = "A"\ntoken = "0123456789abcdef"\n'
                             '[[site]]\ntoken = "0123456789abcdef"\n[extra]\n')
    assert error.value.problems == [
        "config.extra: unknown key",
        "central.database: must be a URL like postgresql://user@host/db",
        "box.timezone: unknown time zone 'Mars/X'",
        "site[1].token: must be at least 16 characters",
        "site[2].name: site 'A' is named twice",
        "site[3].name: missing",
        "site[3].token: two sites share this token"]
