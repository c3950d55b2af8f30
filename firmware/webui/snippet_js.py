"""`GET /snippet.js` (no sign-in): the number-swap script websites embed (integrations.snippet)."""

from __future__ import annotations

from flask import Blueprint, Response

from firmware.integrations.snippet import script
from firmware.webui.panel import get_panel

bp = Blueprint("snippet", __name__)


@bp.get("/snippet.js")
def snippet():
    response = Response(script(get_panel().config), mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
