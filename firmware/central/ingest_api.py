"""POST /api/ingest: where boxes report (firmware/central/ingest.py has the format).

A box authenticates with its site's token (`Authorization: Bearer <token>`, compared in
constant time with every [[site]] token of central.toml); the token names the site, and a
batch that names another site is refused. A wrong token is a 401, logged with the address.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, current_app, jsonify, request

from firmware.central.ingest import BadBatch, parse_batch, store_batch
from firmware.webui.access import csrf

logger = logging.getLogger(__name__)

bp = Blueprint("ingest", __name__)
csrf.exempt(bp)


def _site_of_token():
    central = current_app.extensions["central"]
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    found = None
    for site in central.config.sites:
        if hmac.compare_digest(site.token.encode(), token.strip().encode()):
            found = site
    return found


@bp.post("/api/ingest")
def ingest():
    central = current_app.extensions["central"]
    site = _site_of_token()
    if site is None:
        logger.warning("ingest: wrong or missing token from %s", request.remote_addr)
        return jsonify(error="wrong or missing site token"), 401
    body = request.get_json(silent=True) if request.is_json else None
    try:
        batch = parse_batch(body)
    except BadBatch as exc:
        logger.warning("ingest: bad batch from %s (%s): %s: %s", site.name,
                       request.remote_addr, exc.field, exc.message)
        return jsonify(error=exc.message, field=exc.field), 400
    if batch.site != site.name:
        logger.warning("ingest: the token of %r came with a batch for %r from %s", site.name,
                       batch.site, request.remote_addr)
        return jsonify(error=f"this token is for site {site.name!r}", field="site"), 403
    with central.db.connection() as conn:
        store_batch(conn, batch, central.config.box.timezone)
    for refused in batch.refused:
        logger.warning("ingest: %s: entry seq %s refused: %s", site.name, refused["seq"],
                       refused["error"])
    return jsonify(accepted=batch.count, refused=batch.refused, upto=batch.upto)
