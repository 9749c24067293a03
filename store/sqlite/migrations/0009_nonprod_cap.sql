-- 0009_nonprod_cap: a cap on the non-production URLs of a production-URL
-- contract. Staging, development and test instances take no seat; each
-- one that is new holds a non-production slot instead (instances.nonprod),
-- counted in contracts.nonprod_used by Checkin and ReleaseSeat in the same
-- transaction, like seats_used. max_nonprod_urls 0: unlimited.
--
-- Instances already recorded without a seat in a non-production
-- environment of a production-URL contract hold a slot from now on, so the
-- count starts true; no cap is set, so none of them is refused.

ALTER TABLE contracts ADD COLUMN max_nonprod_urls INTEGER NOT NULL DEFAULT 0 CHECK (max_nonprod_urls >= 0);
ALTER TABLE contracts ADD COLUMN nonprod_used     INTEGER NOT NULL DEFAULT 0 CHECK (nonprod_used >= 0);
ALTER TABLE instances ADD COLUMN nonprod          INTEGER NOT NULL DEFAULT 0 CHECK (nonprod IN (0, 1));

UPDATE instances SET nonprod = 1
 WHERE seat = 0 AND environment NOT IN ('', 'production')
   AND EXISTS (SELECT 1 FROM contracts c WHERE c.tenant_id = instances.tenant_id
               AND c.id = instances.contract_id AND c.seat_rule = 'production_url');

UPDATE contracts SET nonprod_used = (SELECT COUNT(*) FROM instances i
    WHERE i.tenant_id = contracts.tenant_id AND i.contract_id = contracts.id AND i.nonprod = 1);
