"""The import page: upload an .xlsx, see the columns recognised and the first rows, then import
and see the rejected rows with their row numbers. The owner's page.

Why state here: between the preview and the import the file waits in memory (`ImportStash`,
a few files per panel, each for STASH_SECONDS), so the owner does not upload it twice and the
import reads exactly the file that was previewed.
"""

from __future__ import annotations

import secrets
import threading
import time

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from firmware.tracker.contact_import import MAX_FILE_BYTES, MAX_ROWS, read_sheet
from firmware.tracker.errors import BadInput
from firmware.webui import contacts_data as data
from firmware.webui.access import owner_required
from firmware.webui.contacts_api import allow_uploads
from firmware.webui.i18n import gettext as _
from firmware.webui.panel import get_panel

bp = Blueprint("contact_imports", __name__)
bp.url_value_preprocessor(lambda endpoint, values: allow_uploads())

STASH_SECONDS = 1800
STASH_FILES = 4


class ImportStash:
    """Uploaded files waiting between preview and import: token -> (bytes, user, expiry)."""

    def __init__(self, *, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._files: dict[str, tuple[bytes, str, float]] = {}

    def put(self, content: bytes, user: str) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            now = self._clock()
            self._files = {t: f for t, f in self._files.items() if f[2] > now}
            while len(self._files) >= STASH_FILES:
                del self._files[next(iter(self._files))]
            self._files[token] = (content, user, now + STASH_SECONDS)
        return token

    def take(self, token: str, user: str) -> bytes | None:
        with self._lock:
            found = self._files.get(token)
            if found is None or found[1] != user or found[2] <= self._clock():
                return None
            del self._files[token]
            return found[0]


def _stash() -> ImportStash:
    return current_app.extensions.setdefault("callbox_import_stash", ImportStash())


def _page(**values):
    panel = get_panel()
    values.setdefault("campaign", "")
    return render_template("contacts_import.html",
                           campaigns=[c.name for c in panel.config.campaigns],
                           max_rows=MAX_ROWS, max_mb=MAX_FILE_BYTES // 1024 // 1024, **values)


@bp.get("/contacts/import")
@owner_required
def index():
    return _page()


def _campaign() -> str:
    campaign = request.form.get("campaign", "").strip()
    if campaign and campaign not in {c.name for c in get_panel().config.campaigns}:
        raise BadInput("campaign", _("not one of the box's campaigns"))
    return campaign


@bp.post("/contacts/import/preview")
@owner_required
def import_preview():
    upload = request.files.get("file")
    try:
        campaign = _campaign()
        if upload is None or not upload.filename:
            raise BadInput("file", _("choose an .xlsx file"))
        content = upload.read(MAX_FILE_BYTES + 1)
        sheet = read_sheet(content)
    except BadInput as exc:
        return _page(error=exc), 400
    token = _stash().put(content, current_user.name)
    return _page(preview=sheet.to_api(), token=token, campaign=campaign,
                 filename=upload.filename[:100])


@bp.post("/contacts/import/run")
@owner_required
def import_run():
    panel = get_panel()
    try:
        campaign = _campaign()
        content = _stash().take(request.form.get("token", "")[:64], current_user.name)
        if content is None:
            raise BadInput("file", _("the preview has expired; upload the file again"))
        sheet = read_sheet(content)
        result = data.store(panel).import_rows(sheet.rows, campaign, current_user.name,
                                               data.rules(panel))
    except BadInput as exc:
        return _page(error=exc), 400
    return _page(result=result.to_api(), campaign=campaign)
