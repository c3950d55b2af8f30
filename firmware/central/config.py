"""central.toml: the central panel's one config file, validated into frozen values.

    [central]
    database = "postgresql://callbox@localhost/callbox"
    [web]
    listen = "0.0.0.0:8443"
    [box]                      # the all-sites view's time zone, country, currency
    timezone = "Europe/Warsaw"
    [[site]]
    name = "Kraków"
    token = "..."              # the token this site's box sends (at least 16 characters)

It reuses the box's checker, so problems read the same (`site[2].token: missing`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from firmware.config import Box, Config, ConfigError, Web, _box, _Checker

MIN_TOKEN = 16
MAX_SITE_NAME = 100


@dataclass(frozen=True)
class Site:
    name: str
    token: str


@dataclass(frozen=True)
class CentralConfig:
    database: str
    web: Web = field(default_factory=Web)
    box: Box = field(default_factory=Box)
    sites: tuple[Site, ...] = ()
    source: str = "<string>"

    def site(self, name: str) -> Site | None:
        return next((s for s in self.sites if s.name == name), None)

    def as_box_config(self) -> Config:
        """A box Config carrying the central's [box]: what the box's pure parsers take."""
        return Config(box=self.box, web=self.web, source=self.source)


def parse_central_config(text: str, source: str = "<string>") -> CentralConfig:
    """Validate central.toml text; raises ConfigError listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: not valid TOML: {exc}"]) from None
    check = _Checker()
    check.unknown(data, "config", {"central", "web", "box", "site"})
    central = check.table(data, "central")
    check.unknown(central, "central", {"database"})
    database = check.string(central, "database", "central")
    if "database" in central and not database.startswith(("postgresql://", "postgres://")):
        check.problem("central.database", "must be a URL like postgresql://user@host/db")
    web_table = check.table(data, "web")
    check.unknown(web_table, "web", {"listen"})
    web = Web(*check.address(web_table, "listen", "web", "0.0.0.0:8443"))
    box = _box(check, check.table(data, "box"))
    sites: list[Site] = []
    for index, table in enumerate(check.tables(data, "site"), 1):
        prefix = f"site[{index}]"
        check.unknown(table, prefix, {"name", "token"})
        name = check.string(table, "name", prefix).strip()
        token = check.string(table, "token", prefix)
        if "name" in table and not 1 <= len(name) <= MAX_SITE_NAME:
            check.problem(f"{prefix}.name", f"must be 1 to {MAX_SITE_NAME} characters")
        if "token" in table and len(token) < MIN_TOKEN:
            check.problem(f"{prefix}.token", f"must be at least {MIN_TOKEN} characters")
        if any(s.name == name for s in sites):
            check.problem(f"{prefix}.name", f"site {name!r} is named twice")
        if token and any(s.token == token for s in sites):
            check.problem(f"{prefix}.token", "two sites share this token")
        sites.append(Site(name, token))
    if check.problems:
        raise ConfigError(check.problems)
    return CentralConfig(database, web, box, tuple(sites), source)


def load_central_config(path: Path) -> CentralConfig:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    return parse_central_config(text, str(path))
