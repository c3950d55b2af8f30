"""Owner settings: the campaigns (tracked numbers), as forms instead of TOML.

A new advert means a new number on the trunk and a new campaign here; the owner should not
have to learn TOML for it. Each save edits the `[[campaign]]` tables of the one config file
(config_edit keeps the rest of the file and its comments), validates the whole file as
`callbox check-config` would, writes it atomically and applies it live: the next call to the
number is tracked under the campaign, and calls in progress go on undisturbed.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from firmware.config import Campaign, ConfigError
from firmware.webui import config_edit
from firmware.webui.access import owner_required
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import Panel, get_panel
from firmware.webui.settings import save_config

bp = Blueprint("campaigns", __name__, url_prefix="/settings/campaigns")

MAX_CAMPAIGNS = 500


@bp.get("")
@owner_required
def index():
    panel = get_panel()
    names = {ext.number: ext.name for ext in panel.config.extensions}
    rows = [{"index": n, "campaign": c,
             "ring": [f"{ext} · {names[ext]}" if names.get(ext) else ext for ext in c.ring]}
            for n, c in enumerate(panel.config.campaigns)]
    return render_template("campaigns.html", rows=rows, editable=panel.config_path is not None)


@bp.route("/new", methods=["GET", "POST"])
@owner_required
def new():
    return _form(None)


@bp.route("/<int:index>", methods=["GET", "POST"])
@owner_required
def edit(index: int):
    return _form(index)


@bp.post("/<int:index>/delete")
@owner_required
def delete(index: int):
    panel = get_panel()
    name = request.form.get("name", "")
    with panel.lock:
        try:
            text = config_edit.delete_campaign(_current_text(panel), index, name)
            save_config(panel, text, f"campaign {name!r} removed")
        except ConfigError as exc:
            flash(_("Not saved:") + " " + "; ".join(exc.problems), "error")
            return redirect(url_for("campaigns.index")), 303
    flash(_("Campaign %(name)s removed. Its calls stay in the history.", name=name))
    return redirect(url_for("campaigns.index")), 303


def _form(index: int | None):
    panel = get_panel()
    if panel.config_path is None:
        abort(404)
    campaigns = panel.config.campaigns
    if index is not None and not 0 <= index < len(campaigns):
        abort(404)
    current = campaigns[index] if index is not None else None
    errors: dict[str, str] = {}
    problems: list[str] = []
    values = _values_of(current)
    if request.method == "POST":
        values = {**values, **request.form.to_dict(), "ring": request.form.getlist("ring")}
        errors, problems = _save(panel, index, current)
        if not errors and not problems:
            flash(_("Campaign %(name)s saved. Calls to its number are tracked from now on.",
                    name=request.form.get("name", "").strip()))
            return redirect(url_for("campaigns.index")), 303
    status = 400 if errors or problems else 200
    return render_template("campaign_form.html", index=index, current=current, values=values,
                           errors=errors, problems=problems,
                           extensions=panel.config.extensions,
                           currency=panel.config.box.currency), status


def _save(panel: Panel, index: int | None, current: Campaign | None
          ) -> tuple[dict[str, str], list[str]]:
    """Field errors and other problems; both empty when the campaign was saved and applied."""
    extensions = [ext.number for ext in panel.config.extensions]
    try:
        values = config_edit.campaign_values(request.form, extensions)
    except config_edit.FieldError as exc:
        return {exc.field: _(exc.message)}, []
    if index is None and len(panel.config.campaigns) >= MAX_CAMPAIGNS:
        return {}, [_("At most %(n)s campaigns.", n=MAX_CAMPAIGNS)]
    at = index if index is not None else len(panel.config.campaigns)
    with panel.lock:
        try:
            text = _current_text(panel)
            if index is None:
                at = config_edit.campaign_count(text)
            text = config_edit.set_campaign(text, index, values,
                                            current.name if current else None)
            save_config(panel, text, f"campaign {values['name']!r} saved")
        except ConfigError as exc:
            return config_edit.field_problems(exc.problems, at)
    return {}, []


def _current_text(panel: Panel) -> str:
    assert panel.config_path is not None
    try:
        return panel.config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"config: cannot read {panel.config_path}: {exc.strerror}"]) from None


def _values_of(campaign: Campaign | None) -> dict:
    if campaign is None:
        return {"name": "", "number": "", "source": "", "lead_value": "", "cost_per_month": "",
                "ring": []}
    return {"name": campaign.name, "number": campaign.number, "source": campaign.source,
            "lead_value": f"{campaign.lead_value:g}",
            "cost_per_month": f"{campaign.cost_per_month:g}", "ring": list(campaign.ring)}

