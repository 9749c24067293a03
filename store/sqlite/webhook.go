package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/licensor/licensor"
)

const webhookCols = `tenant_id, id, url, event_types, secret_sealed, created_at`

const deliveryCols = `tenant_id, id, webhook_id, event_id, event_type, status, body, attempts, last_status,
	last_latency_ns, last_error, next_attempt_at, give_up_at, created_at, delivered_at`

// CreateWebhook stores w, refusing more than MaxWebhooks per tenant in the
// same statement.
func (db *DB) CreateWebhook(ctx context.Context, w *licensor.Webhook) error {
	tid, err := claim(ctx, &w.TenantID)
	if err != nil {
		return err
	}
	if w.ID == "" {
		w.ID = licensor.NewID(licensor.PrefixWebhook)
	}
	w.CreatedAt = db.stamp(w.CreatedAt)
	types := make([]string, len(w.EventTypes))
	for i, t := range w.EventTypes {
		types[i] = string(t)
	}
	return db.write(ctx, "CreateWebhook", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO webhooks (`+webhookCols+`)
			SELECT ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM webhooks WHERE tenant_id = ?) < ?`,
			tid, w.ID, w.URL, strings.Join(types, " "), w.SecretSealed, micros(w.CreatedAt), tid, licensor.MaxWebhooks)
		if err != nil {
			return constraints{
				primaryKey: fmt.Sprintf("webhook %s already exists", w.ID),
				foreignKey: fmt.Sprintf("tenant %s not found", tid),
			}.translate(err)
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
	w, err := scanWebhook(db.r.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE tenant_id = ? AND id = ?`, tid, id))
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
	rows, err := q.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE tenant_id = ? ORDER BY id`, tid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*licensor.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func scanWebhook(s scanner) (*licensor.Webhook, error) {
	var w licensor.Webhook
	var types string
	var created int64
	if err := s.Scan(&w.TenantID, &w.ID, &w.URL, &types, &w.SecretSealed, &created); err != nil {
		return nil, err
	}
	for _, t := range strings.Fields(types) {
		w.EventTypes = append(w.EventTypes, licensor.AlertType(t))
	}
	w.CreatedAt = fromMicros(created)
	return &w, nil
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

// ClaimDeliveries claims due deliveries of any tenant, each with a
// conditional UPDATE. (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED.)
func (db *DB) ClaimDeliveries(ctx context.Context, claimID string, now, until time.Time, limit int) ([]*licensor.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*licensor.Delivery
	err := db.write(ctx, "ClaimDeliveries", func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `SELECT tenant_id, id FROM webhook_deliveries
			WHERE status = 'pending' AND next_attempt_at <= ? AND claimed_until <= ?
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
			d, err := scanDeliveryWith(tx.QueryRowContext(ctx, `SELECT `+qualify("d.", deliveryCols)+`, w.url, w.secret_sealed
				FROM webhook_deliveries d JOIN webhooks w ON w.tenant_id = d.tenant_id AND w.id = d.webhook_id
				WHERE d.tenant_id = ? AND d.id = ?`, k.tenant, k.id), true)
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
	d, err := scanDeliveryWith(db.r.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE tenant_id = ? AND id = ?`, tid, id), false)
	if err != nil {
		return nil, driverErr("GetDelivery", notFound(err, "delivery "+id+" not found"))
	}
	return d, nil
}

// ListDeliveries lists deliveries newest first.
func (db *DB) ListDeliveries(ctx context.Context, f licensor.DeliveryFilter) ([]*licensor.Delivery, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	opts, err := page(f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + deliveryCols + ` FROM webhook_deliveries WHERE tenant_id = ?`
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
	var out []*licensor.Delivery
	for rows.Next() {
		d, err := scanDeliveryWith(rows, false)
		if err != nil {
			return nil, driverErr("ListDeliveries", err)
		}
		out = append(out, d)
	}
	return out, driverErr("ListDeliveries", rows.Err())
}

// Redeliver makes a delivery pending again, due at now.
func (db *DB) Redeliver(ctx context.Context, id string, now, giveUpAt time.Time) (*licensor.Delivery, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	var d *licensor.Delivery
	err = db.write(ctx, "Redeliver", func(tx *sql.Tx) error {
		var err error
		d, err = scanDeliveryWith(tx.QueryRowContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?,
			give_up_at = ?, claim = '', claimed_until = 0 WHERE tenant_id = ? AND id = ? RETURNING `+deliveryCols,
			micros(db.stamp(now)), micros(giveUpAt), tid, id), false)
		return notFound(err, "delivery "+id+" not found")
	})
	return d, err
}

func scanDeliveryWith(s scanner, target bool) (*licensor.Delivery, error) {
	var d licensor.Delivery
	var typ, status string
	var latency, next, giveUp, created, delivered int64
	dest := []any{&d.TenantID, &d.ID, &d.WebhookID, &d.EventID, &typ, &status, &d.Body, &d.Attempts, &d.LastStatus,
		&latency, &d.LastError, &next, &giveUp, &created, &delivered}
	if target {
		dest = append(dest, &d.URL, &d.SecretSealed)
	}
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	d.EventType, d.Status, d.LastLatency = licensor.AlertType(typ), licensor.DeliveryStatus(status), time.Duration(latency)
	d.NextAttemptAt, d.GiveUpAt, d.CreatedAt, d.DeliveredAt = fromMicros(next), fromMicros(giveUp), fromMicros(created), fromMicros(delivered)
	return &d, nil
}
