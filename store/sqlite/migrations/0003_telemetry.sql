-- 0003_telemetry: instances' telemetry (latest and history) and the tenants'
-- telemetry settings.

-- What a tenant keeps. Retention defaults to 90 days (in ns); the dropped
-- fields are a JSON array of telemetry field names.
ALTER TABLE tenants ADD COLUMN telemetry_retention_ns   INTEGER NOT NULL DEFAULT 7776000000000000;
ALTER TABLE tenants ADD COLUMN telemetry_fields_dropped TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE tenants ADD COLUMN truncate_ips             INTEGER NOT NULL DEFAULT 0 CHECK (truncate_ips IN (0, 1));

-- The latest telemetry of an instance: JSON ('' for none) and when it came.
ALTER TABLE instances ADD COLUMN telemetry_json TEXT    NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN telemetry_at   INTEGER NOT NULL DEFAULT 0;

-- Every report, pruned after the tenant's retention. Written in the same
-- transaction as the check-in that carried it.
CREATE TABLE telemetry_history (
    tenant_id      TEXT    NOT NULL,
    contract_id    TEXT    NOT NULL,
    instance_id    TEXT    NOT NULL,
    at             INTEGER NOT NULL,
    id             TEXT    NOT NULL,
    telemetry_json TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, contract_id, at, id),
    FOREIGN KEY (tenant_id, contract_id, instance_id) REFERENCES instances (tenant_id, contract_id, instance_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX telemetry_history_instance ON telemetry_history (tenant_id, contract_id, instance_id, at, id);
CREATE INDEX telemetry_history_at ON telemetry_history (tenant_id, at);
