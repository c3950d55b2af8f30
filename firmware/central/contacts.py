"""Contacts on the central: what the boxes reported (site_reports.py), listed with the box's
/api/contacts arguments (`q`, `stage`, `owner`, `campaign`) plus `site=`, in the box's shape
(`contact_rules.to_api`, times in the site's own zone) with `site` added. Read-only: contacts
are changed on the boxes."""

from __future__ import annotations

from typing import Any, Mapping

import psycopg

from firmware.central import site_reports
from firmware.central.figures import SiteInfo, all_sites
from firmware.tracker.contact_rules import to_api
from firmware.tracker.errors import BadInput

STAGES = ("new", "in_progress", "offered", "won", "lost")
_SEPARATORS = str.maketrans("", "", " -()./\u00a0")


def read_filter(args: Mapping[str, Any]) -> dict[str, str]:
    """The box's /api/contacts arguments, checked as the box checks them (contacts_data.find)."""
    values = {}
    for key in ("q", "stage", "owner", "campaign"):
        value = args.get(key, "")
        if not isinstance(value, str) or len(value) > 100:
            raise BadInput(key, "must be text of at most 100 characters")
        values[key] = value.strip()
    if values["stage"] and values["stage"] not in STAGES:
        raise BadInput("stage", "must be one of " + ", ".join(STAGES))
    return values


def search(conn: psycopg.Connection, site: SiteInfo | None, args: Mapping[str, Any],
           limit: int, *, empty: bool = False) -> tuple[list[dict], bool]:
    """(contacts ordered by name as on the box, with "site"; whether more matched)."""
    values = read_filter(args)
    if empty:
        return [], False
    where, params = ["TRUE"], []
    if site is not None:
        where.append("site_id = %s")
        params.append(site.id)
    for column in ("stage", "owner", "campaign"):
        if values[column]:
            where.append(f"{column} = %s")
            params.append(values[column])
    text = " ".join(values["q"].split())
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches = ["name ILIKE %s", "company ILIKE %s"]
        params_q: list[Any] = [like, like]
        digits = text.translate(_SEPARATORS).lstrip("+").lstrip("0")
        if digits.isdigit() and len(digits) >= 3:
            matches.append("array_to_string(numbers, ' ') LIKE %s")
            params_q.append(f"%{digits}%")
        where.append("(" + " OR ".join(matches) + ")")
        params += params_q
    rows = conn.execute(
        f"SELECT site_id, doc FROM contacts WHERE {' AND '.join(where)} "
        "ORDER BY lower(coalesce(nullif(name, ''), company)), contact_id, site_id LIMIT %s",
        [*params, limit + 1]).fetchall()
    sites = all_sites(conn)
    out = []
    for site_id, doc in rows[:limit]:
        info = sites[site_id]                 # contacts.site_id references sites
        out.append({**to_api(site_reports.contact_doc(doc), info.tz), "site": info.name})
    out.sort(key=lambda c: ((c["name"] or c["company"]).casefold(), c["id"], c["site"]))
    return out, len(rows) > limit
