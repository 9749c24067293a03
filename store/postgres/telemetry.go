package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// ListTelemetry returns the scoped tenant's points of one contract (and
// optionally one instance) in [Since, Until), ordered by (at, id).
func (db *DB) ListTelemetry(ctx context.Context, f licensor.TelemetryFilter) ([]*licensor.TelemetryPoint, error) {
	tid, opts, err := store.TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	if f.ContractID == "" {
		return nil, licensor.Errorf(licensor.EINVALID, "contract_id is required")
	}
	q := `SELECT ` + store.TelemetryPointCols + ` FROM telemetry_history
		WHERE tenant_id = $1 AND contract_id = $2`
	args := []any{tid, f.ContractID}
	add := func(cond string, v ...any) {
		n := make([]any, len(v))
		for i := range v {
			n[i] = len(args) + i + 1
		}
		args = append(args, v...)
		q += fmt.Sprintf(cond, n...)
	}
	if f.InstanceID != "" {
		add(` AND instance_id = $%d`, f.InstanceID)
	}
	if !f.Since.IsZero() {
		add(` AND at >= $%d`, micros(f.Since))
	}
	if !f.Until.IsZero() {
		add(` AND at < $%d`, micros(f.Until))
	}
	if opts.After != "" {
		at, id, err := licensor.ParseTelemetryCursor(opts.After)
		if err != nil {
			return nil, err
		}
		add(` AND (at, id) > ($%d::bigint, $%d::text)`, micros(at), id)
	}
	add(` ORDER BY at, id LIMIT $%d`, opts.Limit)
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, driverErr("ListTelemetry", err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanTelemetryPoint)
	return out, driverErr("ListTelemetry", err)
}

// pruneBatch bounds how many points one statement deletes, so that pruning
// a large history never holds locks for long.
const pruneBatch = 2000

// PruneTelemetry deletes the scoped tenant's points older than before, in
// batches of their own statements, and clears the latest telemetry of
// instances that last reported before it. Several servers pruning at once
// delete disjoint rows (SKIP LOCKED) and count each point once.
func (db *DB) PruneTelemetry(ctx context.Context, before time.Time) (int64, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for {
		tag, err := db.pool.Exec(ctx, `DELETE FROM telemetry_history
			WHERE (tenant_id, contract_id, at, id) IN (
				SELECT tenant_id, contract_id, at, id FROM telemetry_history
				WHERE tenant_id = $1 AND at < $2 LIMIT $3 FOR UPDATE SKIP LOCKED)`, tid, micros(before), pruneBatch)
		if err != nil {
			return total, driverErr("PruneTelemetry", err)
		}
		n := tag.RowsAffected()
		total += n
		if n < pruneBatch {
			break
		}
	}
	_, err = db.pool.Exec(ctx, `UPDATE instances SET telemetry_json = '', telemetry_at = 0
		WHERE tenant_id = $1 AND telemetry_at <> 0 AND telemetry_at < $2`, tid, micros(before))
	return total, driverErr("PruneTelemetry", err)
}
