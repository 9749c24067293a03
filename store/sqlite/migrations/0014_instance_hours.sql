-- 0014_instance_hours: a refresh of an instance moves no index entry.
--
-- A refresh sets last_seen_at and license_expires_at on every check-in,
-- and SQLite rewrites the entries of every index holding a column of the
-- SET list, whatever its value. The indexes on these times therefore hold
-- the hour they fall in instead (Unix microseconds / 3,600,000,000, the
-- integer quotient), kept in last_seen_hour and license_expires_hour
-- beside the exact times, which no index holds. A refresh sets an hour
-- only when it changes (store/instance_hour.go, store/sqlite/flush.go):
-- at most once an hour for each instance, however often it checks in.
--
-- Every query that walks these indexes bounds the hour, then the exact
-- time (store/console.go, store/alert.go, store/dashboard.go): the hour
-- finds the range, the exact time decides.
--
-- The indexes go before the backfill, so that it writes only the table,
-- and are rebuilt once after it, keeping their names.

DROP INDEX instances_license_expiry;
DROP INDEX instances_seen;
DROP INDEX instances_contract_seen;

ALTER TABLE instances ADD COLUMN last_seen_hour INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN license_expires_hour INTEGER NOT NULL DEFAULT 0;
UPDATE instances SET last_seen_hour = last_seen_at / 3600000000, license_expires_hour = license_expires_at / 3600000000;

CREATE INDEX instances_license_expiry ON instances (tenant_id, license_expires_hour);
CREATE INDEX instances_seen ON instances (tenant_id, last_seen_hour, contract_id, instance_id);
CREATE INDEX instances_contract_seen ON instances (tenant_id, contract_id, last_seen_hour, instance_id);
