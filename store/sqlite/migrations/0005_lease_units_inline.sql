-- 0005_lease_units_inline: a lease's units live in the lease row, as a JSON
-- object of feature to units with sorted keys, e.g. {"gpu":2,"solver":3}
-- (store/internal/lease). A grant wrote one lease_units row per feature
-- and a return read them twice before deleting them: a third of the
-- statements of a capability cycle, on the single writer.

ALTER TABLE leases ADD COLUMN units TEXT NOT NULL DEFAULT '{}';

UPDATE leases SET units = COALESCE((
    SELECT '{' || group_concat('"' || u.feature || '":' || u.units, ',' ORDER BY u.feature) || '}'
    FROM lease_units u
    WHERE u.tenant_id = leases.tenant_id AND u.lease_id = leases.id), '{}');

DROP TABLE lease_units;
