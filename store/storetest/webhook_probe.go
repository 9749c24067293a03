package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// testWebhookEvent: QueueWebhookEvent queues one delivery to one webhook
// whatever its filter, held while it is disabled, claimable like any
// other; another tenant's webhook is not found.
func testWebhookEvent(t *testing.T, open opener) {
	s := open(t)
	ctx, _ := scope(t, s, "Acme")
	ctxB, _ := scope(t, s, "Other")
	w := newWebhook(t, s, ctx)
	other := newWebhook(t, s, ctx)

	d, err := s.QueueWebhookEvent(ctx, w.ID, "evt_test1", licensor.EventWebhookTest, []byte(`{"type":"webhook.test"}`), t0, at(time.Hour))
	must(t, "QueueWebhookEvent", err)
	eq(t, "WebhookID", d.WebhookID, w.ID)
	eq(t, "EventType", d.EventType, licensor.EventWebhookTest)
	eq(t, "Status", d.Status, licensor.DeliveryPending)
	ds, err := s.ListDeliveries(ctx, licensor.DeliveryFilter{WebhookID: other.ID})
	must(t, "ListDeliveries of the other webhook", err)
	eq(t, "deliveries to the other webhook", len(ds), 0)

	claimed, err := s.ClaimDeliveries(context.Background(), "c1", at(time.Second), at(time.Minute), 10)
	must(t, "ClaimDeliveries", err)
	eq(t, "claimed", len(claimed), 1)
	eq(t, "claimed event", claimed[0].EventID, "evt_test1")
	eq(t, "claimed URL", claimed[0].URL, w.URL)

	_, err = s.SetWebhookDisabled(ctx, other.ID, at(2*time.Second))
	must(t, "SetWebhookDisabled", err)
	_, err = s.QueueWebhookEvent(ctx, other.ID, "evt_test2", licensor.EventWebhookTest, []byte(`{}`), at(3*time.Second), at(time.Hour))
	must(t, "QueueWebhookEvent to a disabled webhook", err)
	claimed, err = s.ClaimDeliveries(context.Background(), "c2", at(2*time.Minute), at(3*time.Minute), 10)
	must(t, "ClaimDeliveries while disabled", err)
	for _, d := range claimed { // evt_test1 again: its claim expired
		if d.EventID == "evt_test2" {
			t.Errorf("ClaimDeliveries: claimed %s of a disabled webhook", d.EventID)
		}
	}
	held, err := s.ListDeliveries(ctx, licensor.DeliveryFilter{WebhookID: other.ID})
	must(t, "ListDeliveries of the disabled webhook", err)
	eq(t, "deliveries held for the disabled webhook", len(held), 1)

	_, err = s.QueueWebhookEvent(ctxB, w.ID, "evt_test3", licensor.EventWebhookTest, []byte(`{}`), t0, at(time.Hour))
	wantCode(t, "QueueWebhookEvent to another tenant's webhook", err, licensor.ENOTFOUND)
	_, err = s.QueueWebhookEvent(ctx, licensor.NewID(licensor.PrefixWebhook), "evt_test4", licensor.EventWebhookTest, []byte(`{}`), t0, at(time.Hour))
	wantCode(t, "QueueWebhookEvent to an unknown webhook", err, licensor.ENOTFOUND)
}
