-- 0005_lease_units_inline: a lease's units live in the lease row, as a JSON
-- object of feature to units with sorted keys, e.g. {"gpu":2,"solver":3}
-- (store/internal/lease). A grant wrote one lease_units row per feature
-- and a return read them twice before deleting them. Text, not jsonb: the
-- stores read and write it whole, and find a feature's leases by its key.

ALTER TABLE leases ADD COLUMN units TEXT COLLATE "C" NOT NULL DEFAULT '{}';

UPDATE leases l SET units = u.units
FROM (SELECT tenant_id, lease_id,
             '{' || string_agg('"' || feature || '":' || units, ',' ORDER BY feature) || '}' AS units
      FROM lease_units GROUP BY tenant_id, lease_id) u
WHERE u.tenant_id = l.tenant_id AND u.lease_id = l.id;

ALTER TABLE leases ALTER COLUMN units DROP DEFAULT;

DROP TABLE lease_units;
