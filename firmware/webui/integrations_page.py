"""Settings > Integrations: the webhooks and their recent deliveries (send again, send a
test), GA4 (validate), the number-swap line to paste, and the weekly e-mail (send now).

Secrets (webhook secrets, the GA4 api_secret, the SMTP password) are shown only as set / not
set. The page reads the integrations service the box injects (`Panel.integrations`); the
demo app without one shows the settings and says deliveries are not running.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from firmware.integrations.service import GA4_TARGET
from firmware.integrations.snippet import display
from firmware.webui.access import owner_required
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import get_panel

bp = Blueprint("integrations", __name__, url_prefix="/settings/integrations")


def _service():
    service = get_panel().integrations
    if service is None:
        abort(404)
    return service


@bp.get("")
@owner_required
def index(ga4_answer=None):
    panel = get_panel()
    service = panel.integrations
    deliveries = service.deliveries(50) if service is not None else []
    mailer = getattr(service, "mailer", None)
    return render_template(
        "settings_integrations.html", config=panel.config, deliveries=deliveries,
        running=service is not None, when=_when, where=_where, ga4_answer=ga4_answer,
        shown=lambda number: display(number, panel.config.box.country),
        snippet_url=request.host_url.rstrip("/") + url_for("snippet.snippet"),
        mail_state=mailer.state() if mailer is not None else None)


@bp.post("/test")
@owner_required
def send_test():
    try:
        item = _service().send_test(request.form.get("url", ""))
    except KeyError:
        abort(400)
    if item is None:
        flash(_("The test could not be queued: the outbox cannot be written."), "error")
    else:
        flash(_("Test delivery %(id)s queued.", id=item.id))
    return redirect(url_for("integrations.index")), 303


@bp.post("/again/<item_id>")
@owner_required
def send_again(item_id: str):
    try:
        _service().send_again(item_id)
    except KeyError:
        abort(404)
    flash(_("Delivery %(id)s will be sent again.", id=item_id))
    return redirect(url_for("integrations.index")), 303


@bp.post("/ga4-validate")
@owner_required
def ga4_validate():
    answer = _service().validate_ga4()
    return index(ga4_answer=answer)


@bp.post("/send-summary")
@owner_required
def send_summary():
    mailer = getattr(_service(), "mailer", None)
    if mailer is None:
        abort(404)
    error = mailer.send_now()
    if error:
        flash(_("The summary was not sent: %(error)s", error=error), "error")
    else:
        flash(_("The summary was sent."))
    return redirect(url_for("integrations.index")), 303


def _when(ts: float | None) -> str:
    if not ts:
        return "–"
    return datetime.fromtimestamp(ts, get_panel().tz).strftime("%Y-%m-%d %H:%M:%S")


def _where(target: str) -> str:
    return "Google Analytics 4" if target == GA4_TARGET else target.removeprefix("webhook:")
