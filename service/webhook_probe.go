package service

import (
	"context"
	"encoding/json"
	"time"

	"github.com/licensor/licensor"
)

// testEventPayload is the body of a webhook.test event, shaped like every
// other event's (type, timestamp, data), so that a receiver's parsing and
// signature check are what the test exercises.
type testEventPayload struct {
	Type      licensor.AlertType `json:"type"`
	Timestamp time.Time          `json:"timestamp"`
	Data      map[string]string  `json:"data"`
}

// SendWebhookTestEvent queues a webhook.test event to one webhook, whatever
// its filter, through the dispatcher's usual path: signed, retried, and
// listed among the webhook's deliveries (held while it is disabled). It
// returns the delivery. Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) SendWebhookTestEvent(ctx context.Context, tenantID, webhookID string) (*licensor.Delivery, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("webhook_id", webhookID); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	eventID := licensor.NewID(licensor.PrefixEvent)
	tid, _ := licensor.TenantFrom(ctx)
	body, err := json.Marshal(testEventPayload{Type: licensor.EventWebhookTest, Timestamp: now, Data: map[string]string{
		"event_id": eventID, "tenant_id": tid, "webhook_id": webhookID,
		"message": "A test event sent from Licensor; no alert is behind it.",
	}})
	if err != nil {
		return nil, licensor.Internal("SendWebhookTestEvent", err)
	}
	d, err := s.store.QueueWebhookEvent(ctx, webhookID, eventID, licensor.EventWebhookTest, body, now, now.Add(licensor.DefaultDeliveryRetryFor))
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "webhook.test", "webhook", webhookID, nil, deliveryView(d))
	if s.queued != nil {
		s.queued()
	}
	return d, nil
}
