-- 0001_core: the core nouns of Licensor, mirroring store/sqlite's
-- 0001_core.sql column for column, so that both stores keep the same data
-- with the same meaning.
--
-- Conventions (later migrations follow them):
--   * Every tenant-scoped table has tenant_id, and its primary key starts with
--     it; references between tenant-scoped tables are composite
--     (tenant_id, x_id), so a row can never point into another tenant.
--   * Identifiers are TEXT COLLATE "C": lists are ordered and paged by id, and
--     the order must be the bytewise one whatever the database's collation.
--   * Times are BIGINT Unix microseconds UTC, 0 for "no time" (as in SQLite,
--     so that the zero time round-trips and both stores share one encoding).
--   * Durations are BIGINT nanoseconds (columns named *_ns).
--   * Constraints that a caller can violate are named, so that the store can
--     say which reference was missing.

CREATE TABLE tenants (
    id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name              TEXT   NOT NULL,
    concurrency_limit BIGINT NOT NULL,
    queue_wait_ns     BIGINT NOT NULL,
    expiry_warning_ns BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE products (
    tenant_id  TEXT COLLATE "C" NOT NULL CONSTRAINT products_tenant_fk REFERENCES tenants (id),
    id         TEXT COLLATE "C" NOT NULL,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT products_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT products_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE features (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    product_id  TEXT COLLATE "C" NOT NULL,
    name        TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    description TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    CONSTRAINT features_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT features_name_key UNIQUE (tenant_id, product_id, name),
    CONSTRAINT features_product_fk FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id)
);

CREATE TABLE customers (
    tenant_id  TEXT COLLATE "C" NOT NULL CONSTRAINT customers_tenant_fk REFERENCES tenants (id),
    id         TEXT COLLATE "C" NOT NULL,
    name       TEXT   NOT NULL,
    email      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT customers_pkey PRIMARY KEY (tenant_id, id)
);

CREATE TABLE contracts (
    tenant_id           TEXT COLLATE "C" NOT NULL,
    id                  TEXT COLLATE "C" NOT NULL,
    customer_id         TEXT COLLATE "C" NOT NULL,
    product_id          TEXT COLLATE "C" NOT NULL,
    name                TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    starts_at           BIGINT  NOT NULL,
    ends_at             BIGINT  NOT NULL,
    license_validity_ns BIGINT  NOT NULL,
    refresh_interval_ns BIGINT  NOT NULL,
    seat_rule           TEXT    NOT NULL,
    max_seats           INTEGER NOT NULL CHECK (max_seats >= 0),
    -- seats_used is maintained by Checkin and ReleaseSeat in the same
    -- transaction as the instance row that holds the seat.
    seats_used          INTEGER NOT NULL DEFAULT 0 CHECK (seats_used >= 0),
    fallback            TEXT    NOT NULL,
    max_borrow_ns       BIGINT  NOT NULL,
    client_ca_pem       TEXT    NOT NULL,
    version             BIGINT  NOT NULL,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    CONSTRAINT contracts_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT contracts_customer_fk FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    CONSTRAINT contracts_product_fk FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id)
);

CREATE INDEX contracts_customer ON contracts (tenant_id, customer_id, id);

CREATE TABLE contract_features (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    contract_id TEXT COLLATE "C" NOT NULL,
    feature     TEXT COLLATE "C" NOT NULL,
    kind        TEXT   NOT NULL,
    count       BIGINT NOT NULL,
    CONSTRAINT contract_features_pkey PRIMARY KEY (tenant_id, contract_id, feature),
    CONSTRAINT contract_features_contract_fk FOREIGN KEY (tenant_id, contract_id)
        REFERENCES contracts (tenant_id, id) ON DELETE CASCADE
);

-- Tokens are found by hash before any tenant is known; the operator's tokens
-- belong to no tenant.
CREATE TABLE tokens (
    id          TEXT COLLATE "C" NOT NULL,
    tenant_id   TEXT COLLATE "C" CONSTRAINT tokens_tenant_fk REFERENCES tenants (id),
    role        TEXT   NOT NULL,
    contract_id TEXT COLLATE "C",
    name        TEXT   NOT NULL,
    hash        BYTEA  NOT NULL,
    hint        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL,
    CONSTRAINT tokens_pkey PRIMARY KEY (id),
    CONSTRAINT tokens_hash_key UNIQUE (hash),
    CHECK ((role = 'operator') = (tenant_id IS NULL)),
    CONSTRAINT tokens_contract_fk FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id)
);

CREATE INDEX tokens_tenant ON tokens (tenant_id, id);
CREATE INDEX tokens_operator ON tokens (revoked_at) WHERE tenant_id IS NULL;

CREATE TABLE signing_keys (
    tenant_id     TEXT COLLATE "C" NOT NULL CONSTRAINT signing_keys_tenant_fk REFERENCES tenants (id),
    id            TEXT COLLATE "C" NOT NULL,
    public        BYTEA  NOT NULL,
    sealed        BYTEA  NOT NULL,
    created_at    BIGINT NOT NULL,
    retired_at    BIGINT NOT NULL,
    publish_until BIGINT NOT NULL,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (tenant_id, id)
);

-- At most one active key per tenant.
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (tenant_id) WHERE retired_at = 0;

CREATE TABLE instances (
    tenant_id          TEXT COLLATE "C" NOT NULL,
    contract_id        TEXT COLLATE "C" NOT NULL,
    instance_id        TEXT COLLATE "C" NOT NULL,
    seat               BOOLEAN NOT NULL,
    environment        TEXT    NOT NULL,
    host               TEXT    NOT NULL,
    remote_addr        TEXT    NOT NULL,
    first_seen_at      BIGINT  NOT NULL,
    last_seen_at       BIGINT  NOT NULL,
    license_id         TEXT    NOT NULL,
    license_expires_at BIGINT  NOT NULL,
    clone_suspected_at BIGINT  NOT NULL,
    CONSTRAINT instances_pkey PRIMARY KEY (tenant_id, contract_id, instance_id),
    CONSTRAINT instances_contract_fk FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id)
);

-- The audit log is append-only: the trigger below refuses any change.
CREATE TABLE audit_log (
    id          TEXT COLLATE "C" NOT NULL,
    tenant_id   TEXT COLLATE "C" CONSTRAINT audit_log_tenant_fk REFERENCES tenants (id),
    at          BIGINT NOT NULL,
    actor_role  TEXT   NOT NULL,
    token_id    TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    object_type TEXT   NOT NULL,
    object_id   TEXT   NOT NULL,
    before_json JSONB,
    after_json  JSONB,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id)
);

CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
