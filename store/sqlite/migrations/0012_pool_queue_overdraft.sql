-- 0012_pool_queue_overdraft: capability requests that wait for units,
-- pools that grant beyond their size, and units reserved for instances.
--
-- A request that asks to wait and finds its pool short joins the pool's
-- queue: a row here, ordered by seq. While a pool has live waiters (whose
-- expires_at is after now) a grant passes only a request with no live
-- waiter ahead of it (TakeCapabilities' conditional UPDATE says so), so a
-- unit freed goes to the head of the queue. An express pool lets a request
-- that fits now pass waiting ones.
--
-- expires_at is the wait's deadline, or earlier while the waiting server
-- keeps renewing it: a waiter whose server died stops blocking the queue
-- when it lapses. Lapsed rows are ignored by every read and deleted by
-- the reaper.

ALTER TABLE pools ADD COLUMN express INTEGER NOT NULL DEFAULT 0 CHECK (express IN (0, 1));

CREATE TABLE capability_waiters (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL,
    pool_id     TEXT NOT NULL,
    id          TEXT NOT NULL,
    contract_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    units       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    deadline    INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    FOREIGN KEY (tenant_id, pool_id) REFERENCES pools (tenant_id, id)
);

CREATE UNIQUE INDEX capability_waiters_id ON capability_waiters (tenant_id, pool_id, id);
CREATE INDEX capability_waiters_queue ON capability_waiters (tenant_id, pool_id, seq);
CREATE INDEX capability_waiters_expiry ON capability_waiters (expires_at);

-- Overdraft: a pool feature may grant up to overdraft units beyond
-- max_units (TakeCapabilities' condition is in_use + n <= max_units +
-- overdraft). A lease records, per feature, how many of its units were
-- granted beyond max_units (overage: a JSON object like units); a lease
-- given back in part keeps at most the units it still holds as overage.
ALTER TABLE pool_features ADD COLUMN overdraft INTEGER NOT NULL DEFAULT 0 CHECK (overdraft >= 0);
ALTER TABLE leases ADD COLUMN overage TEXT NOT NULL DEFAULT '{}';

-- Reservations: units of a pool feature held for one instance (by its
-- instance id). Only that instance may take them; a grant to anyone else
-- must leave every other reservation's unused units free. What an instance
-- holds is read from its live leases in the grant's transaction, under the
-- pool's lock; pool_features.reserved is the sum, so that a pool with none
-- costs its grants nothing.
ALTER TABLE pool_features ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0);

CREATE TABLE pool_reservations (
    tenant_id   TEXT NOT NULL,
    pool_id     TEXT NOT NULL,
    feature     TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    units       INTEGER NOT NULL CHECK (units > 0),
    PRIMARY KEY (tenant_id, pool_id, feature, instance_id),
    FOREIGN KEY (tenant_id, pool_id, feature) REFERENCES pool_features (tenant_id, pool_id, feature)
);
