"""The central's database: migrations applied once at start; a database that is down at
start is waited for, and the wait is said in the log."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import psycopg
import pytest

from firmware.central.db import connect_waiting, migrate, migrations
from tests.central.conftest import central_toml
from tests.central.pg import PgCluster
from tests.e2e.rig import free_port_block


def test_migrations_are_numbered_and_applied_once(pg_cluster):
    dsn = pg_cluster.create_database("migrations")
    names = [name for _, name, _ in migrations()]
    assert names and names[0].startswith("001_")
    with psycopg.connect(dsn) as conn:
        assert migrate(conn) == names
        assert migrate(conn) == []            # a second start changes nothing
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [name for _, name in rows] == names
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"sites", "calls", "callback_queues", "users"} <= tables


def test_a_database_that_stays_down_is_reported_and_gives_up_after_the_timeout(caplog):
    port = free_port_block(1)
    caplog.set_level(logging.WARNING)
    with pytest.raises(psycopg.OperationalError):
        connect_waiting(f"postgresql://postgres@127.0.0.1:{port}/x", timeout=0.5,
                        interval=0.1)
    assert "not reachable yet" in caplog.text and "waiting" in caplog.text


def test_the_central_waits_for_a_database_that_comes_up_later(tmp_path):
    """`callbox central` started before PostgreSQL: it says it waits, then serves."""
    pg_port, web_port = free_port_block(1), free_port_block(1)
    path = tmp_path / "central.toml"
    path.write_text(central_toml(f"postgresql://postgres@127.0.0.1:{pg_port}/postgres",
                                 web_port))
    log = tmp_path / "central.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "firmware", "central", "--config",
                                 str(path)], stdout=out, stderr=subprocess.STDOUT)
    cluster = None
    try:
        _wait_for(lambda: b"waiting for it" in log.read_bytes(), 20)
        cluster = PgCluster(pg_port)
        _wait_for(lambda: b"central: ready" in log.read_bytes(), 30)
        text = log.read_text()
        assert "applied 001_initial.sql" in text
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=5) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
        if cluster is not None:
            cluster.destroy()
    assert "central: stopped" in log.read_text()


def _wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)
