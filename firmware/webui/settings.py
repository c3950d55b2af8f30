"""Owner settings: the box's TOML config (edited as text, validated, written atomically,
reloaded live) and the wrap-up categories the panel keeps itself."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from firmware.config import ConfigError, parse_config
from firmware.webui import secrets_mask
from firmware.webui.access import owner_required
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import Panel, get_panel
from firmware.webui.users import UserError, atomic_write
from firmware.webui import config_words   # config problems in the reader's language

logger = logging.getLogger(__name__)

bp = Blueprint("settings", __name__, url_prefix="/settings")

MAX_CONFIG = 50_000   # under the 64 KiB request limit, form-encoded


@bp.route("/categories", methods=["GET", "POST"])
@owner_required
def categories():
    panel = get_panel()
    error = None
    if request.method == "POST":
        try:
            panel.prefs.set_categories(request.form.get("categories", "").splitlines())
        except UserError as exc:
            error = exc.text()
        else:
            flash(_("Categories saved."))
            return redirect(url_for("settings.categories")), 303
    text = request.form.get("categories") if error else "\n".join(panel.prefs.categories())
    return render_template("categories.html", text=text, error=error,
                           users=panel.users.all()), 400 if error else 200


@bp.route("/config", methods=["GET", "POST"])
@owner_required
def config():
    """The config file as text. Saved only when it validates; then the box reloads it."""
    panel = get_panel()
    path = panel.config_path
    problems: list[str] = []
    if path is None:
        text = None
    elif request.method == "POST":
        text = request.form.get("config", "").replace("\r\n", "\n")
        try:
            whole, problems = secrets_mask.unmask(text, path.read_text(encoding="utf-8"))
            if problems:
                raise ConfigError(problems)
            save_config(panel, whole, "the config text")
        except ConfigError as exc:
            problems = config_words.translate_all(exc.problems)
            text = secrets_mask.mask(text)
        else:
            flash(_("Settings saved and applied."))
            return redirect(url_for("settings.config")), 303
    else:
        text = secrets_mask.mask(path.read_text(encoding="utf-8"))   # never shown as values
    return render_template("config.html", text=text, path=path, problems=problems), \
        400 if problems else 200


def save_config(panel: Panel, text: str, what: str) -> None:
    """Validate `text` as the whole config, write it atomically and apply it live.

    ConfigError (nothing written) when it does not validate. The caller holds `panel.lock`
    when `text` was made from the file's current content (read, change, write).
    """
    path = panel.config_path
    if path is None:
        raise ConfigError(["config: the box runs on its built-in settings; nothing to save"])
    if len(text) > MAX_CONFIG:
        raise ConfigError([f"config: longer than {MAX_CONFIG} characters"])
    new = parse_config(text, str(path))
    atomic_write(path, text.encode("utf-8"), mode=0o600)
    logger.info("config %s saved from the panel by %s: %s", path, current_user.name, what)
    panel.apply_config(new)
