"""The task list (callbacks and follow-ups due, most urgent first, "take the next one") and the
owner's funnel page (contacts per stage, won and lost, lost reasons and their list)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from firmware.tracker.errors import BadInput
from firmware.tracker.query import parse_period
from firmware.webui import contacts_data as data
from firmware.webui import funnel_export as funnel_export_file
from firmware.webui.access import owner_required
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import get_panel
from firmware.webui.config_words import translate_message

bp = Blueprint("tasks", __name__)


def _my_tasks() -> list[dict]:
    mine = request.args.get("mine") == "1" or not current_user.is_owner
    return data.tasks(get_panel(), current_user, current_user.name if mine and
                      current_user.is_owner else None)


@bp.get("/tasks")
@login_required
def index():
    return render_template("tasks.html", tasks=_my_tasks(), mine=request.args.get("mine") == "1")


@bp.post("/tasks/next")
@login_required
def take_next():
    """Take the most urgent task: an unassigned follow-up becomes the user's; open it."""
    panel = get_panel()
    for task in _my_tasks():
        contact = task["contact"]
        if task["kind"] == "follow_up":
            found = data.store(panel).get(contact["id"])
            if found is None or found["owner"] not in ("", current_user.name):
                continue
            if not found["owner"]:
                data.store(panel).change(contact["id"], {"owner": current_user.name},
                                         current_user.name, data.rules(panel))
            return redirect(url_for("contacts.card", contact_id=contact["id"]), 303)
        if contact:
            return redirect(url_for("contacts.card", contact_id=contact["id"]), 303)
        return redirect(url_for("history.index", number=task["number"],
                                **{"from": task["due_at"][:10]}), 303)
    flash(_("Nothing is due."))
    return redirect(url_for("tasks.index"), 303)


@bp.get("/funnel")
@owner_required
def funnel():
    panel = get_panel()
    error = None
    try:
        start, end = parse_period(request.args, panel.config, default_days=30)
    except BadInput as exc:
        error = exc
        start, end = parse_period({}, panel.config, default_days=30)
    return render_template("funnel.html", figures=data.funnel(panel, start, end), error=error,
                           reasons=data.store(panel).reasons(),
                           values={"from": start.isoformat(), "to": end.isoformat()}), \
        400 if error else 200


@bp.get("/funnel/export.<ext>")
@owner_required
def funnel_export(ext: str):
    """The funnel report as a file (`csv` or `xlsx`), same period arguments as the page."""
    panel = get_panel()
    if ext not in ("csv", "xlsx"):
        abort(404)
    try:
        start, end = parse_period(request.args, panel.config, default_days=30)
    except BadInput as exc:
        abort(400, description=f"{exc.field}: {exc.message}")
    figures = data.funnel(panel, start, end)
    name = f"funnel-{start.isoformat()}-{end.isoformat()}.{ext}"
    if ext == "csv":
        body, kind = funnel_export_file.to_csv(figures), "text/csv"
    else:
        body = funnel_export_file.to_xlsx(figures)
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=kind,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/funnel/reasons")
@owner_required
def save_reasons():
    panel = get_panel()
    lines = request.form.get("reasons", "").splitlines()
    try:
        data.store(panel).set_reasons(lines, current_user.name)
    except BadInput as exc:
        flash(f"{_('Lost reasons')}: {translate_message(exc.message)}", "error")
    else:
        flash(_("Lost reasons saved."))
    return redirect(url_for("tasks.funnel"), 303)
