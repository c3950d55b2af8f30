-- What a box reports besides calls (docs/central.md, "What the boxes send"): its campaign set
-- as its config has it (for /api/campaigns: the configured campaigns and their costs), and
-- its contacts. Both are upserts that only take a newer outbox seq.

-- A site's [[campaign]] tables, whole, as its box last sent them (at start and on a change).
CREATE TABLE site_campaigns (
    site_id    integer PRIMARY KEY REFERENCES sites (id),
    seq        bigint NOT NULL,
    campaigns  jsonb NOT NULL,              -- [{"name", "number", "source", "lead_value",
                                            --   "cost_per_month", ...}] in the config's order
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per (site, contact id): the box's stored contact whole in `doc` (keys from a newer
-- box kept), the fields /api/contacts filters and orders on as columns.
CREATE TABLE contacts (
    site_id     integer NOT NULL REFERENCES sites (id),
    contact_id  text NOT NULL,
    seq         bigint NOT NULL,
    name        text NOT NULL DEFAULT '',
    company     text NOT NULL DEFAULT '',
    numbers     text[] NOT NULL DEFAULT '{}',
    stage       text NOT NULL DEFAULT 'new',
    owner       text NOT NULL DEFAULT '',
    campaign    text NOT NULL DEFAULT '',
    doc         jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, contact_id)
);
