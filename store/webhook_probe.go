package store

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// QueueWebhookEvent queues event eventID of type typ, with payload body,
// due at now and retried until giveUpAt, to the one webhook id whatever its
// filter (held back while the webhook is disabled, as every delivery is),
// and returns the delivery. ENOTFOUND.
func (db *DB) QueueWebhookEvent(ctx context.Context, webhookID, eventID string, typ licensor.AlertType, body []byte, now, giveUpAt time.Time) (*licensor.Delivery, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	now = db.stamp(now)
	var d *licensor.Delivery
	err = db.write(ctx, "QueueWebhookEvent", func(tx Conn) error {
		var disabled bool
		err := tx.QueryRow(ctx, `SELECT disabled_at IS NOT NULL FROM webhooks WHERE tenant_id = ? AND id = ?`, tid, webhookID).Scan(&disabled)
		if err != nil {
			return NotFound(err, "webhook "+webhookID+" not found")
		}
		// A delete of the webhook after the read fails the INSERT's
		// foreign key: no delivery outlives its webhook.
		d, err = ScanDelivery(tx.QueryRow(ctx, `INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type,
			status, body, next_attempt_at, give_up_at, created_at, held) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)
			RETURNING `+DeliveryCols,
			tid, licensor.NewID(licensor.PrefixDelivery), webhookID, eventID, string(typ), body, Micros(now), Micros(giveUpAt), Micros(now), disabled))
		return db.translate(err, Messages{ForeignKey: "webhook " + webhookID + " not found"})
	})
	return d, err
}
