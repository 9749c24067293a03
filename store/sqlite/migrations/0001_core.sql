-- 0001_core: the core nouns of Licensor.
--
-- Conventions (later migrations follow them):
--   * Every tenant-scoped table has tenant_id, and its primary key starts with
--     it; references between tenant-scoped tables are composite
--     (tenant_id, x_id), so a row can never point into another tenant.
--   * Times are INTEGER Unix microseconds UTC, 0 for "no time".
--   * Durations are INTEGER nanoseconds (columns named *_ns).
--   * Tables are STRICT: a wrongly typed value is an error, not a surprise.

CREATE TABLE tenants (
    id                TEXT    NOT NULL PRIMARY KEY,
    name              TEXT    NOT NULL,
    concurrency_limit INTEGER NOT NULL,
    queue_wait_ns     INTEGER NOT NULL,
    expiry_warning_ns INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE products (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    id         TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE features (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    product_id  TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, product_id, name),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE customers (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    id         TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE contracts (
    tenant_id           TEXT    NOT NULL,
    id                  TEXT    NOT NULL,
    customer_id         TEXT    NOT NULL,
    product_id          TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    starts_at           INTEGER NOT NULL,
    ends_at             INTEGER NOT NULL,
    license_validity_ns INTEGER NOT NULL,
    refresh_interval_ns INTEGER NOT NULL,
    seat_rule           TEXT    NOT NULL,
    max_seats           INTEGER NOT NULL CHECK (max_seats >= 0),
    -- seats_used is maintained by Checkin and ReleaseSeat in the same
    -- transaction as the instance row that holds the seat.
    seats_used          INTEGER NOT NULL DEFAULT 0 CHECK (seats_used >= 0),
    fallback            TEXT    NOT NULL,
    max_borrow_ns       INTEGER NOT NULL,
    client_ca_pem       TEXT    NOT NULL,
    version             INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX contracts_customer ON contracts (tenant_id, customer_id, id);

CREATE TABLE contract_features (
    tenant_id   TEXT    NOT NULL,
    contract_id TEXT    NOT NULL,
    feature     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, contract_id, feature),
    FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Tokens are found by hash before any tenant is known; the operator's tokens
-- belong to no tenant.
CREATE TABLE tokens (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    REFERENCES tenants (id),
    role        TEXT    NOT NULL,
    contract_id TEXT,
    name        TEXT    NOT NULL,
    hash        BLOB    NOT NULL UNIQUE,
    hint        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL,
    CHECK ((role = 'operator') = (tenant_id IS NULL)),
    FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id)
) STRICT;

CREATE INDEX tokens_tenant ON tokens (tenant_id, id);
CREATE INDEX tokens_operator ON tokens (revoked_at) WHERE tenant_id IS NULL;

CREATE TABLE signing_keys (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id),
    id            TEXT    NOT NULL,
    public        BLOB    NOT NULL,
    sealed        BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    retired_at    INTEGER NOT NULL,
    publish_until INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;

-- At most one active key per tenant.
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (tenant_id) WHERE retired_at = 0;

CREATE TABLE instances (
    tenant_id          TEXT    NOT NULL,
    contract_id        TEXT    NOT NULL,
    instance_id        TEXT    NOT NULL,
    seat               INTEGER NOT NULL CHECK (seat IN (0, 1)),
    environment        TEXT    NOT NULL,
    host               TEXT    NOT NULL,
    remote_addr        TEXT    NOT NULL,
    first_seen_at      INTEGER NOT NULL,
    last_seen_at       INTEGER NOT NULL,
    license_id         TEXT    NOT NULL,
    license_expires_at INTEGER NOT NULL,
    clone_suspected_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, contract_id, instance_id),
    FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id)
) STRICT, WITHOUT ROWID;

-- The audit log is append-only: the triggers below refuse any change.
CREATE TABLE audit_log (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    REFERENCES tenants (id),
    at          INTEGER NOT NULL,
    actor_role  TEXT    NOT NULL,
    token_id    TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    object_type TEXT    NOT NULL,
    object_id   TEXT    NOT NULL,
    before_json BLOB,
    after_json  BLOB
) STRICT;

CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
