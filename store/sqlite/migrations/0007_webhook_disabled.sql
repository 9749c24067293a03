-- 0007_webhook_disabled: a webhook can be disabled (paused) and enabled
-- again. disabled_at is when it was disabled, in microseconds, NULL while
-- it is enabled.
--
-- The dispatcher must skip a disabled webhook's deliveries without walking
-- past them on every poll (a webhook left disabled piles up a backlog), so
-- each pending delivery carries its webhook's state in held, kept in step
-- by SetWebhookDisabled and by queueDeliveries, and the due index leaves
-- held rows out.

ALTER TABLE webhooks ADD COLUMN disabled_at INTEGER;
ALTER TABLE webhook_deliveries ADD COLUMN held INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1));

DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending' AND held = 0;
