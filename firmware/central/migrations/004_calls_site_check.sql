-- Ingestion speed (docs/central.md, "Ingestion"): the foreign key from calls to sites ran a
-- trigger query for every stored call (~15% of a batch's merge). Sites are never deleted and
-- a call's site_id always comes from the sites row its batch just upserted, so the key
-- guarded nothing in practice; a CHECK keeps out the one value that would be wrong (site 0 is
-- the rollups' "all sites").
ALTER TABLE calls DROP CONSTRAINT calls_site_id_fkey;
ALTER TABLE calls ADD CONSTRAINT calls_site_id_real CHECK (site_id > 0);
