package store

import (
	"encoding/json"
	"time"

	"github.com/licensor/licensor"
)

// TenantCols are the columns ScanTenant reads.
const TenantCols = `id, name, concurrency_limit, queue_wait_ns, expiry_warning_ns, created_at, updated_at,
	telemetry_retention_ns, telemetry_fields_dropped, truncate_ips, concurrency_ceiling, queue_wait_ceiling_ns`

// ScanTenant decodes a row of TenantCols.
func ScanTenant(s Scanner) (*licensor.Tenant, error) {
	var t licensor.Tenant
	var limit, queueWait, warning, created, updated, retention, ceiling, waitCeiling int64
	var dropped string
	if err := s.Scan(&t.ID, &t.Name, &limit, &queueWait, &warning, &created, &updated,
		&retention, &dropped, &t.TruncateIPs, &ceiling, &waitCeiling); err != nil {
		return nil, err
	}
	t.TelemetryRetention = time.Duration(retention)
	if err := json.Unmarshal([]byte(dropped), &t.TelemetryFieldsDropped); err != nil {
		return nil, err
	}
	if len(t.TelemetryFieldsDropped) == 0 {
		t.TelemetryFieldsDropped = nil
	}
	t.ConcurrencyLimit = int(limit)
	t.QueueWait = time.Duration(queueWait)
	t.ConcurrencyCeiling, t.QueueWaitCeiling = int(ceiling), time.Duration(waitCeiling)
	t.ExpiryWarning = time.Duration(warning)
	t.CreatedAt = FromMicros(created)
	t.UpdatedAt = FromMicros(updated)
	return &t, nil
}
