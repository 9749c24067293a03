package store

import (
	"context"
	"fmt"
	"time"

	"github.com/licensor/licensor"
)

// NewWebhook readies w in the scoped tenant, which it returns.
func NewWebhook(ctx context.Context, w *licensor.Webhook, now func() time.Time) (string, error) {
	return scoped(ctx, &w.TenantID, &w.ID, licensor.PrefixWebhook, &w.CreatedAt, now)
}

// WebhookConstraints says what a failed constraint of w's INSERT means.
func WebhookConstraints(w *licensor.Webhook) Messages {
	return Messages{
		PrimaryKey: fmt.Sprintf("webhook %s already exists", w.ID),
		ForeignKey: TenantNotFoundMessage(w.TenantID),
	}
}

// NewAlert readies a, a new episode, in the scoped tenant, which it returns:
// raised (at the store's clock if RaisedAt is zero), not cleared, and with
// an empty JSON object for no data.
func NewAlert(ctx context.Context, a *licensor.Alert, now func() time.Time) (string, error) {
	tid, err := scoped(ctx, &a.TenantID, &a.ID, licensor.PrefixEvent, &a.RaisedAt, now)
	if err != nil {
		return "", err
	}
	a.ClearedAt = time.Time{}
	if len(a.Data) == 0 {
		a.Data = []byte(`{}`)
	}
	return tid, nil
}

// AlertConstraints says what a failed constraint of a's INSERT means.
func AlertConstraints(a *licensor.Alert) Messages {
	return Messages{
		PrimaryKey: "alert " + a.ID + " already exists",
		ForeignKey: TenantNotFoundMessage(a.TenantID),
	}
}
