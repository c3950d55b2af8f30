"""Owner settings as forms: campaigns, desk phones and trunks, and the general settings.

A new advert means a new number and a new campaign; a new colleague, a new desk phone. The
owner should not have to learn TOML for that. Every save edits the one config file through
config_edit (the rest of the file and its comments stay), validates the whole file as
`callbox check-config` would, writes it atomically and applies it live: the next call uses
it, and calls in progress go on undisturbed. What each form shows is in settings_forms.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from firmware.config import ConfigError
from firmware.webui import config_edit
from firmware.webui.access import owner_required
from firmware.webui.i18n import gettext as _
from firmware.webui.i18n import ngettext
from firmware.webui.panel import Panel, get_panel
from firmware.webui.settings import save_config
from firmware.webui.settings_forms import (GENERAL, KINDS, FieldError, Kind, entry_values,
                                           form_text, general_values)
from firmware.webui import config_words   # config problems in the reader's language

bp = Blueprint("entries", __name__, url_prefix="/settings")

MAX_ENTRIES = 500
SLUGS = "any(" + ", ".join(KINDS) + ")"


@bp.get(f"/<{SLUGS}:slug>")
@owner_required
def index(slug: str):
    panel = get_panel()
    return render_template(f"settings_{slug}.html", kind=KINDS[slug],
                           entries=list(enumerate(_entries(panel, KINDS[slug]))),
                           extension_names={e.number: e.name for e in panel.config.extensions},
                           campaigns=panel.config.campaigns,
                           trunk_states=panel.health().get("trunks", {}) if slug == "trunks"
                           else {},
                           editable=panel.config_path is not None)


@bp.route(f"/<{SLUGS}:slug>/new", methods=["GET", "POST"])
@owner_required
def new(slug: str):
    return _form(KINDS[slug], None)


@bp.route(f"/<{SLUGS}:slug>/<int:index>", methods=["GET", "POST"])
@owner_required
def edit(slug: str, index: int):
    return _form(KINDS[slug], index)


@bp.post(f"/<{SLUGS}:slug>/<int:index>/delete")
@owner_required
def delete(slug: str, index: int):
    kind, panel = KINDS[slug], get_panel()
    name = request.form.get("identity", "")
    with panel.lock:
        try:
            text = config_edit.delete_entry(_current_text(panel), kind.table, index,
                                            kind.identity, name)
            save_config(panel, text, f"{kind.singular} {name!r} removed")
        except ConfigError as exc:
            flash(_("Not saved:") + " " + "; ".join(config_words.translate_all(exc.problems)),
                  "error")
            return redirect(url_for("entries.index", slug=slug)), 303
    flash(_("%(name)s removed.", name=name))
    return redirect(url_for("entries.index", slug=slug)), 303


@bp.route("/general", methods=["GET", "POST"])
@owner_required
def general():
    panel = get_panel()
    values = {field.key: form_text(field, getattr(getattr(panel.config, table), field.key))
              for table, field in GENERAL}
    errors: dict[str, str] = {}
    problems: list[str] = []
    if request.method == "POST":
        values = {**values, **request.form.to_dict()}
        try:
            tables = general_values(request.form)
        except FieldError as exc:
            errors = {exc.field: exc.text()}
        else:
            errors, problems = _save(panel, lambda text: config_edit.set_tables(text, tables),
                                     [table for table, _field in GENERAL], "general settings")
        if not errors and not problems:
            flash(_("Settings saved and applied."))
            return redirect(url_for("entries.general")), 303
    return render_template("settings_general.html", fields=GENERAL, values=values,
                           errors=errors, problems=problems,
                           editable=panel.config_path is not None,
                           timezones=sorted(zoneinfo.available_timezones())), \
        400 if errors or problems else 200


def _form(kind: Kind, index: int | None):
    panel = get_panel()
    if panel.config_path is None:
        abort(404)
    entries = _entries(panel, kind)
    if index is not None and not 0 <= index < len(entries):
        abort(404)
    current = entries[index] if index is not None else None
    values = {field.key: form_text(field, getattr(current, field.key)) if current else
              _blank(field) for field in kind.fields}
    errors: dict[str, str] = {}
    problems: list[str] = []
    if request.method == "POST":
        values = {**values, **request.form.to_dict()}
        for field in kind.fields:
            if field.kind == "phones":
                values[field.key] = request.form.getlist(field.key)
            elif field.kind == "flag":
                values[field.key] = field.key in request.form
            elif field.kind == "secret":
                values[field.key] = ""
        errors, problems = _save_entry(panel, kind, index, current)
        if not errors and not problems:
            name = request.form.get(kind.identity, "").strip()
            flash(_("%(name)s saved.", name=name) + " " + _(kind.saved_note))
            return redirect(url_for("entries.index", slug=kind.slug)), 303
    return render_template("entry_form.html", kind=kind, index=index, current=current,
                           identity=getattr(current, kind.identity) if current else None,
                           values=values, errors=errors, problems=problems,
                           extensions=panel.config.extensions,
                           currency=panel.config.box.currency), \
        400 if errors or problems else 200


def _save_entry(panel: Panel, kind: Kind, index: int | None, current: Any
                ) -> tuple[dict[str, str], list[str]]:
    extensions = [ext.number for ext in panel.config.extensions]
    try:
        values = entry_values(kind, request.form, extensions, new=index is None)
    except FieldError as exc:
        return {exc.field: exc.text()}, []
    expected = str(getattr(current, kind.identity)) if current is not None else None
    count = len(_entries(panel, kind))
    if index is None and count >= MAX_ENTRIES:
        return {}, [ngettext("At most %(n)s entry.", "At most %(n)s entries.", MAX_ENTRIES,
                             n=MAX_ENTRIES)]
    at = index if index is not None else count
    return _save(panel,
                 lambda text: config_edit.set_entry(text, kind.table, index, values,
                                                    kind.identity, expected),
                 [f"{kind.table}[{at + 1}]"],
                 f"{kind.singular} {values.get(kind.identity)!r} saved")


def _save(panel: Panel, change, tables: list[str], what: str
          ) -> tuple[dict[str, str], list[str]]:
    """Apply `change` (text -> text) to the file and save it: (field errors, other problems),
    both empty when saved and applied. `tables` are those the form shows (field_problems)."""
    with panel.lock:
        try:
            save_config(panel, change(_current_text(panel)), what)
        except ConfigError as exc:
            return config_edit.field_problems(config_words.translate_all(exc.problems), tables)
    return {}, []


def _blank(field) -> Any:
    """What a new entry's form shows: nothing ticked, registration on (most trunks)."""
    if field.kind == "flag" and field.default is not None:
        return field.default
    return [] if field.kind == "phones" else (field.kind == "flag") or ""


def _entries(panel: Panel, kind: Kind) -> tuple:
    return getattr(panel.config, kind.table + "s")


def _current_text(panel: Panel) -> str:
    if panel.config_path is None:
        raise ConfigError(["config: the box runs on its built-in settings; nothing to save"])
    try:
        return panel.config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"config: cannot read {panel.config_path}: {exc.strerror}"]) from None
