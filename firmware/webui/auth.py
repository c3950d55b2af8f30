"""First-run setup of the owner, sign-in, sign-out, language switch."""

from __future__ import annotations

import logging

from flask import (Blueprint, abort, flash, redirect, render_template, request, session,
                   url_for)
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from firmware.webui.access import client_address, safe_next
from firmware.webui.host_check import is_box_host
from firmware.webui.i18n import LANGUAGES, current_language
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import get_panel
from firmware.webui.users import MAX_PASSWORD, UserError
from firmware.webui.i18n import N_

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

OPEN_BY_ADDRESS = \
    N_("Open the box by its address (for example http://192.168.1.20:8080/) to set it up.")


class LoginForm(FlaskForm):
    user = StringField("user", validators=[DataRequired(), Length(max=32)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=MAX_PASSWORD)])


class SetupForm(FlaskForm):
    user = StringField("user", validators=[DataRequired(), Length(max=32)])
    password = PasswordField("password", validators=[DataRequired()])
    confirm = PasswordField("confirm", validators=[DataRequired()])


def _home() -> str:
    return url_for("dashboard.index") if current_user.is_owner else url_for("history.index")


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    panel = get_panel()
    if panel.users.has_users():
        return redirect(url_for("auth.login"))
    if not is_box_host(request.host):
        # DNS rebinding (issue 14.18): a page under someone else's name must not claim the box
        logger.warning("setup refused for Host %r from %s: not the box's address or name",
                       request.host[:100], client_address())
        return render_template(
            "error.html", code=400, title=_("Not set up from here"),
            message=_(OPEN_BY_ADDRESS)), 400
    form = SetupForm()
    error = None
    if form.validate_on_submit():
        if form.password.data != form.confirm.data:
            error = _("The two passwords differ.")
        else:
            try:
                user = panel.users.set_password(form.user.data.strip(), form.password.data,
                                                "owner", None, only_if_empty=True,
                                                language=current_language())   # as read here
            except UserError as exc:
                error = exc.text()
            else:
                logger.info("owner %r created from %s", user.name, client_address())
                session.clear()
                login_user(user)
                return redirect(url_for("dashboard.index"))
    elif form.is_submitted():
        error = _("Fill in every field.")
    return render_template("setup.html", form=form, error=error), 400 if error else 200


@bp.route("/login", methods=["GET", "POST"])
def login():
    panel = get_panel()
    if not panel.users.has_users():
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return redirect(_home())
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        name = form.user.data.strip()
        wait = panel.throttle.retry_after(client_address(), name)
        user = None if wait else panel.users.verify(name, form.password.data)
        if wait:
            error, status = _("Too many failed attempts. Try again in %(seconds)s s.",
                              seconds=int(wait) + 1), 429
        elif user is None:
            panel.throttle.failed(client_address(), name)
            logger.warning("sign-in failed for %r from %s", name, client_address())
            error, status = _("Wrong user name or password."), 401
        else:
            panel.throttle.succeeded(name, client_address())
            session.clear()
            login_user(user)
            logger.info("%s signed in from %s", user.name, client_address())
            return redirect(safe_next(request.args.get("next"), _home()))
    elif form.is_submitted():
        error, status = _("Fill in every field."), 400
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash(_("Signed out."))
    return redirect(url_for("auth.login"))


@bp.get("/language/<code>")
def language(code: str):
    if code not in LANGUAGES:
        abort(404)
    response = redirect(safe_next(request.args.get("next"), url_for("dashboard.index")))
    store = get_panel().users
    if current_user.is_authenticated and hasattr(store, "set_language"):
        store.set_language(current_user.name, code)      # it follows them to any browser
    response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
