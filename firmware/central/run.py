"""`callbox central`: wait for the database, apply migrations, serve the panel and /api/ingest.

SIGTERM/SIGINT stop the web server and close the connections.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

from firmware.central import rollup
from firmware.central.app import Central, create_central_app
from firmware.central.config import CentralConfig, load_central_config
from firmware.central.db import Database, connect_waiting, migrate, safe_dsn
from firmware.central.users import CentralUserStore, passwd_command
from firmware.config import ConfigError

logger = logging.getLogger("callbox.central")


def _load(path: Path) -> CentralConfig | None:
    try:
        return load_central_config(path)
    except ConfigError as exc:
        for line in exc.problems:
            logger.error("config: %s", line)
        logger.error("cannot start: fix %s", path)
        return None


def open_database(config: CentralConfig, timeout: float | None = None) -> Database:
    """Wait for the database (saying so), bring its schema up to date, return the pool."""
    with connect_waiting(config.database, timeout=timeout) as conn:
        applied = migrate(conn)
        with conn.transaction():
            rollup.ensure(conn, config.box.timezone)
    logger.info("database %s ready (%s)", safe_dsn(config.database),
                f"applied {', '.join(applied)}" if applied else "schema up to date")
    return Database(config.database)


def run_central(path: Path) -> int:
    config = _load(path)
    if config is None:
        return 1
    db = open_database(config)
    central = Central(config, db, CentralUserStore(db))
    app = create_central_app(central)
    from waitress import create_server

    server = create_server(app, host=config.web.listen_host, port=config.web.listen_port,
                           threads=6, ident="callbox-central", clear_untrusted_proxy_headers=True)
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    logger.info("central: panel on http://%s:%d/, %d sites configured", config.web.listen_host,
                server.effective_port, len(config.sites))
    logger.info("central: ready")
    stopping.wait()
    logger.info("central: stopping")
    server.close()
    db.close()
    logger.info("central: stopped")
    return 0


def central_passwd(path: Path, user: str, role: str, site: str | None) -> int:
    config = _load(path)
    if config is None:
        return 1
    db = open_database(config, timeout=30)
    try:
        return passwd_command(CentralUserStore(db), user, role, site,
                              [s.name for s in config.sites], sys.stdin)
    finally:
        db.close()
