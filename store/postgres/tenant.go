package postgres

import (
	"context"
	"fmt"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
	"github.com/licensor/licensor/store/internal/newrecord"
)

// CreateTenant stores t, assigning an id if it has none. ECONFLICT if the id
// exists. It needs no tenant scope: creating tenants is the operator's.
func (db *DB) CreateTenant(ctx context.Context, t *licensor.Tenant) error {
	newrecord.Tenant(t, db.now)
	_, err := db.pool.Exec(ctx, `INSERT INTO tenants (`+store.TenantCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		t.ID, t.Name, int64(t.ConcurrencyLimit), int64(t.QueueWait), int64(t.ExpiryWarning),
		micros(t.CreatedAt), micros(t.UpdatedAt), int64(t.TelemetryRetention), store.FieldList(t.TelemetryFieldsDropped), t.TruncateIPs)
	return driverErr("CreateTenant", translateErr(err, newrecord.TenantConstraints(t)))
}

// GetTenant returns a tenant. ENOTFOUND, also for a tenant other than the
// one ctx is scoped to.
func (db *DB) GetTenant(ctx context.Context, id string) (*licensor.Tenant, error) {
	if !store.TenantVisible(ctx, id) {
		return nil, store.TenantNotFound(id)
	}
	t, err := store.ScanTenant(db.pool.QueryRow(ctx, `SELECT `+store.TenantCols+` FROM tenants WHERE id = $1`, id))
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
	q := `SELECT ` + store.TenantCols + ` FROM tenants WHERE id > $1`
	args := []any{opts.After}
	if scope, ok := licensor.TenantFrom(ctx); ok {
		q += ` AND id = $2`
		args = append(args, scope)
	}
	q += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args)+1)
	args = append(args, opts.Limit)
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, driverErr("ListTenants", err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanTenant)
	return out, driverErr("ListTenants", err)
}

// UpdateTenant replaces the mutable fields of t (name, limits, warning,
// telemetry settings) and sets UpdatedAt (the store's clock if t.UpdatedAt is zero). ENOTFOUND.
func (db *DB) UpdateTenant(ctx context.Context, t *licensor.Tenant) error {
	if !store.TenantVisible(ctx, t.ID) {
		return store.TenantNotFound(t.ID)
	}
	updated := db.stamp(t.UpdatedAt)
	var created int64
	err := db.pool.QueryRow(ctx, `UPDATE tenants
		SET name = $1, concurrency_limit = $2, queue_wait_ns = $3, expiry_warning_ns = $4, updated_at = $5,
			telemetry_retention_ns = $6, telemetry_fields_dropped = $7, truncate_ips = $8
		WHERE id = $9 RETURNING created_at`,
		t.Name, int64(t.ConcurrencyLimit), int64(t.QueueWait), int64(t.ExpiryWarning), micros(updated),
		int64(t.TelemetryRetention), store.FieldList(t.TelemetryFieldsDropped), t.TruncateIPs, t.ID).Scan(&created)
	if err != nil {
		return driverErr("UpdateTenant", notFound(err, store.TenantNotFoundMessage(t.ID)))
	}
	t.UpdatedAt = updated
	t.CreatedAt = fromMicros(created)
	return nil
}
