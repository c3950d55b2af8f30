"""The callback list: who waits to be called back, since when, how many tries; dismiss."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from firmware.config import normalise_number
from firmware.tracker.errors import BadInput
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import get_panel
from firmware.webui.config_words import translate_message

logger = logging.getLogger(__name__)

bp = Blueprint("callbacks", __name__)

MAX_REASON = 200


def reasons() -> list[str]:
    return [_("Called back from a mobile"), _("Spam"), _("Wrong number"), _("Already a customer"),
            _("Handled by e-mail")]


@bp.get("/callbacks")
@login_required
def index():
    return render_template("callbacks.html", callbacks=get_panel().tracker.callbacks(),
                           reasons=reasons())


@bp.post("/callbacks/<path:number>/dismiss")
@login_required
def dismiss(number: str):
    panel = get_panel()
    e164 = normalise_number(number, panel.config.box.country) if len(number) <= 32 else None
    reason = " ".join(request.form.get("reason", "").split())
    if e164 is None:
        abort(404)
    if not reason or len(reason) > MAX_REASON:
        flash(_("Give a reason to dismiss %(number)s.", number=e164), "error")
        return redirect(url_for("callbacks.index")), 303
    try:
        panel.tracker.dismiss_callback(e164, reason, current_user.name)
    except KeyError:
        flash(_("%(number)s is no longer waiting.", number=e164), "error")
    except BadInput as exc:
        flash(f"{exc.field}: {translate_message(exc.message)}", "error")
    else:
        logger.info("%s dismissed callback %s: %s", current_user.name, e164, reason)
        flash(_("%(number)s taken off the list.", number=e164))
    return redirect(url_for("callbacks.index")), 303
