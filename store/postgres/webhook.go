package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// CreateWebhook stores w, refusing more than MaxWebhooks per tenant. The
// tenant row is locked first, so that two servers adding a tenant's last
// allowed webhook at once cannot both count the same total.
func (db *DB) CreateWebhook(ctx context.Context, w *licensor.Webhook) error {
	tid, err := store.NewWebhook(ctx, w, db.now)
	if err != nil {
		return err
	}
	return db.tx(ctx, "CreateWebhook", func(tx pgx.Tx) error {
		ok, err := exists(ctx, tx, `SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE`, tid)
		if err != nil {
			return err
		}
		if !ok {
			return store.TenantNotFound(tid)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO webhooks (`+store.WebhookInsertCols+`)
			SELECT $1, $2, $3, $4, $5, $6 WHERE (SELECT count(*) FROM webhooks WHERE tenant_id = $1) < $7`,
			tid, w.ID, w.URL, store.EventTypes(w.EventTypes), w.SecretSealed, micros(w.CreatedAt), licensor.MaxWebhooks)
		if err != nil {
			return translateErr(err, store.WebhookConstraints(w))
		}
		if tag.RowsAffected() == 0 {
			return licensor.Errorf(licensor.EEXHAUSTED, "tenant has %d webhooks, the limit; delete one first", licensor.MaxWebhooks)
		}
		return nil
	})
}

// GetWebhook returns one webhook. ENOTFOUND.
func (db *DB) GetWebhook(ctx context.Context, id string) (*licensor.Webhook, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	w, err := store.ScanWebhook(db.pool.QueryRow(ctx, `SELECT `+store.WebhookCols+` FROM webhooks WHERE tenant_id = $1 AND id = $2`, tid, id))
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
	ws, err := listWebhooks(ctx, db.pool, tid)
	return ws, driverErr("ListWebhooks", err)
}

func listWebhooks(ctx context.Context, q querier, tid string) ([]*licensor.Webhook, error) {
	rows, err := q.Query(ctx, `SELECT `+store.WebhookCols+` FROM webhooks WHERE tenant_id = $1 ORDER BY id`, tid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return store.All(rows, store.ScanWebhook)
}

// DeleteWebhook deletes a webhook; its deliveries go with it (cascade).
// ENOTFOUND.
func (db *DB) DeleteWebhook(ctx context.Context, id string) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2`, tid, id)
	if err != nil {
		return driverErr("DeleteWebhook", err)
	}
	if tag.RowsAffected() == 0 {
		return licensor.Errorf(licensor.ENOTFOUND, "webhook %s not found", id)
	}
	return nil
}

// SetWebhookDisabled disables (at non-zero) or enables (at zero) a webhook
// and holds back or releases its pending deliveries in the same
// transaction. ENOTFOUND.
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
	err = db.tx(ctx, "SetWebhookDisabled", func(tx pgx.Tx) error {
		var err error
		w, err = store.ScanWebhook(tx.QueryRow(ctx, `UPDATE webhooks
			SET disabled_at = CASE WHEN $1::bigint IS NULL THEN NULL ELSE COALESCE(disabled_at, $1::bigint) END
			WHERE tenant_id = $2 AND id = $3 RETURNING `+store.WebhookCols, disabledAt, tid, id))
		if err != nil {
			return notFound(err, "webhook "+id+" not found")
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET held = $1
			WHERE tenant_id = $2 AND webhook_id = $3 AND status = 'pending' AND held <> $1`, w.Disabled(), tid, id)
		return err
	})
	return w, err
}

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
		ORDER BY d.next_attempt_at, d.id`, micros(now), limit, claimID, micros(until))
	if err != nil {
		return nil, driverErr("ClaimDeliveries", err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanClaimedDelivery)
	return out, driverErr("ClaimDeliveries", err)
}

// CompleteDelivery records an attempt while the claim holds. ECONFLICT if
// it does not (another worker took the delivery over); ENOTFOUND.
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
	tag, err := db.pool.Exec(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $1,
		last_latency_ns = $2, last_error = $3, status = $4,
		next_attempt_at = CASE WHEN $5::bigint = 0 THEN next_attempt_at ELSE $5::bigint END,
		delivered_at = CASE WHEN $6::bigint = 0 THEN delivered_at ELSE $6::bigint END, claim = '', claimed_until = 0
		WHERE tenant_id = $7 AND id = $8 AND claim = $9 AND claim <> ''`,
		int32(a.StatusCode), int64(a.Latency), a.Error, string(a.Status), next, delivered, tid, a.DeliveryID, a.Claim)
	if err != nil {
		return driverErr("CompleteDelivery", err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	ok, err := exists(ctx, db.pool, `SELECT 1 FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2`, tid, a.DeliveryID)
	if err != nil {
		return driverErr("CompleteDelivery", err)
	}
	if !ok {
		return licensor.Errorf(licensor.ENOTFOUND, "delivery %s not found", a.DeliveryID)
	}
	return licensor.Errorf(licensor.ECONFLICT, "delivery %s is no longer claimed by %s", a.DeliveryID, a.Claim)
}

// GetDelivery returns one delivery. ENOTFOUND.
func (db *DB) GetDelivery(ctx context.Context, id string) (*licensor.Delivery, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := store.ScanDelivery(db.pool.QueryRow(ctx, `SELECT `+store.DeliveryCols+` FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2`, tid, id))
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
	q := `SELECT ` + store.DeliveryCols + ` FROM webhook_deliveries WHERE tenant_id = $1`
	args := []any{tid}
	if f.WebhookID != "" {
		args = append(args, f.WebhookID)
		q += fmt.Sprintf(` AND webhook_id = $%d`, len(args))
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		q += fmt.Sprintf(` AND status = $%d`, len(args))
	}
	if opts.After != "" {
		args = append(args, opts.After)
		q += fmt.Sprintf(` AND (created_at, id) < (SELECT created_at, id FROM webhook_deliveries WHERE tenant_id = $1 AND id = $%d)`, len(args))
	}
	args = append(args, opts.Limit)
	q += fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args))
	rows, err := db.pool.Query(ctx, q, args...)
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
// webhook is disabled). ENOTFOUND.
func (db *DB) Redeliver(ctx context.Context, id string, now, giveUpAt time.Time) (*licensor.Delivery, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := store.ScanDelivery(db.pool.QueryRow(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1,
		give_up_at = $2, claim = '', claimed_until = 0, held = `+heldByWebhook+` WHERE tenant_id = $3 AND id = $4 RETURNING `+store.DeliveryCols,
		micros(db.stamp(now)), micros(giveUpAt), tid, id))
	if err != nil {
		return nil, driverErr("Redeliver", notFound(err, "delivery "+id+" not found"))
	}
	return d, nil
}
