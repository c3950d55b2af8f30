"""Who is asking: session sign-in (Flask-Login), HTTP Basic for the API, CSRF, roles.

Rules (see docs/api.md):
- Pages use the session cookie only. API calls (/api/...) use the session cookie or HTTP Basic;
  a Basic header decides alone (the cookie is then ignored), so a script never depends on a
  browser's session.
- Every state-changing request needs the CSRF token (form field, or the X-CSRFToken header for
  the panel's own JSON calls), except API calls authenticated by Basic: no cookie is involved.
  API POST bodies must also be JSON, which a cross-site form cannot send.
- Failed Basic attempts count against the same throttle as the sign-in form.
"""

from __future__ import annotations

import logging
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, abort, g, jsonify, redirect, request, url_for
from flask_login import LoginManager, current_user, login_required
from flask_wtf.csrf import CSRFProtect

from firmware.webui.i18n import gettext as _
from firmware.webui.i18n import install_template_globals
from firmware.webui.panel import get_panel

logger = logging.getLogger(__name__)

csrf = CSRFProtect()
login_manager = LoginManager()
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def client_address() -> str:
    return request.remote_addr or "?"


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _basic_credentials():
    auth = request.authorization
    if is_api_request() and auth is not None and auth.type == "basic":
        return auth
    return None


@login_manager.user_loader
def _load_session_user(session_id: str):
    if _basic_credentials() is not None:
        return None
    return get_panel().users.load_session_id(session_id)


@login_manager.request_loader
def _load_basic_user(_request):
    auth = _basic_credentials()
    if auth is None:
        return None
    panel = get_panel()
    name, password = auth.username or "", auth.password or ""
    wait = panel.throttle.retry_after(client_address(), name)
    if wait > 0:
        g.retry_after = wait
        return None
    user = panel.users.verify(name, password)
    if user is None:
        panel.throttle.failed(client_address(), name)
        logger.warning("API sign-in failed for %r from %s", name, client_address())
        return None
    panel.throttle.succeeded(name, client_address())
    return user


@login_manager.unauthorized_handler
def _unauthorized():
    if is_api_request():
        wait = g.get("retry_after")
        if wait:
            response = jsonify(error="too many failed sign-ins; try again later")
            response.status_code = 429
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        response = jsonify(error="sign in required")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Basic realm="Callbox", charset="UTF-8"'
        return response
    if not get_panel().users.has_users():
        return redirect(url_for("auth.setup"))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def safe_next(target: str | None, default: str) -> str:
    """`target` when it is a path on this site, else `default` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return default
    return target


def _check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    if _basic_credentials() is not None:
        return
    csrf.protect()


def owner_required(view):
    """The signed-in owner only; staff get 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_owner:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def init_access(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.login_message = None
    app.before_request(_check_csrf)
    app.jinja_env.globals["_"] = _
    install_template_globals(app)     # ngettext, stored words' labels (docs/i18n.md)
