"""Which site a request looks at: `site=` for an owner (absent: all sites), always the
manager's own site for a manager (asking for another is a 403)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

import psycopg
from flask import abort, current_app, g, request
from flask_login import current_user

from firmware.central import figures
from firmware.tracker.errors import BadInput
from firmware.tracker.query import box_tz


@dataclass(frozen=True)
class Scope:
    site: figures.SiteInfo | None     # None: all sites
    name: str | None                  # the site asked for (also when it never reported)
    tz: tzinfo                        # the site's zone, or central.toml's [box] timezone
    empty: bool = False               # a configured site that has not reported yet

    @property
    def zone(self) -> str:
        """The time zone's name (rollups are kept per zone name)."""
        return str(self.tz)


def request_scope(conn: psycopg.Connection) -> Scope:
    central = current_app.extensions["central"]
    asked = (request.args.get("site") or "").strip() or None
    if not current_user.all_sites:
        if asked is not None and asked != current_user.site:
            abort(403, description="a manager sees only their own site")
        asked = current_user.site
    g.site_name = asked
    central_tz = box_tz(central.config.as_box_config())
    if asked is None:
        return Scope(None, None, central_tz)
    info = figures.site_info(conn, asked)
    if info is not None:
        return Scope(info, asked, info.tz)
    if central.config.site(asked) is None:
        raise BadInput("site", "no such site")
    return Scope(figures.SiteInfo(-1, asked, central.config.box.timezone), asked, central_tz,
                 empty=True)
