-- 0006_usage_events_index: one index of usage events instead of two. Every
-- grant and return writes an event, and each event updated both indexes.
-- ListUsageEvents reads each feature's last event before a range and its
-- events in the range from this one (and no longer walks back through
-- every event since the range began to find the last one before it).

DROP INDEX usage_events_pool_at;
DROP INDEX usage_events_feature;
CREATE INDEX usage_events_feature_at ON usage_events (tenant_id, pool_id, feature, at);
