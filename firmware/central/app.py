"""The central panel's app factory: the box's sign-in, templates and styles; its own views.

    central = Central(config, Database(dsn), ...)
    app = create_central_app(central, secret_key=...)

The box's Panel is filled with a box Config carrying central.toml's [box] (time zone,
country, currency), so the box's parsers, sign-in views and templates work unchanged; what
differs is that every view reads from PostgreSQL through a site scope (`scope.py`).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, g, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.exceptions import HTTPException

import psycopg

from firmware.central.config import CentralConfig
from firmware.central.db import Database
from firmware.central.users import CentralUserStore
from firmware.webui import auth
from firmware.webui.access import init_access, is_api_request
from firmware.webui.app import _csrf_error, _http_error, _security_headers  # the same rules
from firmware.webui.i18n import (LANGUAGES, Formatter, choose_language, current_language,
                                  direction_label, line_type_label, status_label)
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import Panel

logger = logging.getLogger(__name__)

WEBUI = Path(__file__).resolve().parent.parent / "webui"
MAX_BATCH_BYTES = 4 * 1024 * 1024


@dataclass
class Central:
    config: CentralConfig
    db: Database
    users: CentralUserStore


def session_secret(db: Database) -> str:
    """The session-signing key, kept in the database (every central instance shares it)."""
    with db.connection() as conn:
        conn.execute("INSERT INTO central_settings (key, value) VALUES ('secret_key', %s) "
                     "ON CONFLICT (key) DO NOTHING", (secrets.token_hex(32),))
        return conn.execute("SELECT value FROM central_settings WHERE key = 'secret_key'"
                            ).fetchone()[0]


def create_central_app(central: Central, *, secret_key: str | bytes | None = None,
                       testing: bool = False) -> Flask:
    from firmware.central import api, ingest_api, pages

    app = Flask(__name__, static_folder=str(WEBUI / "static"), static_url_path="/static")
    app.jinja_loader = ChoiceLoader([FileSystemLoader(str(Path(__file__).parent / "templates")),
                                     FileSystemLoader(str(WEBUI / "templates"))])
    app.config.update(
        SECRET_KEY=secret_key or session_secret(central.db),
        TESTING=testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="callbox_central_session",
        MAX_CONTENT_LENGTH=MAX_BATCH_BYTES,
    )
    app.json.sort_keys = False
    app.extensions["central"] = central
    app.extensions["callbox"] = Panel(central.config.as_box_config(), None, central.users,
                                      None, lambda: {"storage": "ok"})
    init_access(app)
    _exempt_ingest_from_csrf(app)
    for module in (auth, ingest_api, api, *pages.BLUEPRINTS):
        app.register_blueprint(module.bp)
    app.before_request(_before)
    app.after_request(_security_headers)
    app.context_processor(_template_globals)
    app.url_defaults(pages.keep_site)
    from firmware.webui import api_figures     # the dashboard's trends and second row
    app.jinja_env.globals.update(trend=api_figures._trend, added_figures=api_figures._added_figures)
    app.jinja_env.globals.update(status_label=status_label, direction_label=direction_label,
                                 line_type_label=line_type_label)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(psycopg.OperationalError, _database_down)
    return app


def _exempt_ingest_from_csrf(app: Flask) -> None:
    """Boxes post with a bearer token and no cookie, so CSRF cannot apply to /api/ingest:
    the box's CSRF hook (access.py) is wrapped to let that one endpoint through."""
    from firmware.webui import access

    hooks = app.before_request_funcs.setdefault(None, [])

    def check_csrf() -> None:
        if request.endpoint != "ingest.ingest":
            access._check_csrf()

    hooks[hooks.index(access._check_csrf)] = check_csrf


def _before() -> None:
    g.lang = choose_language(_central().config.box.country)


def _central() -> Central:
    from flask import current_app

    return current_app.extensions["central"]


def _template_globals() -> dict:
    from firmware.central import pages

    box = _central().config.box
    return {"fmt": Formatter(box.country, box.currency, box.timezone), "box": box,
            "lang": current_language(), "languages": LANGUAGES,
            "callback_count": None, "central_sites": pages.site_choices()
            if current_user.is_authenticated else [],
            "current_site": g.get("site_name"), "call_value": lambda call: call.get("value")}


def _database_down(error: Exception):
    logger.error("database: %s", str(error).strip().splitlines()[-1] if str(error).strip()
                 else type(error).__name__)
    if is_api_request() or request.path == "/healthz":
        return jsonify(error="the database is not reachable; try again"), 503
    return render_template("error.html", code=503, title=_("The database is not reachable"),
                           message=_("Reload the page and try again.")), 503
