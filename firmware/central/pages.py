"""The central's pages: the box's dashboard (same template, same modules) and read-only call
and callback lists with a Site column, and the sites overview. A site picker in the header
keeps `site=` on every link (`keep_site`)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from firmware.central import contact_pages, figures
from firmware.central.scope import request_scope
from firmware.tracker.errors import BadInput
from firmware.tracker.query import parse_call_filter
from firmware.webui.dashboard import presets, read_period
from firmware.webui.i18n import Formatter
from firmware.webui.modules import MODULES

# modules that need figures of each call, which a summary from the rollups lacks
PER_CALL_MODULES = frozenset({"per_day", "reasons", "regions"})
from firmware.webui.panel import get_panel

dashboard = Blueprint("dashboard", __name__)
history = Blueprint("history", __name__)
callbacks = Blueprint("callbacks", __name__)
sites_bp = Blueprint("sites", __name__, static_folder="static",
                     static_url_path="/central-static")

PAGE_SIZE = 100
FILTER_KEYS = ("from", "to", "campaign", "source", "status", "extension", "number", "direction")
SITE_AWARE = ("dashboard.", "history.", "callbacks.", "api.calls", "contacts.")


class _Module:      # lets app.py register these like the box's blueprint modules
    def __init__(self, bp: Blueprint):
        self.bp = bp


BLUEPRINTS = tuple(_Module(bp) for bp in (dashboard, history, callbacks, sites_bp,
                                          contact_pages.bp))


def keep_site(endpoint: str, values: dict) -> None:
    """url_defaults: links of a page about one site stay on that site."""
    site = g.get("site_name")
    if site and "site" not in values and endpoint and endpoint.startswith(SITE_AWARE):
        values["site"] = site


def site_choices() -> list[str]:
    """The sites the signed-in user may pick (a manager: their own)."""
    if not current_user.all_sites:
        return [current_user.site]
    return [s.name for s in current_app.extensions["central"].config.sites]


def _db():
    return current_app.extensions["central"].db


def _formatter(tz_name: str) -> Formatter:
    box = get_panel().config.box
    return Formatter(box.country, box.currency, tz_name)


def _scoped_summary(args):
    panel = get_panel()
    start, end, error = read_period(panel, args)
    with _db().connection() as conn:
        scope = request_scope(conn)
        summary = figures.summary(conn, scope.site, scope.zone, start, end)
    return summary, start, end, error, scope


@dashboard.get("/")
@login_required
def index():
    try:
        summary, start, end, error, scope = _scoped_summary(request.args)
    except BadInput:
        abort(404)
    fmt = _formatter(scope.site.timezone if scope.site else get_panel().config.box.timezone)
    # a summary from the rollups (figures.summary, `partial`) lacks the per-call figures:
    # the modules that need them are left out rather than shown as zeros
    modules = [build(summary, fmt) for name, build in MODULES.items()
               if not summary.get("partial") or name not in PER_CALL_MODULES]
    return render_template("dashboard.html", s=summary, start=start, end=end, error=error,
                           presets=presets(get_panel(), start, end), modules=modules
                           ), 400 if error else 200


@dashboard.get("/dashboard/<name>")
@login_required
def module(name: str):
    build = MODULES.get(name)
    if build is None:
        abort(404)
    try:
        summary, start, end, error, scope = _scoped_summary(request.args)
    except BadInput:
        abort(404)
    fmt = _formatter(scope.site.timezone if scope.site else get_panel().config.box.timezone)
    return render_template("module.html", module=build(summary, fmt, large=True), s=summary,
                           start=start, end=end, error=error,
                           presets=presets(get_panel(), start, end)), 400 if error else 200


@history.get("/calls", endpoint="index")
@login_required
def calls():
    panel = get_panel()
    values = {key: request.args.get(key, "") for key in FILTER_KEYS}
    if not values["from"] and not values["to"]:
        first, last = panel.preset(7)
        values["from"], values["to"] = first.isoformat(), last.isoformat()
    error = None
    try:
        flt = parse_call_filter(values, panel.config)
    except BadInput as exc:
        error, flt = exc, parse_call_filter({}, panel.config)
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 1000 else 1
    with _db().connection() as conn:
        try:
            scope = request_scope(conn)
        except BadInput:
            abort(404)
        found, more = figures.calls(conn, scope.site, scope.tz, flt, page * PAGE_SIZE)
    shown = found[(page - 1) * PAGE_SIZE:]
    query = {k: v for k, v in values.items() if v}
    campaigns = sorted({c["campaign"] for c in found if c["campaign"]})
    sources = sorted({c["source"] for c in found if c["source"]})
    return render_template("central_calls.html", calls=shown, page=page, more=more,
                           values=values, query=query, error=error, campaigns=campaigns,
                           sources=sources, all_sites=scope.site is None and not scope.empty
                           ), 400 if error else 200



@history.get("/calls/<path:site>/<call_id>")
@login_required
def detail(site: str, call_id: str):
    with _db().connection() as conn:
        scope = request_scope(conn)
        found = figures.call(conn, scope.site, site, call_id)
    if found is None:
        abort(404)
    return render_template("central_call.html", c=found)


@callbacks.get("/callbacks", endpoint="index")
@login_required
def callback_list():
    with _db().connection() as conn:
        try:
            scope = request_scope(conn)
        except BadInput:
            abort(404)
        found = [] if scope.empty else figures.callbacks(conn, scope.site)
    return render_template("central_callbacks.html", callbacks=found,
                           all_sites=scope.site is None and not scope.empty)



@sites_bp.get("/sites")
@login_required
def overview():
    with _db().connection() as conn:
        scope = request_scope(conn)
        found = figures.sites(conn, scope.tz, site_choices())
    return render_template("central_sites.html", sites=found)


@sites_bp.get("/site")
@login_required
def pick():
    """The header's site picker (a GET form): go to the same page for the chosen site."""
    target = request.args.get("next", "")
    endpoint = target if target in ("dashboard.index", "history.index", "callbacks.index",
                                    "contacts.index") \
        else "dashboard.index"
    site = (request.args.get("site") or "").strip()
    g.site_name = None
    return redirect(url_for(endpoint, site=site) if site else url_for(endpoint))
