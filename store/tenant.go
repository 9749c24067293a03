package store

import (
	"context"

	"github.com/licensor/licensor"
)

// CreateTenant stores t, assigning an id if it has none. ECONFLICT if the id
// exists. It needs no tenant scope: creating tenants is the operator's.
func (db *DB) CreateTenant(ctx context.Context, t *licensor.Tenant) error {
	NewTenant(t, db.now)
	return db.writeOne(ctx, "CreateTenant", func(tx Conn) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenants (`+TenantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Name, t.ConcurrencyLimit, int64(t.QueueWait), int64(t.ExpiryWarning),
			Micros(t.CreatedAt), Micros(t.UpdatedAt), int64(t.TelemetryRetention), FieldList(t.TelemetryFieldsDropped), t.TruncateIPs,
			int64(t.ConcurrencyCeiling), int64(t.QueueWaitCeiling))
		return db.translate(err, TenantConstraints(t))
	})
}

// GetTenant returns a tenant. ENOTFOUND, also for a tenant other than the
// one ctx is scoped to.
func (db *DB) GetTenant(ctx context.Context, id string) (*licensor.Tenant, error) {
	if !TenantVisible(ctx, id) {
		return nil, TenantNotFound(id)
	}
	t, err := ScanTenant(db.read().QueryRow(ctx, `SELECT `+TenantCols+` FROM tenants WHERE id = ?`, id))
	if err != nil {
		return nil, db.Final("GetTenant", NotFound(err, TenantNotFoundMessage(id)))
	}
	return t, nil
}

// ListTenants lists tenants by id. With a tenant scope it lists only that
// tenant: a scope never widens what a caller sees.
func (db *DB) ListTenants(ctx context.Context, opts licensor.ListOptions) ([]*licensor.Tenant, error) {
	opts, err := opts.Normalize()
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + TenantCols + ` FROM tenants WHERE id > ?`
	args := []any{opts.After}
	if scope, ok := licensor.TenantFrom(ctx); ok {
		q += ` AND id = ?`
		args = append(args, scope)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.read().Query(ctx, q, args...)
	if err != nil {
		return nil, db.Final("ListTenants", err)
	}
	defer rows.Close()
	out, err := All(rows, ScanTenant)
	return out, db.Final("ListTenants", err)
}

// UpdateTenant replaces the mutable fields of t (name, limits, warning,
// telemetry settings) and
// sets UpdatedAt (the store's clock if t.UpdatedAt is zero). ENOTFOUND.
func (db *DB) UpdateTenant(ctx context.Context, t *licensor.Tenant) error {
	if !TenantVisible(ctx, t.ID) {
		return TenantNotFound(t.ID)
	}
	updated := db.stamp(t.UpdatedAt)
	var created int64
	err := db.writeOne(ctx, "UpdateTenant", func(tx Conn) error {
		err := tx.QueryRow(ctx, `UPDATE tenants
			SET name = ?, concurrency_limit = ?, queue_wait_ns = ?, expiry_warning_ns = ?, updated_at = ?,
				telemetry_retention_ns = ?, telemetry_fields_dropped = ?, truncate_ips = ?,
				concurrency_ceiling = ?, queue_wait_ceiling_ns = ?
			WHERE id = ? RETURNING created_at`,
			t.Name, t.ConcurrencyLimit, int64(t.QueueWait), int64(t.ExpiryWarning), Micros(updated),
			int64(t.TelemetryRetention), FieldList(t.TelemetryFieldsDropped), t.TruncateIPs,
			int64(t.ConcurrencyCeiling), int64(t.QueueWaitCeiling), t.ID).Scan(&created)
		return NotFound(err, TenantNotFoundMessage(t.ID))
	})
	if err != nil {
		return err
	}
	t.UpdatedAt = updated
	t.CreatedAt = FromMicros(created)
	return nil
}
