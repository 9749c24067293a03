package notify_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// An instance that refreshes after its license.expiring alert was raised
// clears the episode, and that sends exactly one license.expiring.cleared
// event, signed, with its own id and the alert's id in its data, to the
// webhooks whose filter takes it, and to no other.
func TestRefreshAfterExpiringSendsOneClearedEvent(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t) // workers driven by hand: ScanOnce, RunOnce and the fake clock
			f := s.NewFixture(t, testserver.FixtureOptions{})
			adm := s.Admin(p, f.AdminToken)
			both := newReceiver(t)
			raisesOnly := newReceiver(t)
			bothHook, secret := createWebhook(t, adm, both.URL, "license.expiring", "license.expiring.cleared")
			raisesHook, _ := createWebhook(t, adm, raisesOnly.URL, "license.expiring")
			lic := s.License(p, f.ContractToken)
			getLicense := func() {
				t.Helper()
				if _, err := lic.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "node-1"})); err != nil {
					t.Fatalf("GetLicense: %v", err)
				}
			}
			scanAndDispatch := func(wantAttempts int) {
				t.Helper()
				if err := s.Scanner.ScanOnce(ctx); err != nil {
					t.Fatal(err)
				}
				if n, err := s.Dispatcher.RunOnce(ctx); err != nil || n != wantAttempts {
					t.Fatalf("RunOnce: got %d attempts, %v; want %d", n, err, wantAttempts)
				}
			}

			getLicense()
			s.Clock.Advance(7*24*time.Hour + time.Minute) // 14-day license, 7-day warning
			scanAndDispatch(2)                            // the raise, to both webhooks
			raised := both.next(t)
			raisesOnly.next(t)
			alertID := raised.header.Get("webhook-id")

			s.Clock.Advance(time.Hour)
			getLicense() // the instance refreshes: its license is 14 days out again
			scanAndDispatch(1)
			for range 3 { // further scans clear nothing more and send nothing
				scanAndDispatch(0)
			}

			m := both.next(t)
			verifyAsReceiver(t, secret, m, s.Clock.Now())
			if id := m.header.Get("webhook-id"); id == "" || id == alertID {
				t.Errorf("webhook-id: got %q, want a new event id, not the raise's %s", id, alertID)
			}
			var body struct {
				Type      string         `json:"type"`
				Timestamp time.Time      `json:"timestamp"`
				Data      map[string]any `json:"data"`
			}
			if err := json.Unmarshal(m.body, &body); err != nil {
				t.Fatalf("body %s: %v", m.body, err)
			}
			if body.Type != "license.expiring.cleared" {
				t.Errorf("type: got %q, want license.expiring.cleared", body.Type)
			}
			if !body.Timestamp.Equal(s.Clock.Now()) {
				t.Errorf("timestamp: got %v, want %v", body.Timestamp, s.Clock.Now())
			}
			for k, want := range map[string]any{"alert_id": alertID, "contract_id": f.ContractID, "instance_id": "node-1",
				"object_id": f.ContractID + "/node-1", "tenant_id": f.TenantID, "cleared_at": s.Clock.Now().UTC().Format(time.RFC3339Nano)} {
				if got := body.Data[k]; got != want {
					t.Errorf("data.%s: got %v, want %v", k, got, want)
				}
			}
			select {
			case extra := <-both.got:
				t.Errorf("got another request %s, want one cleared event", extra.body)
			case extra := <-raisesOnly.got:
				t.Errorf("webhook for raises only got %s, want nothing after the raise", extra.body)
			default:
			}

			res, err := adm.ListDeliveries(ctx, connect.NewRequest(&v1.ListDeliveriesRequest{WebhookId: bothHook.Id}))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Msg.Deliveries) != 2 {
				t.Fatalf("deliveries of the webhook taking both: got %d, want 2 (raised, cleared)", len(res.Msg.Deliveries))
			}
			d := res.Msg.Deliveries[0] // newest first
			if d.EventType != "license.expiring.cleared" || d.Status != "succeeded" || d.EventId != m.header.Get("webhook-id") {
				t.Errorf("cleared delivery: got %s %s event %s, want license.expiring.cleared succeeded event %s",
					d.EventType, d.Status, d.EventId, m.header.Get("webhook-id"))
			}
			if d := deliveryOf(t, adm, raisesHook.Id); d.EventType != "license.expiring" {
				t.Errorf("delivery of the webhook for raises: got %s, want license.expiring only", d.EventType)
			}
			alerts, err := adm.ListAlerts(ctx, connect.NewRequest(&v1.ListAlertsRequest{IncludeCleared: true}))
			if err != nil {
				t.Fatal(err)
			}
			var expiring []*v1.Alert // instance.silent was raised and cleared too; its webhooks are none
			for _, a := range alerts.Msg.Alerts {
				if a.Type == "license.expiring" {
					expiring = append(expiring, a)
				}
			}
			if len(expiring) != 1 || expiring[0].Id != alertID || expiring[0].ClearedAt == nil {
				t.Errorf("license.expiring alerts: got %v, want the one episode %s, cleared", expiring, alertID)
			}
		})
	}
}

// A webhook's filter accepts the cleared types and refuses unknown ones.
func TestWebhookClearedEventTypeFilter(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	adm := s.Admin(testserver.Connect, f.AdminToken)
	for _, c := range []struct {
		name  string
		types []string
		want  connect.Code
	}{
		{"EveryCleared", []string{"license.expiring.cleared", "contract.ending.cleared", "instance.silent.cleared", "pool.exhausted.cleared"}, 0},
		{"UnknownCleared", []string{"license.stolen.cleared"}, connect.CodeInvalidArgument},
		{"ClearedTwice", []string{"license.expiring.cleared.cleared"}, connect.CodeInvalidArgument},
		{"BareSuffix", []string{".cleared"}, connect.CodeInvalidArgument},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, err := adm.ListWebhooks(context.Background(), connect.NewRequest(&v1.ListWebhooksRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			_, err = adm.CreateWebhook(context.Background(), connect.NewRequest(&v1.CreateWebhookRequest{Url: "https://hooks.example.com/x", EventTypes: c.types}))
			if got := connect.CodeOf(err); err != nil && got != c.want || err == nil && c.want != 0 {
				t.Fatalf("CreateWebhook %v: got %v, want code %v", c.types, err, c.want)
			}
			after, err := adm.ListWebhooks(context.Background(), connect.NewRequest(&v1.ListWebhooksRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			want := len(before.Msg.Webhooks)
			if c.want == 0 {
				want++
			}
			if len(after.Msg.Webhooks) != want {
				t.Errorf("webhooks: got %d, want %d", len(after.Msg.Webhooks), want)
			}
		})
	}
}
