package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/notify"
)

// SendWebhookTestEvent reaches a webhook whose filter takes no such event,
// signed like any event, and shows among its deliveries; it is audited,
// and another tenant cannot aim it at someone else's webhook.
func TestSendWebhookTestEvent(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{})
			other := s.NewFixture(t, testserver.FixtureOptions{})
			adm := s.Admin(p, f.AdminToken)
			type received struct {
				h    http.Header
				body []byte
			}
			got := make(chan received, 10)
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- received{r.Header.Clone(), b}
			}))
			t.Cleanup(rcv.Close)
			cr, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: rcv.URL, EventTypes: []string{"contract.ending"}}))
			if err != nil {
				t.Fatalf("CreateWebhook: %v", err)
			}
			hook := cr.Msg.Webhook

			_, err = s.Admin(p, other.AdminToken).SendWebhookTestEvent(ctx, connect.NewRequest(&v1.SendWebhookTestEventRequest{WebhookId: hook.Id}))
			if connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("SendWebhookTestEvent to another tenant's webhook: got %v, want NOT_FOUND", err)
			}
			_, err = adm.SendWebhookTestEvent(ctx, connect.NewRequest(&v1.SendWebhookTestEventRequest{}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Fatalf("SendWebhookTestEvent without an id: got %v, want INVALID_ARGUMENT", err)
			}

			s.Clock.Advance(time.Second) // the audit log lists newest first
			res, err := adm.SendWebhookTestEvent(ctx, connect.NewRequest(&v1.SendWebhookTestEventRequest{WebhookId: hook.Id}))
			if err != nil {
				t.Fatalf("SendWebhookTestEvent: %v", err)
			}
			d := res.Msg.Delivery
			if d.WebhookId != hook.Id || d.EventType != "webhook.test" || d.Status != "pending" {
				t.Fatalf("SendWebhookTestEvent: got %v, want a pending webhook.test delivery to %s", d, hook.Id)
			}
			if n, err := s.Dispatcher.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("RunOnce: got %d, %v; want 1 attempted", n, err)
			}
			r := <-got
			if id := r.h.Get("webhook-id"); id != d.EventId {
				t.Errorf("webhook-id: got %s, want %s", id, d.EventId)
			}
			if err := notify.Verify(cr.Msg.Secret, r.h, r.body, s.Clock.Now(), 5*time.Minute); err != nil {
				t.Errorf("signature: %v", err)
			}
			var payload struct {
				Type string            `json:"type"`
				Data map[string]string `json:"data"`
			}
			if err := json.Unmarshal(r.body, &payload); err != nil || payload.Type != "webhook.test" || payload.Data["webhook_id"] != hook.Id {
				t.Errorf("body: got %s, %v; want a webhook.test event naming %s", r.body, err, hook.Id)
			}
			ds, err := adm.ListDeliveries(ctx, connect.NewRequest(&v1.ListDeliveriesRequest{WebhookId: hook.Id}))
			if err != nil || len(ds.Msg.Deliveries) != 1 || ds.Msg.Deliveries[0].Status != "succeeded" || ds.Msg.Deliveries[0].Id != d.Id {
				t.Fatalf("ListDeliveries: got %v, %v; want %s succeeded", ds, err, d.Id)
			}
			au, err := adm.ListAuditEntries(ctx, connect.NewRequest(&v1.ListAuditEntriesRequest{ObjectType: "webhook", ObjectId: hook.Id}))
			if err != nil || len(au.Msg.Entries) == 0 || au.Msg.Entries[0].Action != "webhook.test" {
				t.Fatalf("audit: got %v, %v; want webhook.test first", au, err)
			}
		})
	}
}
