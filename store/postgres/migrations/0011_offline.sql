-- 0011_offline: licenses issued for offline requests, mirroring store/sqlite's
-- 0011_offline.sql. One row per answered request: the instance key and
-- machine fingerprint the license is bound to, and the request's nonce,
-- unique per tenant so that a replayed request is refused. The instance
-- holds its seat (instances.seat) until released_at is set, by the
-- machine's signed return proof or an administrator's forced release, in
-- the same transaction as the seat is freed.

CREATE TABLE offline_activations (
    tenant_id    TEXT    NOT NULL,
    license_id   TEXT    NOT NULL,
    contract_id  TEXT    NOT NULL,
    instance_id  TEXT    NOT NULL,
    key_jkt      TEXT    NOT NULL,
    public_key   TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    nonce        TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    released_at  BIGINT  NOT NULL DEFAULT 0,
    release      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, license_id),
    FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id)
);

CREATE UNIQUE INDEX offline_activations_nonce ON offline_activations (tenant_id, nonce);
CREATE INDEX offline_activations_instance ON offline_activations (tenant_id, contract_id, instance_id);

-- Clones: the salted machine fingerprint an instance last checked in from.
-- Another fingerprint within the clone window sets clone_suspected_at, as
-- another host does; a contract with refuse_clones refuses that check-in.
ALTER TABLE instances ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE contracts ADD COLUMN refuse_clones BOOLEAN NOT NULL DEFAULT FALSE;
