-- 0013_console: what the vendor console and the customer portal need.
--
-- Free-form metadata on customers and contracts: a JSON object of string
-- values, validated by the domain (licensor.ValidateMetadata) before it
-- is stored.

ALTER TABLE customers ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE contracts ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

-- Portal links: a customer's administrator's way into the portal, made by
-- the vendor. Like tokens, only the hash of the secret is kept, and a
-- link is found by it before any tenant is known.
CREATE TABLE portal_links (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    id          TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    hash        BLOB    NOT NULL UNIQUE,
    hint        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX portal_links_customer ON portal_links (tenant_id, customer_id, id);

-- The console's instance search pages newest check-in first by
-- (last_seen_at, contract_id, instance_id): this index serves it read
-- backwards, and serves the scanner's silent-instance query (a prefix of
-- it) that instances_last_seen served.
DROP INDEX instances_last_seen;
CREATE INDEX instances_seen ON instances (tenant_id, last_seen_at, contract_id, instance_id);
-- The same search within one contract (the console's contract page): the
-- contract's instances in check-in order, not the tenant's filtered.
CREATE INDEX instances_contract_seen ON instances (tenant_id, contract_id, last_seen_at, instance_id);
-- The search by instance id prefix across the tenant's contracts: a range
-- of this index, then a sort of what matched. A check-in never changes it.
CREATE INDEX instances_id ON instances (tenant_id, instance_id);
