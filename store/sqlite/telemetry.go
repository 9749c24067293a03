package sqlite

import (
	"context"
	"database/sql"
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
		WHERE tenant_id = ? AND contract_id = ?`
	args := []any{tid, f.ContractID}
	if f.InstanceID != "" {
		q += ` AND instance_id = ?`
		args = append(args, f.InstanceID)
	}
	if !f.Since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND at < ?`
		args = append(args, micros(f.Until))
	}
	if opts.After != "" {
		at, id, err := licensor.ParseTelemetryCursor(opts.After)
		if err != nil {
			return nil, err
		}
		q += ` AND (at, id) > (?, ?)`
		args = append(args, micros(at), id)
	}
	q += ` ORDER BY at, id LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, driverErr("ListTelemetry", err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanTelemetryPoint)
	return out, driverErr("ListTelemetry", err)
}

// pruneBatch bounds how many points one write transaction deletes, so that
// pruning a large history never holds the single writer for long.
const pruneBatch = 2000

// PruneTelemetry deletes the scoped tenant's points older than before, in
// batches of their own transactions, and clears the latest telemetry of
// instances that last reported before it.
func (db *DB) PruneTelemetry(ctx context.Context, before time.Time) (int64, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for {
		var n int64
		err := db.write(ctx, "PruneTelemetry", func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM telemetry_history
				WHERE (tenant_id, contract_id, at, id) IN (
					SELECT tenant_id, contract_id, at, id FROM telemetry_history
					WHERE tenant_id = ? AND at < ? LIMIT ?)`, tid, micros(before), pruneBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
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
	err = db.write(ctx, "PruneTelemetry", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE instances SET telemetry_json = '', telemetry_at = 0
			WHERE tenant_id = ? AND telemetry_at <> 0 AND telemetry_at < ?`, tid, micros(before))
		return err
	})
	db.wb.invalidate() // remembered instances may carry the cleared telemetry
	return total, err
}
