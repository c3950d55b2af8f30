"""Owner settings: the panel's users (add, change a password, change a role, remove).

Same rules as `callbox passwd`, plus: a user's extension is one of the box's, the owner cannot
remove or demote themselves, and the last owner stays (UserStore refuses that itself). Every
change bumps or ends the user's sessions (see users.py); the owner's own session is kept.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user

from firmware.webui.access import owner_required
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import get_panel
from firmware.webui.users import User, UserError, check_name
from firmware.webui.i18n import LANGUAGES, N_, country_language

logger = logging.getLogger(__name__)

bp = Blueprint("team", __name__, url_prefix="/settings/users")


def _passwords() -> str:
    password = request.form.get("password", "")
    if password != request.form.get("confirm", ""):
        raise UserError("password", "The two passwords differ.")
    return password


def _page(error: UserError | None = None, form: str = "", name: str = ""):
    """The users page; with `error`, shown at `form` ("add", "password" or "delete" of `name`)."""
    panel = get_panel()
    shown = None
    if error is not None:
        message = error.text()   # the store's are lower case, for `callbox passwd`
        shown = {"form": form, "name": name, "field": error.field,
                 "message": message[:1].upper() + message[1:]}
    posted = request.form if form == "add" else {}
    return render_template("users.html", users=panel.users.all(), error=shown, posted=posted,
                           extensions=[(e.number, e.name) for e in panel.config.extensions],
                           new_user_language=country_language(panel.config.box.country)), \
        400 if error else 200


def _keep_my_session(user: User) -> None:
    """The owner changed their own record: this session goes on with the new generation."""
    if user.name == current_user.name:
        login_user(user)


@bp.get("")
@owner_required
def users():
    return _page()


@bp.post("")
@owner_required
def save():
    """Add a user, or set an existing one's password, role and extension."""
    panel = get_panel()
    name = request.form.get("user", "").strip()
    role = request.form.get("role", "")
    extension = request.form.get("extension", "") or None
    try:
        check_name(name)
        password = _passwords()
        if extension is not None and extension not in {e.number for e in panel.config.extensions}:
            raise UserError("extension", N_("Choose one of the box's extensions."))
        if name == current_user.name and role != "owner":
            raise UserError("role", N_("You cannot make yourself staff; another owner can."))
        existed = panel.users.get(name) is not None
        language = request.form.get("language") or None
        if language is not None and language not in LANGUAGES:
            raise UserError("language", N_("choose one of the panel's languages"))
        user = panel.users.set_password(name, password, role, extension, language=language)
    except UserError as exc:
        return _page(exc, "add")
    _keep_my_session(user)
    where = f", extension {user.extension}" if user.extension else ""
    logger.info("%s %s panel user %s (%s%s)", current_user.name,
                "updated" if existed else "added", user.name, user.role, where)
    flash(_("User %(name)s saved.", name=user.name))
    return redirect(url_for("team.users")), 303


@bp.post("/<name>/password")
@owner_required
def password(name: str):
    panel = get_panel()
    if panel.users.get(name) is None:
        abort(404)
    try:
        user = panel.users.change_password(name, _passwords())
    except UserError as exc:
        return _page(exc, "password", name)
    if user is None:
        abort(404)
    _keep_my_session(user)
    logger.info("%s changed the password of panel user %s", current_user.name, name)
    flash(_("Password changed for %(name)s.", name=name))
    return redirect(url_for("team.users")), 303


@bp.post("/<name>/delete")
@owner_required
def delete(name: str):
    panel = get_panel()
    try:
        if name == current_user.name:
            raise UserError("user", N_("You cannot remove yourself; another owner can."))
        user = panel.users.delete(name)
    except UserError as exc:
        return _page(exc, "delete", name)
    if user is None:
        abort(404)
    logger.info("%s removed panel user %s (%s)", current_user.name, name, user.role)
    flash(_("User %(name)s removed.", name=name))
    return redirect(url_for("team.users")), 303


@bp.post("/<name>/language")
@owner_required
def language(name: str):
    """The panel language of one user (docs/i18n.md); it follows them to any browser."""
    panel = get_panel()
    if panel.users.get(name) is None:
        abort(404)
    try:
        user = panel.users.set_language(name, request.form.get("language") or None)
    except UserError as exc:
        return _page(exc, "language", name)
    if user is None:
        abort(404)
    logger.info("%s set the panel language of %s to %s", current_user.name, name,
                user.language or "the browser's")
    flash(_("Language saved for %(name)s.", name=name))
    return redirect(url_for("team.users")), 303
