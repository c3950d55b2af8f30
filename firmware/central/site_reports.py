"""What a box reports besides calls and its queue: its campaign set and its contacts.

Entries (ingest.py has the batch around them):
- `{"seq", "kind": "campaigns", "campaigns": [{"name", "number", "source", "lead_value",
  "cost_per_month", ...}]}`: the box's [[campaign]] tables as its config has them, sent at
  start and whenever the config changes. One row per site, the newest seq wins. /api/campaigns
  lists a site's configured campaigns (and their cost) from it, as the box does from its config.
- `{"seq", "kind": "contact", "contact": {...}}`: one contact as the box's contacts store holds
  it (times as epoch seconds), sent when it changed. An upsert keyed by (site, contact id) that
  only takes a higher seq, like a call. The whole object is kept in `doc` (a newer box's keys
  too); /api/contacts renders it with the box's own `contact_rules.to_api`.

The checks are pure (ValueError names the problem; ingest.py turns it into a refused entry).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterable

import psycopg
from psycopg.types.json import Jsonb

from firmware.tracker.contact_rules import blank

MAX_TEXT = 200
MAX_CAMPAIGNS = 500
CONTACT_TEXTS = ("name", "company", "email", "campaign", "stage", "owner", "priority",
                 "lost_reason")
CONTACT_TIMES = ("created_at", "updated_at", "next_contact_at")
MAX_NOTES = 20_000


# -- checking (pure) -------------------------------------------------------------------------

def campaigns_entry(entry: dict) -> list[dict]:
    """The campaign list of a "campaigns" entry, checked; ValueError when it is not one."""
    campaigns = entry.get("campaigns")
    if not isinstance(campaigns, list) or len(campaigns) > MAX_CAMPAIGNS:
        raise ValueError(f"campaigns must be a list of at most {MAX_CAMPAIGNS} objects")
    names = set()
    for n, campaign in enumerate(campaigns):
        if not isinstance(campaign, dict):
            raise ValueError(f"campaigns[{n}] must be an object")
        name = campaign.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_TEXT:
            raise ValueError(f"campaigns[{n}].name must be text of 1 to {MAX_TEXT} characters")
        if name in names:
            raise ValueError(f"campaigns[{n}].name {name!r} appears twice")
        names.add(name)
        if not isinstance(campaign.get("source", ""), str):
            raise ValueError(f"campaigns[{n}].source must be text")
        for key in ("cost_per_month", "lead_value"):
            value = campaign.get(key, 0)
            if value.__class__ not in (int, float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"campaigns[{n}].{key} must be a number >= 0")
    _json(campaigns, "campaigns")
    return campaigns


def contact_row(seq: int, entry: dict) -> tuple:
    """The contacts-table row of a "contact" entry: (id, seq, name, company, numbers, stage,
    owner, campaign, doc as JSON text); ValueError when it is not a contact."""
    doc = entry.get("contact")
    if not isinstance(doc, dict):
        raise ValueError("contact must be a JSON object")
    contact_id = doc.get("id")
    if not isinstance(contact_id, str) or not 1 <= len(contact_id) <= 100:
        raise ValueError("contact id must be text of 1 to 100 characters")
    for key in CONTACT_TEXTS:
        value = doc.get(key, "")
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ValueError(f"contact {key} must be text of at most {MAX_TEXT} characters")
    if not isinstance(doc.get("notes", ""), str) or len(doc.get("notes", "")) > MAX_NOTES:
        raise ValueError(f"contact notes must be text of at most {MAX_NOTES} characters")
    numbers = doc.get("numbers", [])
    if not isinstance(numbers, list) or len(numbers) > 50 or not all(
            isinstance(number, str) and len(number) <= 40 for number in numbers):
        raise ValueError("contact numbers must be a list of phone numbers")
    for key in (*CONTACT_TIMES, "value"):
        value = doc.get(key)
        if value is not None and (value.__class__ not in (int, float) or
                                  not math.isfinite(value)):
            raise ValueError(f"contact {key} must be a number or null")
    return (contact_id, seq, doc.get("name", ""), doc.get("company", ""), numbers,
            doc.get("stage", "new") or "new", doc.get("owner", ""), doc.get("campaign", ""),
            _json(doc, "contact"))


def newest_contacts(rows: Iterable[tuple]) -> list[tuple]:
    """One row per contact id, the highest seq (a batch may hold several versions)."""
    newest: dict[str, tuple] = {}
    for row in rows:
        if row[0] not in newest or newest[row[0]][1] < row[1]:
            newest[row[0]] = row
    return list(newest.values())


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        raise ValueError(f"{what} holds a NaN or an infinity") from None


# -- storing ---------------------------------------------------------------------------------

UPSERT_CAMPAIGNS = """
INSERT INTO site_campaigns (site_id, seq, campaigns) VALUES (%s, %s, %s)
ON CONFLICT (site_id) DO UPDATE SET seq = EXCLUDED.seq, campaigns = EXCLUDED.campaigns,
    updated_at = now()
WHERE site_campaigns.seq < EXCLUDED.seq
"""

UPSERT_CONTACT = """
INSERT INTO contacts (site_id, contact_id, seq, name, company, numbers, stage, owner,
                      campaign, doc)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)
ON CONFLICT (site_id, contact_id) DO UPDATE SET seq = EXCLUDED.seq, name = EXCLUDED.name,
    company = EXCLUDED.company, numbers = EXCLUDED.numbers, stage = EXCLUDED.stage,
    owner = EXCLUDED.owner, campaign = EXCLUDED.campaign, doc = EXCLUDED.doc,
    received_at = now()
WHERE contacts.seq < EXCLUDED.seq
"""


def store(conn: psycopg.Connection, site: int, campaigns: tuple[int, list] | None,
          contacts: list[tuple]) -> None:
    """Write a batch's campaign set and contacts in the caller's transaction."""
    if campaigns is not None:
        seq, entries = campaigns
        conn.execute(UPSERT_CAMPAIGNS, (site, seq, Jsonb(entries)))
    if contacts:
        with conn.cursor() as cur:
            cur.executemany(UPSERT_CONTACT, [(site, *row) for row in newest_contacts(contacts)])


# -- reading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportedCampaign:
    """What campaign_figures reads of a configured campaign (the box's config.Campaign)."""

    name: str
    source: str
    cost_per_month: float


def configured_campaigns(conn: psycopg.Connection, site_id: int | None) -> list[ReportedCampaign]:
    """The campaigns a site's box last reported, in its config's order; for all sites (None)
    every site's merged by name (sites by name, then each box's order): the first source
    named, the costs added up (each shop pays for its own)."""
    sql = ("SELECT c.campaigns FROM site_campaigns c JOIN sites s ON s.id = c.site_id")
    args: list[Any] = []
    if site_id is not None:
        sql += " WHERE c.site_id = %s"
        args.append(site_id)
    merged: dict[str, list] = {}
    for (campaigns,) in conn.execute(sql + " ORDER BY s.name", args):
        for campaign in campaigns:
            name = campaign["name"]
            cost = float(campaign.get("cost_per_month") or 0)
            if name in merged:
                merged[name][1] += cost
            else:
                merged[name] = [campaign.get("source") or "", cost]
    return [ReportedCampaign(name, source, round(cost, 2))
            for name, (source, cost) in merged.items()]


def contact_doc(doc: dict) -> dict:
    """A stored contact with the fields `contact_rules.to_api` reads filled in (an older or
    newer box may lack some)."""
    return {**blank(), "created_at": None, "updated_at": None, **doc}
