-- Rollups for the dashboards (docs/central.md, "Scale"): per site, per local day in a time
-- zone, per (campaign, source, line type): the sums the /api/summary figures are made of; and
-- per local day and hour: the calls. site_id 0 holds all sites merged by campaign and source
-- name, in the central's time zone. Kept up to date by ingestion (firmware/central/rollup.py),
-- rebuilt at start for a zone that is missing; always derivable from `calls`.

CREATE TABLE call_rollups (
    site_id    integer NOT NULL,
    zone       text NOT NULL,
    day        date NOT NULL,
    campaign   text NOT NULL,
    source     text NOT NULL,
    line_type  text NOT NULL,
    calls      integer NOT NULL,
    answered   integer NOT NULL,
    missed     integer NOT NULL,
    wait_sum   numeric NOT NULL,
    target     integer NOT NULL,
    first_time integer NOT NULL,
    value_sum  numeric NOT NULL,
    recovered  integer NOT NULL,
    PRIMARY KEY (site_id, zone, day, campaign, source, line_type)
);

CREATE TABLE hour_rollups (
    site_id integer NOT NULL,
    zone    text NOT NULL,
    day     date NOT NULL,
    hour    smallint NOT NULL,
    calls   integer NOT NULL,
    PRIMARY KEY (site_id, zone, day, hour)
);

-- Site 0 is refreshed from the sites' rows of the same days: (zone, day) finds them without
-- reading every site's year.
CREATE INDEX call_rollups_zone_day ON call_rollups (zone, day);
CREATE INDEX hour_rollups_zone_day ON hour_rollups (zone, day);
