package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// CreateWebhook stores w, refusing more than MaxWebhooks per tenant in the
// same statement.
func (db *DB) CreateWebhook(ctx context.Context, w *licensor.Webhook) error {
	tid, err := store.NewWebhook(ctx, w, db.now)
	if err != nil {
		return err
	}
	return db.write(ctx, "CreateWebhook", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO webhooks (`+store.WebhookInsertCols+`)
			SELECT ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM webhooks WHERE tenant_id = ?) < ?`,
			tid, w.ID, w.URL, store.EventTypes(w.EventTypes), w.SecretSealed, micros(w.CreatedAt), tid, licensor.MaxWebhooks)
		if err != nil {
			return translateErr(err, store.WebhookConstraints(w))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return licensor.Errorf(licensor.EEXHAUSTED, "tenant has %d webhooks, the limit; delete one first", licensor.MaxWebhooks)
		}
		return nil
	})
}

// GetWebhook returns one webhook.
func (db *DB) GetWebhook(ctx context.Context, id string) (*licensor.Webhook, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	w, err := store.ScanWebhook(db.r.QueryRowContext(ctx, `SELECT `+store.WebhookCols+` FROM webhooks WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, driverErr("GetWebhook", notFound(err, "webhook "+id+" not found"))
	}
	return w, nil
}

// ListWebhooks lists the tenant's webhooks by id.
func (db *DB) ListWebhooks(ctx context.Context) ([]*licensor.Webhook, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	ws, err := listWebhooks(ctx, db.r, tid)
	return ws, driverErr("ListWebhooks", err)
}

func listWebhooks(ctx context.Context, q querier, tid string) ([]*licensor.Webhook, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+store.WebhookCols+` FROM webhooks WHERE tenant_id = ? ORDER BY id`, tid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return store.All(rows, store.ScanWebhook)
}

// DeleteWebhook deletes a webhook; its deliveries go with it (cascade).
func (db *DB) DeleteWebhook(ctx context.Context, id string) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	return db.write(ctx, "DeleteWebhook", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE tenant_id = ? AND id = ?`, tid, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return licensor.Errorf(licensor.ENOTFOUND, "webhook %s not found", id)
		}
		return nil
	})
}

// SetWebhookDisabled disables (at non-zero) or enables (at zero) a webhook
// and holds back or releases its pending deliveries in the same write.
func (db *DB) SetWebhookDisabled(ctx context.Context, id string, at time.Time) (*licensor.Webhook, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	var disabledAt any // NULL enables
	if !at.IsZero() {
		disabledAt = micros(at)
	}
	var w *licensor.Webhook
	err = db.write(ctx, "SetWebhookDisabled", func(tx *sql.Tx) error {
		var err error
		w, err = store.ScanWebhook(tx.QueryRowContext(ctx, `UPDATE webhooks
			SET disabled_at = CASE WHEN ? IS NULL THEN NULL ELSE COALESCE(disabled_at, ?) END
			WHERE tenant_id = ? AND id = ? RETURNING `+store.WebhookCols, disabledAt, disabledAt, tid, id))
		if err != nil {
			return notFound(err, "webhook "+id+" not found")
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET held = ?
			WHERE tenant_id = ? AND webhook_id = ? AND status = 'pending' AND held != ?`, w.Disabled(), tid, id, w.Disabled())
		return err
	})
	return w, err
}

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
			ORDER BY next_attempt_at LIMIT ?`, micros(now), micros(now), limit)
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
				claimID, micros(until), k.tenant, k.id, micros(now))
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

// CompleteDelivery records an attempt while the claim holds.
func (db *DB) CompleteDelivery(ctx context.Context, a licensor.DeliveryAttempt) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	delivered := int64(0)
	if a.Status == licensor.DeliverySucceeded {
		delivered = micros(db.stamp(a.At))
	}
	next := micros(a.NextAttemptAt)
	return db.write(ctx, "CompleteDelivery", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?,
			last_latency_ns = ?, last_error = ?, status = ?, next_attempt_at = CASE WHEN ? = 0 THEN next_attempt_at ELSE ? END,
			delivered_at = CASE WHEN ? = 0 THEN delivered_at ELSE ? END, claim = '', claimed_until = 0
			WHERE tenant_id = ? AND id = ? AND claim = ? AND claim != ''`,
			a.StatusCode, int64(a.Latency), a.Error, string(a.Status), next, next, delivered, delivered, tid, a.DeliveryID, a.Claim)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		ok, err := exists(ctx, tx, `SELECT 1 FROM webhook_deliveries WHERE tenant_id = ? AND id = ?`, tid, a.DeliveryID)
		if err != nil {
			return err
		}
		if !ok {
			return licensor.Errorf(licensor.ENOTFOUND, "delivery %s not found", a.DeliveryID)
		}
		return licensor.Errorf(licensor.ECONFLICT, "delivery %s is no longer claimed by %s", a.DeliveryID, a.Claim)
	})
}

// GetDelivery returns one delivery.
func (db *DB) GetDelivery(ctx context.Context, id string) (*licensor.Delivery, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := store.ScanDelivery(db.r.QueryRowContext(ctx, `SELECT `+store.DeliveryCols+` FROM webhook_deliveries WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, driverErr("GetDelivery", notFound(err, "delivery "+id+" not found"))
	}
	return d, nil
}

// ListDeliveries lists deliveries newest first.
func (db *DB) ListDeliveries(ctx context.Context, f licensor.DeliveryFilter) ([]*licensor.Delivery, error) {
	tid, opts, err := store.TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + store.DeliveryCols + ` FROM webhook_deliveries WHERE tenant_id = ?`
	args := []any{tid}
	if f.WebhookID != "" {
		q += ` AND webhook_id = ?`
		args = append(args, f.WebhookID)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if opts.After != "" {
		q += ` AND (created_at, id) < (SELECT created_at, id FROM webhook_deliveries WHERE tenant_id = ? AND id = ?)`
		args = append(args, tid, opts.After)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, driverErr("ListDeliveries", err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanDelivery)
	return out, driverErr("ListDeliveries", err)
}

// heldByWebhook is a delivery's held flag as its webhook's state says.
const heldByWebhook = `EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = webhook_deliveries.tenant_id
	AND w.id = webhook_deliveries.webhook_id AND w.disabled_at IS NOT NULL)`

// Redeliver makes a delivery pending again, due at now (held back if its
// webhook is disabled).
func (db *DB) Redeliver(ctx context.Context, id string, now, giveUpAt time.Time) (*licensor.Delivery, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	var d *licensor.Delivery
	err = db.write(ctx, "Redeliver", func(tx *sql.Tx) error {
		var err error
		d, err = store.ScanDelivery(tx.QueryRowContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?,
			give_up_at = ?, claim = '', claimed_until = 0, held = `+heldByWebhook+` WHERE tenant_id = ? AND id = ? RETURNING `+store.DeliveryCols,
			micros(db.stamp(now)), micros(giveUpAt), tid, id))
		return notFound(err, "delivery "+id+" not found")
	})
	return d, err
}
