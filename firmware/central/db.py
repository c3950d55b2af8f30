"""The central's PostgreSQL: connecting (and waiting for it), migrations, a small pool.

Why a pool of our own: waitress serves from a few threads and each needs a connection; a
LIFO stack of at most `size` connections, dropped when broken, is all that takes (no extra
dependency). Migrations are the numbered .sql files in migrations/, applied in order at
start, each in its own transaction, recorded in schema_migrations, under an advisory lock so
two centrals starting at once do not race.
"""

from __future__ import annotations

import logging
import queue
import re
import time
from contextlib import contextmanager
from importlib import resources
from typing import Callable, Iterator

import psycopg

logger = logging.getLogger(__name__)

MIGRATION_LOCK = 0x0CA11B0C       # pg_advisory_lock key
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration shipped in the package, in order."""
    folder = resources.files("firmware.central") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the migrations this database lacks; returns the names applied."""
    applied: list[str] = []
    conn.autocommit = True
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY "
                     "KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in migrations():
            if version in done:
                continue
            with conn.transaction():
                conn.execute(sql)
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                             (version, name))
            logger.info("database: applied migration %s", name)
            applied.append(name)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        conn.autocommit = False
    return applied


# What every connection of the central sets first. No JIT: the central's queries are short
# (rollup rows, one index range per site), but PostgreSQL's cost estimates grow with the
# tables, and past jit_optimize_above_cost it spent ~1 s compiling a query that then ran in
# 80 ms (the all-sites call list at 1M rows; docs/central.md, "Measured at 20M rows").
SESSION_SETTINGS = "SET jit = off"


def connect(dsn: str, **kwargs) -> psycopg.Connection:
    """A connection with the central's session settings."""
    conn = psycopg.connect(dsn, **{"connect_timeout": 10, **kwargs})
    try:
        conn.execute(SESSION_SETTINGS)
        if not conn.autocommit:
            conn.commit()
    except BaseException:
        conn.close()
        raise
    return conn


def connect_waiting(dsn: str, *, timeout: float | None = None, interval: float = 2.0,
                    sleep: Callable[[float], None] = time.sleep) -> psycopg.Connection:
    """A connection, waiting (and saying so) while the database is down; raises after
    `timeout` seconds (None: wait for ever)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    said = False
    while True:
        try:
            return connect(dsn)
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            if deadline is not None and time.monotonic() >= deadline:
                raise
            if not said:
                logger.warning("database %s not reachable yet (%s); waiting for it",
                               safe_dsn(dsn), reason)
                said = True
            sleep(interval)


def safe_dsn(dsn: str) -> str:
    """The DSN without its password, for the log."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)


class Database:
    """Connections for the web threads: `with db.connection() as conn:` (a transaction that
    commits on success and rolls back on error)."""

    def __init__(self, dsn: str, size: int = 6):
        self.dsn = dsn
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._size = size

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = connect(self.dsn)
        try:
            with conn.transaction():
                yield conn
        finally:
            if conn.broken or conn.closed or self._idle.qsize() >= self._size:
                conn.close()
            else:
                self._idle.put(conn)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
