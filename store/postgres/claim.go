package postgres

import (
	"context"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// ClaimDeliveries is PostgreSQL's own: one statement whose FOR UPDATE SKIP
// LOCKED lets workers on several servers claim without waiting for each
// other (SQLite has neither that nor data-changing CTEs).

// ClaimDeliveries claims due deliveries of any tenant in one statement:
// the rows are picked with FOR UPDATE SKIP LOCKED, so workers on several
// servers claiming at the same moment take disjoint sets without waiting
// for each other, and a row whose claim has not expired is not taken.
// Deliveries of disabled webhooks are held and not in the due index; the
// NOT EXISTS guards against a row queued while its webhook was being
// disabled (one key lookup per candidate).
func (db *DB) ClaimDeliveries(ctx context.Context, claimID string, now, until time.Time, limit int) ([]*licensor.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `WITH due AS (
			SELECT tenant_id, id FROM webhook_deliveries d
			WHERE status = 'pending' AND NOT held AND next_attempt_at <= $1 AND claimed_until <= $1
			AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = d.tenant_id AND w.id = d.webhook_id AND w.disabled_at IS NOT NULL)
			ORDER BY next_attempt_at LIMIT $2
			FOR UPDATE SKIP LOCKED
		), claimed AS (
			UPDATE webhook_deliveries d SET claim = $3, claimed_until = $4
			FROM due WHERE d.tenant_id = due.tenant_id AND d.id = due.id
			RETURNING d.*
		)
		SELECT `+store.Qualify("d.", store.DeliveryCols)+`, w.url, w.secret_sealed
		FROM claimed d JOIN webhooks w ON w.tenant_id = d.tenant_id AND w.id = d.webhook_id
		ORDER BY d.next_attempt_at, d.id`, store.Micros(now), limit, claimID, store.Micros(until))
	if err != nil {
		return nil, db.Final("ClaimDeliveries", err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanClaimedDelivery)
	return out, db.Final("ClaimDeliveries", err)
}
