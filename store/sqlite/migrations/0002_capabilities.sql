-- 0002_capabilities: floating capabilities — pools, leases, usage.
-- Follows the conventions of 0001_core.

CREATE TABLE pools (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    customer_id  TEXT    NOT NULL,
    -- NULL: every contract of the customer draws from the pool.
    contract_id  TEXT,
    name         TEXT    NOT NULL,
    lease_ttl_ns INTEGER NOT NULL CHECK (lease_ttl_ns > 0),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX pools_customer ON pools (tenant_id, customer_id, id);

-- in_use is changed only in the transaction that creates, shrinks or
-- deletes the lease holding the units; a grant is a conditional UPDATE
-- (in_use + n <= max_units), never a read then a write.
CREATE TABLE pool_features (
    tenant_id TEXT    NOT NULL,
    pool_id   TEXT    NOT NULL,
    feature   TEXT    NOT NULL,
    max_units INTEGER NOT NULL CHECK (max_units >= 0),
    in_use    INTEGER NOT NULL DEFAULT 0 CHECK (in_use >= 0),
    PRIMARY KEY (tenant_id, pool_id, feature),
    FOREIGN KEY (tenant_id, pool_id) REFERENCES pools (tenant_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE leases (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    pool_id     TEXT    NOT NULL,
    contract_id TEXT    NOT NULL,
    instance_id TEXT    NOT NULL,
    borrowed    INTEGER NOT NULL CHECK (borrowed IN (0, 1)),
    created_at  INTEGER NOT NULL,
    renewed_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, pool_id) REFERENCES pools (tenant_id, id),
    FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX leases_expiry ON leases (expires_at);
CREATE INDEX leases_pool_expiry ON leases (tenant_id, pool_id, expires_at);
CREATE INDEX leases_instance ON leases (tenant_id, contract_id, instance_id, id);

CREATE TABLE lease_units (
    tenant_id TEXT    NOT NULL,
    lease_id  TEXT    NOT NULL,
    feature   TEXT    NOT NULL,
    units     INTEGER NOT NULL CHECK (units > 0),
    PRIMARY KEY (tenant_id, lease_id, feature),
    FOREIGN KEY (tenant_id, lease_id) REFERENCES leases (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- The first answer to a capability request with a request id, for retries.
CREATE TABLE capability_requests (
    tenant_id   TEXT    NOT NULL,
    contract_id TEXT    NOT NULL,
    instance_id TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    answer      BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, contract_id, instance_id, request_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX capability_requests_created ON capability_requests (created_at);

CREATE TABLE usage_events (
    seq         INTEGER PRIMARY KEY,
    tenant_id   TEXT    NOT NULL,
    pool_id     TEXT    NOT NULL,
    feature     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    units       INTEGER NOT NULL,
    in_use      INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    lease_id    TEXT    NOT NULL,
    contract_id TEXT    NOT NULL,
    instance_id TEXT    NOT NULL
) STRICT;

CREATE INDEX usage_events_pool_at ON usage_events (tenant_id, pool_id, at);
CREATE INDEX usage_events_feature ON usage_events (tenant_id, pool_id, feature, seq);
