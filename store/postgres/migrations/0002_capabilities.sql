-- 0002_capabilities: floating capabilities — pools, leases, usage —
-- mirroring store/sqlite's 0002_capabilities.sql.
--
-- Every change to a pool's units (take, return, renew, expire, resize)
-- holds the pool's transaction-scoped advisory lock (see
-- store/postgres/lease.go), so the servers sharing the database queue per
-- pool, and lease rows are only locked under it: no deadlocks, and usage
-- events of a pool are numbered in commit order.

CREATE TABLE pools (
    tenant_id    TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    customer_id  TEXT COLLATE "C" NOT NULL,
    -- NULL: every contract of the customer draws from the pool.
    contract_id  TEXT COLLATE "C",
    name         TEXT   NOT NULL,
    lease_ttl_ns BIGINT NOT NULL CHECK (lease_ttl_ns > 0),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CONSTRAINT pools_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT pools_customer_fk FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    CONSTRAINT pools_contract_fk FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id)
);

CREATE INDEX pools_customer ON pools (tenant_id, customer_id, id);

-- in_use is changed only in the transaction that creates, shrinks or
-- deletes the lease holding the units; a grant is a conditional UPDATE
-- (in_use + n <= max_units), never a read then a write.
CREATE TABLE pool_features (
    tenant_id TEXT COLLATE "C" NOT NULL,
    pool_id   TEXT COLLATE "C" NOT NULL,
    feature   TEXT COLLATE "C" NOT NULL,
    max_units BIGINT NOT NULL CHECK (max_units >= 0),
    in_use    BIGINT NOT NULL DEFAULT 0 CHECK (in_use >= 0),
    CONSTRAINT pool_features_pkey PRIMARY KEY (tenant_id, pool_id, feature),
    CONSTRAINT pool_features_pool_fk FOREIGN KEY (tenant_id, pool_id) REFERENCES pools (tenant_id, id)
);

CREATE TABLE leases (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    pool_id     TEXT COLLATE "C" NOT NULL,
    contract_id TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    borrowed    BOOLEAN NOT NULL,
    created_at  BIGINT  NOT NULL,
    renewed_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    CONSTRAINT leases_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT leases_pool_fk FOREIGN KEY (tenant_id, pool_id) REFERENCES pools (tenant_id, id),
    CONSTRAINT leases_contract_fk FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id)
);

CREATE INDEX leases_expiry ON leases (expires_at);
CREATE INDEX leases_pool_expiry ON leases (tenant_id, pool_id, expires_at);
CREATE INDEX leases_instance ON leases (tenant_id, contract_id, instance_id, id);

CREATE TABLE lease_units (
    tenant_id TEXT COLLATE "C" NOT NULL,
    lease_id  TEXT COLLATE "C" NOT NULL,
    feature   TEXT COLLATE "C" NOT NULL,
    units     BIGINT NOT NULL CHECK (units > 0),
    CONSTRAINT lease_units_pkey PRIMARY KEY (tenant_id, lease_id, feature),
    CONSTRAINT lease_units_lease_fk FOREIGN KEY (tenant_id, lease_id) REFERENCES leases (tenant_id, id) ON DELETE CASCADE
);

-- The first answer to a capability request with a request id, for retries.
CREATE TABLE capability_requests (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    contract_id TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    request_id  TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT   NOT NULL,
    answer      BYTEA  NOT NULL,
    created_at  BIGINT NOT NULL,
    CONSTRAINT capability_requests_pkey PRIMARY KEY (tenant_id, contract_id, instance_id, request_id)
);

CREATE INDEX capability_requests_created ON capability_requests (created_at);

CREATE TABLE usage_events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL,
    pool_id     TEXT COLLATE "C" NOT NULL,
    feature     TEXT COLLATE "C" NOT NULL,
    kind        TEXT   NOT NULL,
    units       BIGINT NOT NULL,
    in_use      BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    lease_id    TEXT   NOT NULL,
    contract_id TEXT   NOT NULL,
    instance_id TEXT   NOT NULL
);

CREATE INDEX usage_events_pool_at ON usage_events (tenant_id, pool_id, at);
CREATE INDEX usage_events_feature ON usage_events (tenant_id, pool_id, feature, seq);
