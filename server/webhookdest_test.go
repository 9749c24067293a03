package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/notify"
)

// Under the default policy a tenant admin cannot aim the server at its own
// network: CreateWebhook refuses loopback, private and metadata addresses
// in any spelling, localhost and plain http, saying why and which switch
// of the operator allows it; a name is accepted, and when it resolves to
// loopback the dispatcher refuses it without connecting, and the delivery
// records only "destination not allowed" (no address, no dial error).
func TestWebhookDestinationPolicy(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var accepted atomic.Int32
			firstAccepted := make(chan net.Conn, 1)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					if accepted.Add(1) == 1 {
						firstAccepted <- c
					} else {
						_ = c.Close()
					}
				}
			}()
			t.Cleanup(func() { _ = ln.Close() })
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			var asked atomic.Int32
			lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
				asked.Add(1)
				if host == "hooks.rebind.test" {
					return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
				}
				return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
			}
			s := testserver.Start(t, testserver.Options{
				Webhooks: &licensor.WebhookPolicy{},
				ConfigureDispatcher: func(c *notify.DispatcherConfig) {
					c.Egress = notify.NewEgress(notify.EgressConfig{Policy: c.Policy, LookupIP: lookup})
				},
			})
			f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 20 * 24 * time.Hour})
			adm := s.Admin(p, f.AdminToken)

			for _, tc := range []struct{ url, says string }{
				{"https://127.0.0.1:" + port + "/hook", "--webhook-allow-private"},
				{"https://2130706433/hook", "loopback"},
				{"https://0x7f.1/hook", "loopback"},
				{"https://127.1/hook", "loopback"},
				{"https://[::ffff:127.0.0.1]/hook", "loopback"},
				{"https://[::1]/hook", "loopback"},
				{"https://localhost/hook", "LICENSOR_WEBHOOK_ALLOW_PRIVATE"},
				{"https://metrics.localhost/hook", "loopback"},
				{"https://10.0.0.1/hook", "private"},
				{"https://169.254.169.254/latest/meta-data", "never receives webhooks"},
				{"https://100.64.0.1/hook", "CGNAT"},
				{"https://[fd00::1]/hook", "unique-local"},
				{"http://hooks.example.com/hook", "--webhook-allow-http"},
			} {
				_, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: tc.url}))
				if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tc.says) {
					t.Errorf("CreateWebhook %s: got %v, want invalid_argument saying %q", tc.url, err, tc.says)
				}
			}
			if ls, err := adm.ListWebhooks(ctx, connect.NewRequest(&v1.ListWebhooksRequest{})); err != nil || len(ls.Msg.Webhooks) != 0 {
				t.Fatalf("ListWebhooks after refused creates: got %v, %v; want none", ls, err)
			}

			cr, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: "https://hooks.rebind.test:" + port + "/hook"}))
			if err != nil {
				t.Fatalf("CreateWebhook of a name: got %v, want it accepted (names are checked when dialed)", err)
			}
			if n := asked.Load(); n != 0 {
				t.Fatalf("DNS questions at registration: got %d, want 0", n)
			}
			if err := s.Scanner.ScanOnce(ctx); err != nil { // the contract ends within 30 days
				t.Fatal(err)
			}
			if n, err := s.Dispatcher.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("RunOnce: got %d, %v; want 1 attempted", n, err)
			}
			if n := asked.Load(); n != 1 {
				t.Errorf("DNS questions at dial: got %d, want 1", n)
			}
			ds, err := adm.ListDeliveries(ctx, connect.NewRequest(&v1.ListDeliveriesRequest{WebhookId: cr.Msg.Webhook.Id}))
			if err != nil || len(ds.Msg.Deliveries) != 1 {
				t.Fatalf("ListDeliveries: got %v, %v; want one delivery", ds, err)
			}
			if d := ds.Msg.Deliveries[0]; d.LastError != notify.FailNotAllowed || d.LastStatusCode != 0 || d.Status != "pending" {
				t.Errorf("delivery: got status %s, last error %q, code %d; want pending, %q, 0", d.Status, d.LastError, d.LastStatusCode, notify.FailNotAllowed)
			}

			// Nothing connected: a sentinel connection is the first the
			// listener accepts (connections are accepted in the order made).
			sentinel, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer sentinel.Close()
			_, _ = sentinel.Write([]byte("S"))
			first := <-firstAccepted
			defer first.Close()
			b := make([]byte, 1)
			if _, err := io.ReadFull(first, b); err != nil || b[0] != 'S' {
				t.Fatalf("first connection to 127.0.0.1: sent %q (%v), want the sentinel: the refused destination was connected to", b, err)
			}

			// /metrics is never on the API port: scrape the handler the
			// metrics listener serves.
			rec := httptest.NewRecorder()
			s.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			if want := `licensor_webhook_destinations_refused_total{tenant="` + f.TenantID + `"} 1`; rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
				t.Errorf("/metrics: got %d, want 200 with %s", rec.Code, want)
			}

			// Pausing always works; resuming checks the URL again.
			if _, err := adm.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{WebhookId: cr.Msg.Webhook.Id, Disabled: proto.Bool(true)})); err != nil {
				t.Fatalf("UpdateWebhook disable: %v", err)
			}
			if _, err := adm.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{WebhookId: cr.Msg.Webhook.Id, Disabled: proto.Bool(false)})); err != nil {
				t.Fatalf("UpdateWebhook enable of an allowed URL: %v", err)
			}
		})
	}
}

// A webhook registered while the operator allowed private destinations and
// plain http is not sent to once the server runs with the strict policy:
// the dispatcher checks the URL as written before it dials anything, and
// the webhook cannot be enabled again, with the reason.
func TestWebhookPolicyTightenedAfterRegistration(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var hits atomic.Int32
	rcv := newPlainReceiver(t, &hits)
	open := testserver.Start(t, testserver.Options{Dir: dir})
	f := open.NewFixture(t, testserver.FixtureOptions{EndsIn: 20 * 24 * time.Hour})
	adm := open.Admin(testserver.Connect, f.AdminToken)
	cr, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: rcv}))
	if err != nil {
		t.Fatalf("CreateWebhook with private and http allowed: %v", err)
	}
	open.Close()

	strict := testserver.Start(t, testserver.Options{Dir: dir, Clock: open.Clock, Webhooks: &licensor.WebhookPolicy{}})
	adm = strict.Admin(testserver.Connect, f.AdminToken)
	if err := strict.Scanner.ScanOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := strict.Dispatcher.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce: got %d, %v; want 1 attempted", n, err)
	}
	ds, err := adm.ListDeliveries(ctx, connect.NewRequest(&v1.ListDeliveriesRequest{WebhookId: cr.Msg.Webhook.Id}))
	if err != nil || len(ds.Msg.Deliveries) != 1 || ds.Msg.Deliveries[0].LastError != notify.FailPolicy {
		t.Fatalf("ListDeliveries: got %v, %v; want one delivery whose last error is %q", ds, err, notify.FailPolicy)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("receiver: got %d requests, want 0", n)
	}
	id := cr.Msg.Webhook.Id
	if _, err := adm.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{WebhookId: id, Disabled: proto.Bool(true)})); err != nil {
		t.Fatalf("UpdateWebhook disable: got %v, want pausing to work whatever the policy", err)
	}
	_, err = adm.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{WebhookId: id, Disabled: proto.Bool(false)}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "--webhook-allow-private") {
		t.Fatalf("UpdateWebhook enable: got %v, want invalid_argument naming --webhook-allow-private", err)
	}
}

// newPlainReceiver is a plain-http receiver on 127.0.0.1 that counts the
// requests it gets; it returns its URL.
func newPlainReceiver(t *testing.T, hits *atomic.Int32) string {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/hook"
}
