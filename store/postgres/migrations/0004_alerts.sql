-- 0004_alerts: alert episodes, webhooks, their delivery queue, and job locks,
-- mirroring store/sqlite's 0004_alerts.sql.

-- One row per episode of a condition on an object. While an episode is open
-- (cleared_at = 0) no other open one of the same (type, object, level)
-- exists: the partial unique index makes raising insert-if-absent, on any
-- number of servers.
CREATE TABLE alerts (
    tenant_id  TEXT COLLATE "C" NOT NULL CONSTRAINT alerts_tenant_fk REFERENCES tenants (id),
    id         TEXT COLLATE "C" NOT NULL,
    type       TEXT   NOT NULL,
    object_id  TEXT COLLATE "C" NOT NULL,
    level      TEXT   NOT NULL,
    raised_at  BIGINT NOT NULL,
    cleared_at BIGINT NOT NULL,
    data_json  BYTEA  NOT NULL,
    CONSTRAINT alerts_pkey PRIMARY KEY (tenant_id, id)
);

CREATE UNIQUE INDEX alerts_open ON alerts (tenant_id, type, object_id, level) WHERE cleared_at = 0;
CREATE INDEX alerts_raised ON alerts (tenant_id, raised_at, id);

CREATE TABLE webhooks (
    tenant_id     TEXT COLLATE "C" NOT NULL CONSTRAINT webhooks_tenant_fk REFERENCES tenants (id),
    id            TEXT COLLATE "C" NOT NULL,
    url           TEXT   NOT NULL,
    event_types   TEXT   NOT NULL, -- space-separated; empty: all
    secret_sealed BYTEA  NOT NULL,
    created_at    BIGINT NOT NULL,
    CONSTRAINT webhooks_pkey PRIMARY KEY (tenant_id, id)
);

-- A row per event × endpoint. Workers on several servers claim rows with
-- SELECT ... FOR UPDATE SKIP LOCKED and record an attempt only while their
-- claim (claim, claimed_until) holds.
CREATE TABLE webhook_deliveries (
    tenant_id       TEXT COLLATE "C" NOT NULL,
    id              TEXT COLLATE "C" NOT NULL,
    webhook_id      TEXT COLLATE "C" NOT NULL,
    event_id        TEXT COLLATE "C" NOT NULL,
    event_type      TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    body            BYTEA   NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_latency_ns BIGINT  NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at BIGINT  NOT NULL,
    give_up_at      BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    delivered_at    BIGINT  NOT NULL DEFAULT 0,
    claim           TEXT    NOT NULL DEFAULT '',
    claimed_until   BIGINT  NOT NULL DEFAULT 0,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT webhook_deliveries_event_key UNIQUE (tenant_id, webhook_id, event_id),
    CONSTRAINT webhook_deliveries_webhook_fk FOREIGN KEY (tenant_id, webhook_id)
        REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE
);

-- The worker's queue: pending rows by due time, across tenants.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (tenant_id, created_at, id);

-- Named locks with an expiry (the scanner's): taken or renewed by one
-- conditional upsert; a crashed holder's lock lapses at expires_at.
CREATE TABLE job_locks (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- The scanner's queries: instances by license expiry and by last check-in.
CREATE INDEX instances_license_expiry ON instances (tenant_id, license_expires_at);
CREATE INDEX instances_last_seen ON instances (tenant_id, last_seen_at);
