package store

import (
	"strings"
	"time"

	"github.com/licensor/licensor"
)

// AlertCols are the columns ScanAlert reads.
const AlertCols = `tenant_id, id, type, object_id, level, raised_at, cleared_at, data_json`

// ScanAlert decodes a row of AlertCols.
func ScanAlert(s Scanner) (*licensor.Alert, error) {
	var a licensor.Alert
	var typ string
	var raised, cleared int64
	var data []byte
	if err := s.Scan(&a.TenantID, &a.ID, &typ, &a.ObjectID, &a.Level, &raised, &cleared, &data); err != nil {
		return nil, err
	}
	a.Type, a.RaisedAt, a.ClearedAt, a.Data = licensor.AlertType(typ), FromMicros(raised), FromMicros(cleared), data
	return &a, nil
}

// WebhookInsertCols are the columns a new webhook is inserted with.
const WebhookInsertCols = `tenant_id, id, url, event_types, secret_sealed, created_at`

// WebhookCols are the columns ScanWebhook reads: disabled_at is NULL
// while the webhook is enabled.
const WebhookCols = WebhookInsertCols + `, disabled_at`

// ScanWebhook decodes a row of WebhookCols.
func ScanWebhook(s Scanner) (*licensor.Webhook, error) {
	var w licensor.Webhook
	var types string
	var created int64
	var disabled *int64
	if err := s.Scan(&w.TenantID, &w.ID, &w.URL, &types, &w.SecretSealed, &created, &disabled); err != nil {
		return nil, err
	}
	for _, t := range strings.Fields(types) {
		w.EventTypes = append(w.EventTypes, licensor.AlertType(t))
	}
	w.CreatedAt = FromMicros(created)
	if disabled != nil {
		w.DisabledAt = FromMicros(*disabled)
	}
	return &w, nil
}

// DeliveryCols are the columns ScanDelivery reads.
const DeliveryCols = `tenant_id, id, webhook_id, event_id, event_type, status, body, attempts, last_status,
	last_latency_ns, last_error, next_attempt_at, give_up_at, created_at, delivered_at`

// ScanDelivery decodes a row of DeliveryCols.
func ScanDelivery(s Scanner) (*licensor.Delivery, error) { return scanDelivery(s, false) }

// ScanClaimedDelivery decodes a row of DeliveryCols followed by its
// webhook's url and secret_sealed: a delivery as a worker claims it.
func ScanClaimedDelivery(s Scanner) (*licensor.Delivery, error) { return scanDelivery(s, true) }

func scanDelivery(s Scanner, target bool) (*licensor.Delivery, error) {
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
	d.NextAttemptAt, d.GiveUpAt, d.CreatedAt, d.DeliveredAt = FromMicros(next), FromMicros(giveUp), FromMicros(created), FromMicros(delivered)
	return &d, nil
}
