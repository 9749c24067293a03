package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/licensor/licensor"
)

const tenantCols = `id, name, concurrency_limit, queue_wait_ns, expiry_warning_ns, created_at, updated_at,
	telemetry_retention_ns, telemetry_fields_dropped, truncate_ips`

// CreateTenant stores t, assigning an id if it has none. ECONFLICT if the id
// exists. It needs no tenant scope: creating tenants is the operator's.
func (db *DB) CreateTenant(ctx context.Context, t *licensor.Tenant) error {
	if t.ID == "" {
		t.ID = licensor.NewID(licensor.PrefixTenant)
	}
	t.CreatedAt = db.stamp(t.CreatedAt)
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	t.UpdatedAt = norm(t.UpdatedAt)
	return db.write(ctx, "CreateTenant", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (`+tenantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Name, t.ConcurrencyLimit, int64(t.QueueWait), int64(t.ExpiryWarning),
			micros(t.CreatedAt), micros(t.UpdatedAt), int64(t.TelemetryRetention), fieldList(t.TelemetryFieldsDropped), boolInt(t.TruncateIPs))
		return constraints{primaryKey: fmt.Sprintf("tenant %s already exists", t.ID)}.translate(err)
	})
}

// visibleTenant reports whether ctx may see tenant id: always without a
// scope (the operator), and only its own tenant with one.
func visibleTenant(ctx context.Context, id string) bool {
	scope, ok := licensor.TenantFrom(ctx)
	return !ok || scope == id
}

// GetTenant returns a tenant. ENOTFOUND, also for a tenant other than the
// one ctx is scoped to.
func (db *DB) GetTenant(ctx context.Context, id string) (*licensor.Tenant, error) {
	if !visibleTenant(ctx, id) {
		return nil, licensor.Errorf(licensor.ENOTFOUND, "tenant %s not found", id)
	}
	t, err := scanTenant(db.rd.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = ?`, id))
	if err != nil {
		return nil, driverErr("GetTenant", notFound(err, fmt.Sprintf("tenant %s not found", id)))
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
	q := `SELECT ` + tenantCols + ` FROM tenants WHERE id > ?`
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
	var out []*licensor.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, driverErr("ListTenants", err)
		}
		out = append(out, t)
	}
	return out, driverErr("ListTenants", rows.Err())
}

// UpdateTenant replaces the mutable fields of t (name, limits, warning,
// telemetry settings) and
// sets UpdatedAt (the store's clock if t.UpdatedAt is zero). ENOTFOUND.
func (db *DB) UpdateTenant(ctx context.Context, t *licensor.Tenant) error {
	if !visibleTenant(ctx, t.ID) {
		return licensor.Errorf(licensor.ENOTFOUND, "tenant %s not found", t.ID)
	}
	updated := db.stamp(t.UpdatedAt)
	var created int64
	err := db.write(ctx, "UpdateTenant", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE tenants
			SET name = ?, concurrency_limit = ?, queue_wait_ns = ?, expiry_warning_ns = ?, updated_at = ?,
				telemetry_retention_ns = ?, telemetry_fields_dropped = ?, truncate_ips = ?
			WHERE id = ? RETURNING created_at`,
			t.Name, t.ConcurrencyLimit, int64(t.QueueWait), int64(t.ExpiryWarning), micros(updated),
			int64(t.TelemetryRetention), fieldList(t.TelemetryFieldsDropped), boolInt(t.TruncateIPs), t.ID).Scan(&created)
		return notFound(err, fmt.Sprintf("tenant %s not found", t.ID))
	})
	if err != nil {
		return err
	}
	t.UpdatedAt = updated
	t.CreatedAt = fromMicros(created)
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanTenant(s scanner) (*licensor.Tenant, error) {
	var t licensor.Tenant
	var queueWait, warning, created, updated, retention int64
	var dropped string
	if err := s.Scan(&t.ID, &t.Name, &t.ConcurrencyLimit, &queueWait, &warning, &created, &updated,
		&retention, &dropped, &t.TruncateIPs); err != nil {
		return nil, err
	}
	t.TelemetryRetention = time.Duration(retention)
	if err := json.Unmarshal([]byte(dropped), &t.TelemetryFieldsDropped); err != nil {
		return nil, err
	}
	if len(t.TelemetryFieldsDropped) == 0 {
		t.TelemetryFieldsDropped = nil
	}
	t.QueueWait = time.Duration(queueWait)
	t.ExpiryWarning = time.Duration(warning)
	t.CreatedAt = fromMicros(created)
	t.UpdatedAt = fromMicros(updated)
	return &t, nil
}
