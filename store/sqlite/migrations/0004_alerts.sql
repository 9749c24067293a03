-- 0004_alerts: alert episodes, webhooks, their delivery queue, and job locks.

-- One row per episode of a condition on an object. While an episode is open
-- (cleared_at = 0) no other open one of the same (type, object, level)
-- exists: the partial unique index makes raising insert-if-absent.
CREATE TABLE alerts (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    id         TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    object_id  TEXT    NOT NULL,
    level      TEXT    NOT NULL,
    raised_at  INTEGER NOT NULL,
    cleared_at INTEGER NOT NULL,
    data_json  BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX alerts_open ON alerts (tenant_id, type, object_id, level) WHERE cleared_at = 0;
CREATE INDEX alerts_raised ON alerts (tenant_id, raised_at, id);

CREATE TABLE webhooks (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id),
    id            TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    event_types   TEXT    NOT NULL, -- space-separated; empty: all
    secret_sealed BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;

-- A row per event × endpoint. claim/claimed_until let several servers share
-- the queue: a worker claims a row with a conditional UPDATE and records the
-- attempt only while its claim holds.
CREATE TABLE webhook_deliveries (
    tenant_id       TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    webhook_id      TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    body            BLOB    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_latency_ns INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at INTEGER NOT NULL,
    give_up_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER NOT NULL DEFAULT 0,
    claim           TEXT    NOT NULL DEFAULT '',
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, webhook_id, event_id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- The worker's queue: pending rows by due time, across tenants.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (tenant_id, created_at, id);

-- Named locks with an expiry (the scanner's): taken or renewed by one
-- conditional upsert; a crashed holder's lock lapses at expires_at.
CREATE TABLE job_locks (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The scanner's queries: instances by license expiry and by last check-in.
CREATE INDEX instances_license_expiry ON instances (tenant_id, license_expires_at);
CREATE INDEX instances_last_seen ON instances (tenant_id, last_seen_at);
