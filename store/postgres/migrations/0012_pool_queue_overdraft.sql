-- 0012_pool_queue_overdraft: capability requests that wait for units,
-- pools that grant beyond their size, and units reserved for instances,
-- mirroring store/sqlite's 0012_pool_queue_overdraft.sql.
--
-- A request that asks to wait and finds its pool short joins the pool's
-- queue: a row here, ordered by seq (one sequence for every server). While
-- a pool has live waiters (whose expires_at is after now) a grant passes
-- only a request with no live waiter ahead of it (TakeCapabilities'
-- conditional UPDATE says so, under the pool's advisory lock), so a unit
-- freed goes to the head of the queue whichever server frees it. An
-- express pool lets a request that fits now pass waiting ones.
--
-- expires_at is the wait's deadline, or earlier while the waiting server
-- keeps renewing it: a waiter whose server died stops blocking the queue
-- when it lapses. Lapsed rows are ignored by every read and deleted by
-- the reaper.

ALTER TABLE pools ADD COLUMN express BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE capability_waiters (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL,
    pool_id     TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    contract_id TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    units       TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    deadline    BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    CONSTRAINT capability_waiters_pool_fk FOREIGN KEY (tenant_id, pool_id) REFERENCES pools (tenant_id, id)
);

CREATE UNIQUE INDEX capability_waiters_id ON capability_waiters (tenant_id, pool_id, id);
CREATE INDEX capability_waiters_queue ON capability_waiters (tenant_id, pool_id, seq);
CREATE INDEX capability_waiters_expiry ON capability_waiters (expires_at);

-- Overdraft: a pool feature may grant up to overdraft units beyond
-- max_units (TakeCapabilities' condition is in_use + n <= max_units +
-- overdraft). A lease records, per feature, how many of its units were
-- granted beyond max_units (overage: a JSON object like units); a lease
-- given back in part keeps at most the units it still holds as overage.
ALTER TABLE pool_features ADD COLUMN overdraft BIGINT NOT NULL DEFAULT 0 CHECK (overdraft >= 0);
ALTER TABLE leases ADD COLUMN overage TEXT NOT NULL DEFAULT '{}';

-- Reservations: units of a pool feature held for one instance (by its
-- instance id). Only that instance may take them; a grant to anyone else
-- must leave every other reservation's unused units free. What an instance
-- holds is read from its live leases in the grant's transaction, under the
-- pool's lock; pool_features.reserved is the sum, so that a pool with none
-- costs its grants nothing.
ALTER TABLE pool_features ADD COLUMN reserved BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0);

CREATE TABLE pool_reservations (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    pool_id     TEXT COLLATE "C" NOT NULL,
    feature     TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    units       BIGINT NOT NULL CHECK (units > 0),
    CONSTRAINT pool_reservations_pkey PRIMARY KEY (tenant_id, pool_id, feature, instance_id),
    CONSTRAINT pool_reservations_feature_fk FOREIGN KEY (tenant_id, pool_id, feature) REFERENCES pool_features (tenant_id, pool_id, feature)
);
