package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/licensor/licensor"
)

// newWebhookSecret returns a Standard Webhooks signing secret: whsec_ and
// the base64 of 32 random bytes.
func newWebhookSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("service: crypto/rand failed: " + err.Error())
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// webhookView is what the audit log records of a webhook: never its secret.
func webhookView(w *licensor.Webhook) map[string]any {
	return map[string]any{"id": w.ID, "url": w.URL, "event_types": w.EventTypes, "created_at": w.CreatedAt,
		"disabled": w.Disabled()}
}

// CreateWebhook registers an endpoint. The signing secret is returned once;
// it is stored sealed with the master key and never shown again.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN, EEXHAUSTED (too many webhooks).
func (s *Service) CreateWebhook(ctx context.Context, tenantID string, w licensor.Webhook) (*licensor.Webhook, string, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	if err := w.Validate(s.hooks); err != nil {
		return nil, "", err
	}
	w.ID = licensor.NewID(licensor.PrefixWebhook)
	w.TenantID, _ = licensor.TenantFrom(ctx)
	w.CreatedAt = s.now().UTC()
	secret := newWebhookSecret()
	if w.SecretSealed, err = s.sealer.SealSecret(w.ID, []byte(secret)); err != nil {
		return nil, "", licensor.Internal("seal webhook secret", err)
	}
	if err := s.store.CreateWebhook(ctx, &w); err != nil {
		return nil, "", err
	}
	s.audit(ctx, "webhook.create", "webhook", w.ID, nil, webhookView(&w))
	return &w, secret, nil
}

// ListWebhooks lists a tenant's webhooks.
func (s *Service) ListWebhooks(ctx context.Context, tenantID string) ([]*licensor.Webhook, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return s.store.ListWebhooks(ctx)
}

// DeleteWebhook deletes a webhook and its queued deliveries.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := licensor.ValidateID("webhook_id", id); err != nil {
		return err
	}
	before, err := s.store.GetWebhook(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteWebhook(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, "webhook.delete", "webhook", id, webhookView(before), nil)
	return nil
}

// UpdateWebhook disables (pauses) or enables (resumes) a webhook. While it
// is disabled its events are queued but not sent; once enabled they go out
// in their usual order with the usual retries. disabled is required (there
// is nothing else to change); setting the state a webhook already has
// changes nothing and is not audited. Enabling checks the URL against the
// webhook policy as registration does (the operator may have tightened it
// since): a destination that would be refused is not enabled.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) UpdateWebhook(ctx context.Context, tenantID, id string, disabled *bool) (*licensor.Webhook, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("webhook_id", id); err != nil {
		return nil, err
	}
	if disabled == nil {
		return nil, licensor.Errorf(licensor.EINVALID, "nothing to update: set disabled to true to pause the webhook or false to resume it")
	}
	before, err := s.store.GetWebhook(ctx, id)
	if err != nil {
		return nil, err
	}
	if before.Disabled() == *disabled {
		return before, nil
	}
	if !*disabled {
		if err := s.hooks.CheckURL(before.URL); err != nil {
			return nil, err
		}
	}
	var at time.Time
	if *disabled {
		at = s.now().UTC()
	}
	w, err := s.store.SetWebhookDisabled(ctx, id, at)
	if err != nil {
		return nil, err
	}
	action := "webhook.enable"
	if *disabled {
		action = "webhook.disable"
	}
	s.audit(ctx, action, "webhook", id, webhookView(before), webhookView(w))
	return w, nil
}

// ListDeliveries lists a tenant's deliveries, newest first.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) ListDeliveries(ctx context.Context, tenantID string, f licensor.DeliveryFilter) ([]*licensor.Delivery, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if f.WebhookID != "" {
		if err := licensor.ValidateID("webhook_id", f.WebhookID); err != nil {
			return nil, err
		}
	}
	switch f.Status {
	case "", licensor.DeliveryPending, licensor.DeliverySucceeded, licensor.DeliveryFailed:
	default:
		return nil, licensor.Errorf(licensor.EINVALID, "status %q: use pending, succeeded or failed", f.Status)
	}
	if f.ListOptions, err = f.Normalize(); err != nil {
		return nil, err
	}
	return s.store.ListDeliveries(ctx, f)
}

// Redeliver queues a delivery again at once, with a fresh retry window.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) Redeliver(ctx context.Context, tenantID, id string) (*licensor.Delivery, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("delivery_id", id); err != nil {
		return nil, err
	}
	before, err := s.store.GetDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	d, err := s.store.Redeliver(ctx, id, now, now.Add(licensor.DefaultDeliveryRetryFor))
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "delivery.redeliver", "delivery", id, deliveryView(before), deliveryView(d))
	return d, nil
}

func deliveryView(d *licensor.Delivery) map[string]any {
	return map[string]any{"id": d.ID, "webhook_id": d.WebhookID, "event_id": d.EventID, "status": d.Status,
		"attempts": d.Attempts, "next_attempt_at": d.NextAttemptAt, "give_up_at": d.GiveUpAt}
}

// ListAlerts lists a tenant's alert episodes, newest first; open ones only
// unless f.IncludeCleared. Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) ListAlerts(ctx context.Context, tenantID string, f licensor.AlertFilter) ([]*licensor.Alert, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if f.Type != "" && !licensor.ValidAlertType(string(f.Type)) {
		return nil, licensor.Errorf(licensor.EINVALID, "alert type %q is unknown", f.Type)
	}
	if f.ListOptions, err = f.Normalize(); err != nil {
		return nil, err
	}
	return s.store.ListAlerts(ctx, f)
}
