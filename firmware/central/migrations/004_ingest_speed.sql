-- Ingestion speed (docs/central.md, "Ingestion"): what every stored call paid for and little
-- needed.
-- - The index on the time alone (~25% of a batch's merge): the all-sites call list now walks
--   each site's (site_id, offered_at) index backwards (a LATERAL per site), and the all-sites
--   figures read each site's range of it (site_id = ANY(...)).
-- - The foreign key from calls to sites ran a trigger query for every stored call (~15%).
--   Sites are never deleted and a call's site_id always comes from the sites row its batch
--   just upserted; a CHECK keeps out the one value that would be wrong (site 0 is the
--   rollups' "all sites").
DROP INDEX calls_time;
ALTER TABLE calls DROP CONSTRAINT calls_site_id_fkey;
ALTER TABLE calls ADD CONSTRAINT calls_site_id_real CHECK (site_id > 0);
