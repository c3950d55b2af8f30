"""The panel's app factory, its secret key and its waitress server.

    app = create_app(config, tracker, UserStore(data_dir))
    server = serve(app, "0.0.0.0", 8080)   # then server.run() in a thread; server.close()
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Callable

from flask import Flask, g, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from firmware.atomic import atomic_write
from firmware.config import Config
from firmware.tracker.errors import StoreError
from firmware.webui import (api, auth, callbacks, dashboard, entry_settings, history, live,
                            reports, settings, team, wrapup)
from firmware.webui import contact_imports, contacts, contacts_api, tasks
from firmware.webui.access import init_access, is_api_request
from firmware.webui.i18n import (LANGUAGES, Formatter, choose_language, current_language,
                                  direction_label, line_type_label, status_label)
from firmware.webui.i18n import gettext as _
from firmware.webui.i18n import init_babel
from firmware.webui.panel import Panel, get_panel
from firmware.webui.prefs import PanelPrefs
from firmware.webui.users import UserStore

logger = logging.getLogger(__name__)

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def load_or_create_secret(data_dir: Path) -> bytes:
    """The session-signing key in `data_dir/secret_key` (mode 0600), made on first use."""
    path = Path(data_dir) / "secret_key"
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
        logger.warning("%s is too short; making a new one (sessions restart)", path)
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32).encode("ascii")
    atomic_write(path, key)
    return key


def _default_health() -> dict:
    return {"sip": "unknown", "trunks": {}, "storage": "ok"}


def create_app(config: Config, tracker, users: UserStore, *,
               health: Callable[[], dict] | None = None, secret_key: bytes | str | None = None,
               testing: bool = False, prefs: PanelPrefs | None = None,
               config_path: Path | None = None,
               on_config: Callable[[Config], None] | None = None,
               switchboard=None, integrations=None) -> Flask:
    """The panel for one box: `tracker` answers the questions, `users` signs people in.

    `config_path` is the TOML file the settings page edits (None: the embedded default, not
    editable); after a valid save `on_config(new_config)` is called (default: the tracker's
    reload_config).
    """
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or load_or_create_secret(users.data_dir),
        TESTING=testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="callbox_session",
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.json.sort_keys = False   # answers keep the contract's order
    app.extensions["callbox"] = Panel(config, tracker, users, prefs or PanelPrefs(users.data_dir),
                                      health or _default_health,
                                      Path(config_path) if config_path else None, on_config,
                                      integrations=integrations)
    app.extensions["callbox"].switchboard = switchboard
    init_access(app)
    for module in (auth, api, dashboard, history, callbacks, reports, settings,
                   entry_settings, team, live):
        app.register_blueprint(module.bp)
    for module in (contacts_api, contacts, contact_imports, tasks):   # contacts, the funnel
        app.register_blueprint(module.bp)
    from firmware.webui import integrations_page, snippet_js

    app.register_blueprint(integrations_page.bp)
    app.register_blueprint(snippet_js.bp)
    from firmware.webui import api_figures      # /api/campaigns (issue 21)
    app.register_blueprint(api_figures.bp)
    from firmware.webui import monthly          # the monthly summary (issue 21)
    app.register_blueprint(monthly.bp)
    app.before_request(_before)
    app.after_request(_security_headers)
    app.context_processor(_template_globals)
    app.jinja_env.globals.update(status_label=status_label, direction_label=direction_label,
                                 line_type_label=line_type_label)
    init_babel(app, timezone_of=lambda: get_panel().config.box.timezone)   # docs/i18n.md
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(TimeoutError, _busy)
    app.register_error_handler(StoreError, _busy)
    return app


def _before() -> None:
    # The signed-in user's own language; before sign-in (setup, sign-in) the browser's.
    user_language = getattr(current_user, "language", None) \
        if current_user.is_authenticated else None
    g.lang = choose_language(get_panel().config.box.country, user_language)


def _template_globals() -> dict:
    panel = get_panel()
    box = panel.config.box
    pending = panel.tracker.queue_size() if current_user.is_authenticated else None
    return {"fmt": Formatter(box.country, box.currency, box.timezone), "box": box,
            "lang": current_language(), "languages": LANGUAGES, "callback_count": pending,
            "call_value": lambda call: wrapup.call_value(panel.config, call)}


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _csrf_error(error: CSRFError):
    if is_api_request():
        return jsonify(error=f"CSRF check failed: {error.description}",
                       field="X-CSRFToken"), 400
    return render_template("error.html", code=400, title=_("The form has expired"),
                           message=_("Reload the page and try again.")), 400


def _http_error(error: HTTPException):
    if is_api_request() or request.path == "/healthz":
        return jsonify(error=error.description or error.name), error.code
    titles = {403: _("Not allowed"), 404: _("Page not found"), 405: _("Not allowed"),
              413: _("Too much data")}
    return render_template("error.html", code=error.code,
                           title=titles.get(error.code, error.name),
                           message=""), error.code


def _busy(error: Exception):
    """The tracker did not answer in time, or the disk refused: try again later."""
    logger.error("request failed: %s", error)
    if is_api_request():
        return jsonify(error="the call store is busy or failing; try again"), 503
    return render_template("error.html", code=503, title=_("The box is busy"),
                           message=_("Reload the page and try again.")), 503


def serve(app: Flask, host: str, port: int, *, threads: int = 4):
    """A waitress server for `app`, bound now; call .run() (blocks) in a thread, .close() to stop.

    `server.effective_port` is the port bound (useful with port 0).
    """
    from waitress import create_server

    server = create_server(app, host=host, port=port, threads=threads, ident="callbox",
                           clear_untrusted_proxy_headers=True)
    logger.info("web panel on http://%s:%s/", host, server.effective_port)
    return server
