-- The central's first schema: sites, the calls they report, their callback queues, users.
-- Applied once by firmware/central/db.py; never edited after release: add 002_..., 003_...

CREATE TABLE sites (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    timezone    text NOT NULL DEFAULT 'UTC',   -- the box's [box] timezone, as it last said
    box_version text NOT NULL DEFAULT '',
    last_seen   timestamptz,
    calls       bigint NOT NULL DEFAULT 0      -- calls stored, all time (kept by ingestion)
);

-- One row per (site, call id): the box's whole record in `doc` (keys from a newer box
-- version kept), and the fields that filters and figures read as columns. Times are the
-- box's epoch floats, unchanged, so day bounds and sums match the box's to the bit.
CREATE TABLE calls (
    site_id      integer NOT NULL REFERENCES sites (id),
    call_id      text NOT NULL,
    seq          bigint NOT NULL,       -- the box's outbox sequence of this version
    offered_at   double precision NOT NULL,
    direction    text NOT NULL,
    status       text NOT NULL,
    caller       text NOT NULL DEFAULT '',
    callee       text NOT NULL DEFAULT '',
    campaign     text NOT NULL DEFAULT '',
    source       text NOT NULL DEFAULT '',
    extension    text NOT NULL DEFAULT '',
    answered_by  text,
    rang         text[] NOT NULL DEFAULT '{}',
    wait_seconds double precision NOT NULL DEFAULT 0,
    talk_seconds double precision NOT NULL DEFAULT 0,
    target       boolean NOT NULL DEFAULT false,
    first_time   boolean NOT NULL DEFAULT false,
    value        double precision NOT NULL DEFAULT 0,
    line_type    text,
    recovered    boolean NOT NULL DEFAULT false,   -- the call cleared a callback entry
    doc          jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, call_id)
);
CREATE INDEX calls_site_time ON calls (site_id, offered_at);
CREATE INDEX calls_time ON calls (offered_at);

-- A site's callback queue as it stands: the box sends it whole whenever it changes.
CREATE TABLE callback_queues (
    site_id    integer PRIMARY KEY REFERENCES sites (id),
    seq        bigint NOT NULL,
    entries    jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    name       text PRIMARY KEY,
    hash       text NOT NULL,
    role       text NOT NULL CHECK (role IN ('owner', 'manager')),
    site       text,                          -- a manager's one site
    generation integer NOT NULL DEFAULT 1,
    CHECK (role = 'owner' OR site IS NOT NULL)
);

-- Small settings of the central itself (the session-signing key, made on first start).
CREATE TABLE central_settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);
