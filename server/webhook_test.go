package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// A disabled webhook keeps queueing its events; they are sent only once it
// is enabled again. The dispatcher is driven by hand (RunOnce waits for its
// attempts), so nothing is in flight when the receiver is checked.
func TestUpdateWebhookPausesDeliveries(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 20 * 24 * time.Hour})
			adm := s.Admin(p, f.AdminToken)
			got := make(chan string, 10) // webhook-id of each request
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				got <- r.Header.Get("webhook-id")
			}))
			t.Cleanup(rcv.Close)
			cr, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: rcv.URL, EventTypes: []string{"contract.ending"}}))
			if err != nil {
				t.Fatalf("CreateWebhook: %v", err)
			}
			hook := cr.Msg.Webhook
			if hook.Disabled {
				t.Fatal("new webhook: got disabled, want enabled")
			}
			update := func(disabled bool) *v1.Webhook {
				t.Helper()
				res, err := adm.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{WebhookId: hook.Id, Disabled: proto.Bool(disabled)}))
				if err != nil {
					t.Fatalf("UpdateWebhook disabled=%v: %v", disabled, err)
				}
				if res.Msg.Webhook.Disabled != disabled || res.Msg.Webhook.Id != hook.Id {
					t.Fatalf("UpdateWebhook disabled=%v: got %v of %s, want %v of %s", disabled, res.Msg.Webhook.Disabled, res.Msg.Webhook.Id, disabled, hook.Id)
				}
				return res.Msg.Webhook
			}
			runOnce := func(want int) {
				t.Helper()
				if n, err := s.Dispatcher.RunOnce(ctx); err != nil || n != want {
					t.Fatalf("RunOnce: got %d, %v; want %d attempted", n, err, want)
				}
			}

			update(true)
			update(true) // idempotent
			ls, err := adm.ListWebhooks(ctx, connect.NewRequest(&v1.ListWebhooksRequest{}))
			if err != nil || len(ls.Msg.Webhooks) != 1 || !ls.Msg.Webhooks[0].Disabled {
				t.Fatalf("ListWebhooks: got %v, %v; want the one webhook, disabled", ls, err)
			}

			if err := s.Scanner.ScanOnce(ctx); err != nil { // the contract ends within 30 days
				t.Fatal(err)
			}
			ds, err := adm.ListDeliveries(ctx, connect.NewRequest(&v1.ListDeliveriesRequest{WebhookId: hook.Id}))
			if err != nil || len(ds.Msg.Deliveries) != 1 || ds.Msg.Deliveries[0].Status != "pending" {
				t.Fatalf("ListDeliveries while disabled: got %v, %v; want one pending delivery", ds, err)
			}
			eventID := ds.Msg.Deliveries[0].EventId
			runOnce(0)
			s.Clock.Advance(time.Hour)
			runOnce(0)
			select {
			case id := <-got:
				t.Fatalf("while disabled: the endpoint got event %s, want nothing", id)
			default:
			}

			update(false)
			update(false) // idempotent
			runOnce(1)
			if id := <-got; id != eventID {
				t.Errorf("after enabling: webhook-id got %s, want %s", id, eventID)
			}
			ds, err = adm.ListDeliveries(ctx, connect.NewRequest(&v1.ListDeliveriesRequest{WebhookId: hook.Id}))
			if err != nil || len(ds.Msg.Deliveries) != 1 || ds.Msg.Deliveries[0].Status != "succeeded" {
				t.Fatalf("ListDeliveries after enabling: got %v, %v; want one succeeded delivery", ds, err)
			}
		})
	}
}

func TestUpdateWebhookBadInput(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{})
			adm := s.Admin(p, f.AdminToken)
			cr, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: "https://hooks.example.com/x"}))
			if err != nil {
				t.Fatalf("CreateWebhook: %v", err)
			}
			for _, tc := range []struct {
				name    string
				req     *v1.UpdateWebhookRequest
				code    connect.Code
				message string
			}{
				{"MissingWebhookID", &v1.UpdateWebhookRequest{Disabled: proto.Bool(true)}, connect.CodeInvalidArgument, "webhook_id"},
				{"MissingDisabled", &v1.UpdateWebhookRequest{WebhookId: cr.Msg.Webhook.Id}, connect.CodeInvalidArgument, "disabled"},
				{"UnknownWebhook", &v1.UpdateWebhookRequest{WebhookId: "whk_missing", Disabled: proto.Bool(true)}, connect.CodeNotFound, "not found"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := adm.UpdateWebhook(ctx, connect.NewRequest(tc.req))
					if connect.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.message) {
						t.Fatalf("got %v, want %v mentioning %q", err, tc.code, tc.message)
					}
				})
			}
		})
	}
}
