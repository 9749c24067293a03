-- 0014_instance_hours: a refresh of an instance moves no index entry,
-- mirroring store/sqlite's 0014_instance_hours.sql.
--
-- A refresh sets last_seen_at and license_expires_at on every check-in.
-- An UPDATE that changes the value of an indexed column writes a new entry
-- in every index of the table and cannot be a heap-only tuple (HOT)
-- update. The indexes on these times therefore hold the hour they fall in
-- instead (Unix microseconds / 3,600,000,000, the integer quotient), kept
-- in last_seen_hour and license_expires_hour beside the exact times, which
-- no index holds: a refresh within the hour of the last one changes no
-- indexed value and is HOT.
--
-- Every query that walks these indexes bounds the hour, then the exact
-- time (store/console.go, store/alert.go, store/dashboard.go): the hour
-- finds the range, the exact time decides, so the hours must be true to
-- the exact times whatever writes them. This build writes both; during a
-- rolling upgrade the servers of the previous build write the times alone
-- (an INSERT leaves the hours NULL): the trigger below sets the hours of
-- a row written with hours other than its times', and the CHECK
-- constraints refuse whatever could still get past it. The trigger's
-- WHEN is evaluated without calling the function, which this build's
-- writes never need.
--
-- A HOT update puts the new version of the row on the row's own page.
-- Pages filled to the default fillfactor (100) have no room for it, so the
-- first refresh of each row on a full page would not be HOT (and would
-- leave a dead index entry for VACUUM) until pruning freed space on it;
-- 10% of each page kept free holds a few versions of its rows between
-- prunings. The rewrite below applies it to every page.
ALTER TABLE instances SET (fillfactor = 90);

-- The indexes go before the backfill, so that it writes only the table,
-- and are rebuilt once after it, keeping their names. The backfill is a
-- change of type with USING, which rewrites the table once, compact (an
-- UPDATE of every row would leave a dead version of each for VACUUM).

DROP INDEX instances_license_expiry;
DROP INDEX instances_seen;
DROP INDEX instances_contract_seen;

ALTER TABLE instances ADD COLUMN last_seen_hour BIGINT, ADD COLUMN license_expires_hour BIGINT;
ALTER TABLE instances
    ALTER COLUMN last_seen_hour TYPE BIGINT USING last_seen_at / 3600000000,
    ALTER COLUMN license_expires_hour TYPE BIGINT USING license_expires_at / 3600000000,
    ALTER COLUMN last_seen_hour SET NOT NULL,
    ALTER COLUMN license_expires_hour SET NOT NULL,
    ADD CONSTRAINT instances_last_seen_hour_check CHECK (last_seen_hour = last_seen_at / 3600000000),
    ADD CONSTRAINT instances_license_expires_hour_check CHECK (license_expires_hour = license_expires_at / 3600000000);

CREATE FUNCTION instances_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.last_seen_hour := NEW.last_seen_at / 3600000000;
    NEW.license_expires_hour := NEW.license_expires_at / 3600000000;
    RETURN NEW;
END
$$;
CREATE TRIGGER instances_hours BEFORE INSERT OR UPDATE ON instances FOR EACH ROW
    WHEN (NEW.last_seen_hour IS DISTINCT FROM NEW.last_seen_at / 3600000000
        OR NEW.license_expires_hour IS DISTINCT FROM NEW.license_expires_at / 3600000000)
    EXECUTE FUNCTION instances_hours();

CREATE INDEX instances_license_expiry ON instances (tenant_id, license_expires_hour);
CREATE INDEX instances_seen ON instances (tenant_id, last_seen_hour, contract_id, instance_id);
CREATE INDEX instances_contract_seen ON instances (tenant_id, contract_id, last_seen_hour, instance_id);
