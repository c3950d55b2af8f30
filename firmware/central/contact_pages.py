"""The central's contact list: every site's contacts (or one site's) as their boxes reported
them, searchable like the box's list (`q`, `stage`), read-only (contacts change on the boxes)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import login_required

from firmware.central import contacts
from firmware.central.scope import request_scope
from firmware.tracker.contact_rules import STAGES
from firmware.tracker.errors import BadInput
from firmware.webui.contacts import stage_label

bp = Blueprint("contacts", __name__)

PAGE_SIZE = 200


@bp.get("/contacts", endpoint="index")
@login_required
def contact_list():
    values = {key: request.args.get(key, "") for key in ("q", "stage")}
    error = None
    with current_app.extensions["central"].db.connection() as conn:
        try:
            scope = request_scope(conn)
        except BadInput:
            abort(404)
        try:
            found, more = contacts.search(conn, scope.site, values, PAGE_SIZE,
                                          empty=scope.empty)
        except BadInput as exc:
            error = exc
            found, more = contacts.search(conn, scope.site, {}, PAGE_SIZE, empty=scope.empty)
    return render_template("central_contacts.html", contacts=found, more=more, values=values,
                           error=error, stages=STAGES, stage_label=stage_label,
                           all_sites=scope.site is None and not scope.empty
                           ), 400 if error else 200
