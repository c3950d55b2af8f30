"""A private PostgreSQL cluster for tests: initdb in a temp folder, pg_ctl on a loopback port.

Never the system service. Tests run as root and PostgreSQL refuses to, so initdb and pg_ctl run
as the `postgres` user (runuser) in a folder it owns; the cluster trusts local connections
(loopback and its own socket folder only) and is stopped and removed at teardown.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("CALLBOX_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PgUnavailable(RuntimeError):
    """No PostgreSQL server binaries here (a failure under CI=true, a skip elsewhere)."""


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class PgCluster:
    """initdb + pg_ctl start; `dsn(dbname)` to connect, `stop()` / `start()` to simulate an
    outage, `destroy()` to remove it all."""

    def __init__(self, port: int, settings: dict[str, str] | None = None):
        if not (PG_BIN / "initdb").exists():
            raise PgUnavailable(f"no {PG_BIN}/initdb (apt install postgresql)")
        self.port = port
        self.settings = dict(settings or {})     # extra server settings (benchmarks)
        self.root = Path(tempfile.mkdtemp(prefix="callbox-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.log = self.root / "server.log"
        self.sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
        os.chmod(self.root, 0o755)
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U",
                                     "postgres", "-A", "trust", "-E", "UTF8", "--no-sync",
                                     "--locale=C"]),
                       check=True, capture_output=True, timeout=120)
        self.start()

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        options += "".join(f" -c {key}={value}" for key, value in self.settings.items())
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                                     str(self.log), "-o", options, "-w", "-t", "60", "start"]),
                       check=True, capture_output=True, timeout=90)

    def stop(self) -> None:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m",
                                     "fast", "-w", "-t", "60", "stop"]),
                       check=False, capture_output=True, timeout=90)

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
