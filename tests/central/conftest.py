"""Fixtures for the central: one private PostgreSQL cluster per test session (tests/central/pg.py),
a fresh database per test, and the central's app on it."""

from __future__ import annotations

import itertools
import os

import pytest

from firmware.central.app import Central, create_central_app
from firmware.central.config import parse_central_config
from firmware.central.db import Database, connect_waiting, migrate
from firmware.central.users import CentralUserStore
from argon2 import PasswordHasher

from tests.central.pg import PgCluster, PgUnavailable
from tests.e2e.rig import free_port_block

TOKENS = {"Kraków": "krakow-token-0123456789", "Gdańsk": "gdansk-token-0123456789"}
_databases = itertools.count(1)
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)   # tests only


def central_toml(dsn: str, web_port: int = 8443, tz: str = "Europe/Warsaw") -> str:
    sites = "".join(f'\n[[site]]\nname = "{name}"\ntoken = "{token}"\n'
                    for name, token in TOKENS.items())
    return (f'[central]\ndatabase = "{dsn}"\n[web]\nlisten = "127.0.0.1:{web_port}"\n'
            f'[box]\nname = "Chain HQ"\ntimezone = "{tz}"\ncountry = "PL"\ncurrency = "PLN"\n'
            + sites)


@pytest.fixture(scope="session")
def pg_cluster():
    try:
        cluster = PgCluster(free_port_block(1))
    except PgUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is needed under CI: {exc}")
        pytest.skip(str(exc))
    yield cluster
    cluster.destroy()


@pytest.fixture
def pg_dsn(pg_cluster):
    """A fresh, empty database with the central's schema."""
    dsn = pg_cluster.create_database(f"central{next(_databases)}")
    with connect_waiting(dsn, timeout=10) as conn:
        migrate(conn)
    return dsn


@pytest.fixture
def central(pg_dsn):
    config = parse_central_config(central_toml(pg_dsn))
    db = Database(pg_dsn)
    yield Central(config, db, CentralUserStore(db, hasher=FAST_HASHER))
    db.close()


@pytest.fixture
def central_app(central):
    return create_central_app(central, secret_key="test-secret", testing=True)


@pytest.fixture
def central_client(central_app):
    return central_app.test_client()
