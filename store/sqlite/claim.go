package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// ClaimDeliveries is SQLite's own: it has no FOR UPDATE SKIP LOCKED nor
// data-changing CTEs, and with one writer needs neither.

// ClaimDeliveries claims due deliveries of any tenant, each with a
// conditional UPDATE. (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED.)
func (db *DB) ClaimDeliveries(ctx context.Context, claimID string, now, until time.Time, limit int) ([]*licensor.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*licensor.Delivery
	err := db.write(ctx, "ClaimDeliveries", func(tx *sql.Tx) error {
		out = nil
		// held = 0 keeps disabled webhooks' rows out of the index scan; the
		// NOT EXISTS is a cheap second guard (one key lookup per candidate).
		rows, err := tx.QueryContext(ctx, `SELECT tenant_id, id FROM webhook_deliveries d
			WHERE status = 'pending' AND held = 0 AND next_attempt_at <= ? AND claimed_until <= ?
			AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = d.tenant_id AND w.id = d.webhook_id AND w.disabled_at IS NOT NULL)
			ORDER BY next_attempt_at LIMIT ?`, store.Micros(now), store.Micros(now), limit)
		if err != nil {
			return err
		}
		type key struct{ tenant, id string }
		var keys []key
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.tenant, &k.id); err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range keys {
			res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET claim = ?, claimed_until = ?
				WHERE tenant_id = ? AND id = ? AND status = 'pending' AND claimed_until <= ?`,
				claimID, store.Micros(until), k.tenant, k.id, store.Micros(now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			d, err := store.ScanClaimedDelivery(tx.QueryRowContext(ctx, `SELECT `+store.Qualify("d.", store.DeliveryCols)+`, w.url, w.secret_sealed
				FROM webhook_deliveries d JOIN webhooks w ON w.tenant_id = d.tenant_id AND w.id = d.webhook_id
				WHERE d.tenant_id = ? AND d.id = ?`, k.tenant, k.id))
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}
