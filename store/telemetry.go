package store

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// ListTelemetry returns the scoped tenant's points of one contract (and
// optionally one instance) in [Since, Until), ordered by (at, id).
func (db *DB) ListTelemetry(ctx context.Context, f licensor.TelemetryFilter) ([]*licensor.TelemetryPoint, error) {
	tid, opts, err := TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	if f.ContractID == "" {
		return nil, licensor.Errorf(licensor.EINVALID, "contract_id is required")
	}
	q := `SELECT ` + TelemetryPointCols + ` FROM telemetry_history
		WHERE tenant_id = ? AND contract_id = ?`
	args := []any{tid, f.ContractID}
	if f.InstanceID != "" {
		q += ` AND instance_id = ?`
		args = append(args, f.InstanceID)
	}
	q, args = atWithin(q, args, f.Since, f.Until)
	if opts.After != "" {
		at, id, err := licensor.ParseTelemetryCursor(opts.After)
		if err != nil {
			return nil, err
		}
		q += ` AND (at, id) > (CAST(? AS BIGINT), CAST(? AS TEXT))`
		args = append(args, Micros(at), id)
	}
	q += ` ORDER BY at, id LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.eng.ReadUnprepared().Query(ctx, q, args...)
	if err != nil {
		return nil, db.Final("ListTelemetry", err)
	}
	defer rows.Close()
	out, err := All(rows, ScanTelemetryPoint)
	return out, db.Final("ListTelemetry", err)
}

// pruneBatch bounds how many points one statement deletes, so that pruning
// a large history never holds the writer (SQLite) or locks (PostgreSQL)
// for long.
const pruneBatch = 2000

// PruneTelemetry deletes the scoped tenant's points older than before, in
// batches of their own statements, and clears the latest telemetry of
// instances that last reported before it. Several servers pruning at once
// delete disjoint rows (Dialect.SkipLocked) and count each point once.
func (db *DB) PruneTelemetry(ctx context.Context, before time.Time) (int64, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for {
		var n int64
		err := db.writeOne(ctx, "PruneTelemetry", func(tx Conn) error {
			var err error
			n, err = tx.Exec(ctx, `DELETE FROM telemetry_history
				WHERE (tenant_id, contract_id, at, id) IN (
					SELECT tenant_id, contract_id, at, id FROM telemetry_history
					WHERE tenant_id = ? AND at < ? LIMIT ?`+db.d.SkipLocked+`)`, tid, Micros(before), pruneBatch)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneBatch {
			break
		}
	}
	err = db.writeOne(ctx, "PruneTelemetry", func(tx Conn) error {
		_, err := tx.Exec(ctx, `UPDATE instances SET telemetry_json = '', telemetry_at = 0
			WHERE tenant_id = ? AND telemetry_at <> 0 AND telemetry_at < ?`, tid, Micros(before))
		return err
	})
	db.eng.InstancesChanged() // remembered instances may carry the cleared telemetry
	return total, err
}
