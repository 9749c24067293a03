package sqlite

import (
	"context"
	"database/sql"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
	"github.com/licensor/licensor/store/internal/newrecord"
)

// CreateTenant stores t, assigning an id if it has none. ECONFLICT if the id
// exists. It needs no tenant scope: creating tenants is the operator's.
func (db *DB) CreateTenant(ctx context.Context, t *licensor.Tenant) error {
	newrecord.Tenant(t, db.now)
	return db.write(ctx, "CreateTenant", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (`+store.TenantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Name, t.ConcurrencyLimit, int64(t.QueueWait), int64(t.ExpiryWarning),
			micros(t.CreatedAt), micros(t.UpdatedAt), int64(t.TelemetryRetention), store.FieldList(t.TelemetryFieldsDropped), boolInt(t.TruncateIPs))
		return translateErr(err, newrecord.TenantConstraints(t))
	})
}

// GetTenant returns a tenant. ENOTFOUND, also for a tenant other than the
// one ctx is scoped to.
func (db *DB) GetTenant(ctx context.Context, id string) (*licensor.Tenant, error) {
	if !store.TenantVisible(ctx, id) {
		return nil, store.TenantNotFound(id)
	}
	t, err := store.ScanTenant(db.rd.QueryRowContext(ctx, `SELECT `+store.TenantCols+` FROM tenants WHERE id = ?`, id))
	if err != nil {
		return nil, driverErr("GetTenant", notFound(err, store.TenantNotFoundMessage(id)))
	}
	return t, nil
}

// ListTenants lists tenants by id. With a tenant scope it lists only that
// tenant: a scope never widens what a caller sees.
func (db *DB) ListTenants(ctx context.Context, opts licensor.ListOptions) ([]*licensor.Tenant, error) {
	opts, err := page(opts)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + store.TenantCols + ` FROM tenants WHERE id > ?`
	args := []any{opts.After}
	if scope, ok := licensor.TenantFrom(ctx); ok {
		q += ` AND id = ?`
		args = append(args, scope)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.rd.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, driverErr("ListTenants", err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanTenant)
	return out, driverErr("ListTenants", err)
}

// UpdateTenant replaces the mutable fields of t (name, limits, warning,
// telemetry settings) and
// sets UpdatedAt (the store's clock if t.UpdatedAt is zero). ENOTFOUND.
func (db *DB) UpdateTenant(ctx context.Context, t *licensor.Tenant) error {
	if !store.TenantVisible(ctx, t.ID) {
		return store.TenantNotFound(t.ID)
	}
	updated := db.stamp(t.UpdatedAt)
	var created int64
	err := db.write(ctx, "UpdateTenant", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE tenants
			SET name = ?, concurrency_limit = ?, queue_wait_ns = ?, expiry_warning_ns = ?, updated_at = ?,
				telemetry_retention_ns = ?, telemetry_fields_dropped = ?, truncate_ips = ?
			WHERE id = ? RETURNING created_at`,
			t.Name, t.ConcurrencyLimit, int64(t.QueueWait), int64(t.ExpiryWarning), micros(updated),
			int64(t.TelemetryRetention), store.FieldList(t.TelemetryFieldsDropped), boolInt(t.TruncateIPs), t.ID).Scan(&created)
		return notFound(err, store.TenantNotFoundMessage(t.ID))
	})
	if err != nil {
		return err
	}
	t.UpdatedAt = updated
	t.CreatedAt = fromMicros(created)
	return nil
}
