package store

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// CreateWebhook stores w, refusing more than MaxWebhooks per tenant. The
// tenant row is locked first where the engine has row locks, so that two
// servers adding a tenant's last allowed webhook at once cannot both count
// the same total (SQLite's one writer serialises them anyway).
func (db *DB) CreateWebhook(ctx context.Context, w *licensor.Webhook) error {
	tid, err := NewWebhook(ctx, w, db.now)
	if err != nil {
		return err
	}
	return db.write(ctx, "CreateWebhook", func(tx Conn) error {
		ok, err := Exists(ctx, tx, `SELECT 1 FROM tenants WHERE id = ?`+db.d.ForUpdate, tid)
		if err != nil {
			return err
		}
		if !ok {
			return TenantNotFound(tid)
		}
		n, err := tx.Exec(ctx, `INSERT INTO webhooks (`+WebhookInsertCols+`)
			SELECT ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM webhooks WHERE tenant_id = ?) < ?`,
			tid, w.ID, w.URL, EventTypes(w.EventTypes), w.SecretSealed, Micros(w.CreatedAt), tid, licensor.MaxWebhooks)
		if err != nil {
			return db.translate(err, WebhookConstraints(w))
		}
		if n == 0 {
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
	w, err := ScanWebhook(db.eng.ReadUnprepared().QueryRow(ctx, `SELECT `+WebhookCols+` FROM webhooks WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, db.Final("GetWebhook", NotFound(err, "webhook "+id+" not found"))
	}
	return w, nil
}

// ListWebhooks lists the tenant's webhooks by id.
func (db *DB) ListWebhooks(ctx context.Context) ([]*licensor.Webhook, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	ws, err := listWebhooks(ctx, db.eng.ReadUnprepared(), tid)
	return ws, db.Final("ListWebhooks", err)
}

func listWebhooks(ctx context.Context, q Conn, tid string) ([]*licensor.Webhook, error) {
	rows, err := q.Query(ctx, `SELECT `+WebhookCols+` FROM webhooks WHERE tenant_id = ? ORDER BY id`, tid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return All(rows, ScanWebhook)
}

// DeleteWebhook deletes a webhook; its deliveries go with it (cascade).
func (db *DB) DeleteWebhook(ctx context.Context, id string) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	return db.writeOne(ctx, "DeleteWebhook", func(tx Conn) error {
		n, err := tx.Exec(ctx, `DELETE FROM webhooks WHERE tenant_id = ? AND id = ?`, tid, id)
		return affected(n, err, "webhook "+id+" not found")
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
		disabledAt = Micros(at)
	}
	var w *licensor.Webhook
	err = db.write(ctx, "SetWebhookDisabled", func(tx Conn) error {
		var err error
		w, err = ScanWebhook(tx.QueryRow(ctx, `UPDATE webhooks
			SET disabled_at = CASE WHEN CAST(? AS BIGINT) IS NULL THEN NULL ELSE COALESCE(disabled_at, CAST(? AS BIGINT)) END
			WHERE tenant_id = ? AND id = ? RETURNING `+WebhookCols, disabledAt, disabledAt, tid, id))
		if err != nil {
			return NotFound(err, "webhook "+id+" not found")
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET held = ?
			WHERE tenant_id = ? AND webhook_id = ? AND status = 'pending' AND held <> ?`, w.Disabled(), tid, id, w.Disabled())
		return err
	})
	return w, err
}

// CompleteDelivery records an attempt while the claim holds.
func (db *DB) CompleteDelivery(ctx context.Context, a licensor.DeliveryAttempt) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	delivered := int64(0)
	if a.Status == licensor.DeliverySucceeded {
		delivered = Micros(db.stamp(a.At))
	}
	next := Micros(a.NextAttemptAt)
	return db.writeOne(ctx, "CompleteDelivery", func(tx Conn) error {
		n, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?1,
			last_latency_ns = ?2, last_error = ?3, status = ?4, next_attempt_at = CASE WHEN CAST(?5 AS BIGINT) = 0 THEN next_attempt_at ELSE CAST(?5 AS BIGINT) END,
			delivered_at = CASE WHEN CAST(?6 AS BIGINT) = 0 THEN delivered_at ELSE CAST(?6 AS BIGINT) END, claim = '', claimed_until = 0
			WHERE tenant_id = ?7 AND id = ?8 AND claim = ?9 AND claim <> ''`,
			a.StatusCode, int64(a.Latency), a.Error, string(a.Status), next, delivered, tid, a.DeliveryID, a.Claim)
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		ok, err := Exists(ctx, tx, `SELECT 1 FROM webhook_deliveries WHERE tenant_id = ? AND id = ?`, tid, a.DeliveryID)
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
	d, err := ScanDelivery(db.eng.ReadUnprepared().QueryRow(ctx, `SELECT `+DeliveryCols+` FROM webhook_deliveries WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, db.Final("GetDelivery", NotFound(err, "delivery "+id+" not found"))
	}
	return d, nil
}

// ListDeliveries lists deliveries newest first.
func (db *DB) ListDeliveries(ctx context.Context, f licensor.DeliveryFilter) ([]*licensor.Delivery, error) {
	tid, opts, err := TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + DeliveryCols + ` FROM webhook_deliveries WHERE tenant_id = ?`
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
	rows, err := db.eng.ReadUnprepared().Query(ctx, q, args...)
	if err != nil {
		return nil, db.Final("ListDeliveries", err)
	}
	defer rows.Close()
	out, err := All(rows, ScanDelivery)
	return out, db.Final("ListDeliveries", err)
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
	err = db.writeOne(ctx, "Redeliver", func(tx Conn) error {
		var err error
		d, err = ScanDelivery(tx.QueryRow(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?,
			give_up_at = ?, claim = '', claimed_until = 0, held = `+heldByWebhook+` WHERE tenant_id = ? AND id = ? RETURNING `+DeliveryCols,
			Micros(db.stamp(now)), Micros(giveUpAt), tid, id))
		return NotFound(err, "delivery "+id+" not found")
	})
	return d, err
}
