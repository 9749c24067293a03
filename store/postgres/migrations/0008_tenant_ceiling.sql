-- 0008_tenant_ceiling: the operator's ceilings on a tenant's own
-- concurrency limit and queue wait (in ns), mirroring store/sqlite's
-- 0008_tenant_ceiling.sql. A tenant's admin may set its limit and wait up
-- to them, never past.
--
-- An existing tenant gets the default ceilings (60, 1s), or its current
-- setting where that is higher, so that no tenant loses what it has.

ALTER TABLE tenants ADD COLUMN concurrency_ceiling   BIGINT NOT NULL DEFAULT 60;
ALTER TABLE tenants ADD COLUMN queue_wait_ceiling_ns BIGINT NOT NULL DEFAULT 1000000000;

UPDATE tenants SET concurrency_ceiling = GREATEST(concurrency_ceiling, concurrency_limit),
                   queue_wait_ceiling_ns = GREATEST(queue_wait_ceiling_ns, queue_wait_ns);
