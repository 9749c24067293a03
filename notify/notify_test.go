package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testlog"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/notify"
)

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint on 127.0.0.1 that answers with the
// status codes of fail first (one per request), then 200.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	fail []int
	got  chan received
}

func newReceiver(t *testing.T, fail ...int) *receiver {
	r := &receiver{fail: fail, got: make(chan received, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.got <- received{req.Header.Clone(), b}
		r.mu.Lock()
		code := http.StatusOK
		if len(r.fail) > 0 {
			code, r.fail = r.fail[0], r.fail[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case m := <-r.got:
		return m
	case <-time.After(15 * time.Second):
		t.Fatal("no webhook request within 15s")
		return received{}
	}
}

// verifyAsReceiver checks a request the way a vendor's endpoint does,
// recomputing the HMAC from the headers with nothing but the secret.
func verifyAsReceiver(t *testing.T, secret string, m received, now time.Time) {
	t.Helper()
	id, ts, sig := m.header.Get("webhook-id"), m.header.Get("webhook-timestamp"), m.header.Get("webhook-signature")
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q: not whsec_ + base64", secret)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(m.body)
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); sig != want {
		t.Fatalf("webhook-signature: got %q, want %q", sig, want)
	}
	if err := notify.Verify(secret, m.header, m.body, now, 5*time.Minute); err != nil {
		t.Fatalf("notify.Verify: %v", err)
	}
}

func createWebhook(t *testing.T, adm interface {
	CreateWebhook(context.Context, *connect.Request[v1.CreateWebhookRequest]) (*connect.Response[v1.CreateWebhookResponse], error)
}, url string, types ...string) (*v1.Webhook, string) {
	t.Helper()
	res, err := adm.CreateWebhook(context.Background(), connect.NewRequest(&v1.CreateWebhookRequest{Url: url, EventTypes: types}))
	if err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	return res.Msg.Webhook, res.Msg.Secret
}

// An instance that stops refreshing raises exactly one license.expiring
// event when its license has 7 days left, and exactly one signed delivery.
func TestExpiringSoonRaisesOneSignedDelivery(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t, testserver.Options{Notify: true})
			f := s.NewFixture(t, testserver.FixtureOptions{})
			adm := s.Admin(p, f.AdminToken)
			rcv := newReceiver(t)
			hook, secret := createWebhook(t, adm, rcv.URL+"/hooks/licensor", "license.expiring")
			lic := s.License(p, f.ContractToken)
			if _, err := lic.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "node-1"})); err != nil {
				t.Fatalf("GetLicense: %v", err)
			}
			expiring := func() []*v1.Alert {
				t.Helper()
				res, err := adm.ListAlerts(ctx, connect.NewRequest(&v1.ListAlertsRequest{IncludeCleared: true}))
				if err != nil {
					t.Fatalf("ListAlerts: %v", err)
				}
				var out []*v1.Alert
				for _, a := range res.Msg.Alerts {
					if a.Type == "license.expiring" {
						out = append(out, a)
					}
				}
				return out
			}
			// The license is valid 14 days; the tenant warns 7 days ahead.
			s.Clock.Advance(7*24*time.Hour - time.Minute)
			if err := s.Scanner.ScanOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if got := expiring(); len(got) != 0 {
				t.Fatalf("a minute before the 7-day mark: got %d license.expiring alerts, want 0", len(got))
			}
			s.Clock.Advance(2 * time.Minute)
			for range 3 { // scans after the first raise nothing new
				if err := s.Scanner.ScanOnce(ctx); err != nil {
					t.Fatal(err)
				}
			}
			got := expiring()
			if len(got) != 1 {
				t.Fatalf("after the 7-day mark: got %d license.expiring alerts, want 1", len(got))
			}
			alert := got[0]
			if want := f.ContractID + "/node-1"; alert.ObjectId != want {
				t.Errorf("alert object: got %s, want %s", alert.ObjectId, want)
			}

			m := rcv.next(t)
			verifyAsReceiver(t, secret, m, s.Clock.Now())
			if id := m.header.Get("webhook-id"); id != alert.Id {
				t.Errorf("webhook-id: got %s, want the alert's id %s", id, alert.Id)
			}
			var body struct {
				Type string         `json:"type"`
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal(m.body, &body); err != nil {
				t.Fatalf("body %s: %v", m.body, err)
			}
			if body.Type != "license.expiring" || body.Data["instance_id"] != "node-1" || body.Data["contract_id"] != f.ContractID {
				t.Errorf("body: got %s, want a license.expiring event for node-1", m.body)
			}

			// More scans and dispatcher rounds send nothing more.
			for range 3 {
				if err := s.Scanner.ScanOnce(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Dispatcher.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
			}
			// The background worker records the attempt right after the
			// receiver answered: wait for it.
			d := waitDelivery(t, adm, hook.Id, "succeeded")
			if d.Attempts != 1 || d.LastStatusCode != 200 || d.EventId != alert.Id {
				t.Errorf("delivery: got %d attempts, code %d, event %s; want 1, 200, %s", d.Attempts, d.LastStatusCode, d.EventId, alert.Id)
			}
			select {
			case extra := <-rcv.got:
				t.Fatalf("got a second webhook request %s, want exactly one", extra.body)
			default:
			}

			// The instance refreshes: the episode is cleared.
			if _, err := lic.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "node-1"})); err != nil {
				t.Fatalf("GetLicense: %v", err)
			}
			if err := s.Scanner.ScanOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if got := expiring(); len(got) != 1 || got[0].ClearedAt == nil {
				t.Fatalf("after a refresh: got %v, want the one alert, cleared", got)
			}
		})
	}
}

// deliveryOf returns the only delivery of a webhook.
func deliveryOf(t *testing.T, adm interface {
	ListDeliveries(context.Context, *connect.Request[v1.ListDeliveriesRequest]) (*connect.Response[v1.ListDeliveriesResponse], error)
}, webhookID string) *v1.Delivery {
	t.Helper()
	res, err := adm.ListDeliveries(context.Background(), connect.NewRequest(&v1.ListDeliveriesRequest{WebhookId: webhookID}))
	if err != nil {
		t.Fatalf("ListDeliveries: %v", err)
	}
	if len(res.Msg.Deliveries) != 1 {
		t.Fatalf("deliveries: got %d, want 1", len(res.Msg.Deliveries))
	}
	return res.Msg.Deliveries[0]
}

// waitDelivery waits (up to 15s) until the only delivery of a webhook has
// status, polling the API: the worker writes it right after the receiver
// answered, so this waits for a write, it does not time anything.
func waitDelivery(t *testing.T, adm interface {
	ListDeliveries(context.Context, *connect.Request[v1.ListDeliveriesRequest]) (*connect.Response[v1.ListDeliveriesResponse], error)
}, webhookID, status string) *v1.Delivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d := deliveryOf(t, adm, webhookID)
		if d.Status == status {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery is %s after %d attempts, want %s", d.Status, d.Attempts, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A failing endpoint is retried with growing delays and gets the event
// once it recovers.
func TestFailingEndpointRetriedUntilItRecovers(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t) // workers driven by hand: RunOnce and the fake clock
	f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 20 * 24 * time.Hour})
	adm := s.Admin(testserver.GRPC, f.AdminToken)
	rcv := newReceiver(t, 503, 500, 502, 503)
	hook, secret := createWebhook(t, adm, rcv.URL, "contract.ending")
	if err := s.Scanner.ScanOnce(ctx); err != nil { // the contract ends within 30 days
		t.Fatal(err)
	}
	var prev time.Duration
	var eventID string
	for attempt := 1; attempt <= 5; attempt++ {
		n, err := s.Dispatcher.RunOnce(ctx)
		if err != nil || n != 1 {
			t.Fatalf("attempt %d: RunOnce got %d, %v; want 1 attempted", attempt, n, err)
		}
		m := rcv.next(t)
		verifyAsReceiver(t, secret, m, s.Clock.Now())
		if attempt == 1 {
			eventID = m.header.Get("webhook-id")
		} else if id := m.header.Get("webhook-id"); id != eventID {
			t.Errorf("attempt %d: webhook-id got %s, want the same %s on every attempt", attempt, id, eventID)
		}
		d := deliveryOf(t, adm, hook.Id)
		if int(d.Attempts) != attempt {
			t.Fatalf("attempts: got %d, want %d", d.Attempts, attempt)
		}
		if attempt == 5 {
			if d.Status != "succeeded" || d.LastStatusCode != 200 || d.LastError != "" {
				t.Fatalf("after recovery: got %s, code %d, error %q; want succeeded, 200, no error", d.Status, d.LastStatusCode, d.LastError)
			}
			break
		}
		if d.Status != "pending" || d.LastStatusCode < 500 || d.LastError == "" {
			t.Fatalf("attempt %d: got status %s, code %d, error %q; want pending, 5xx, an error", attempt, d.Status, d.LastStatusCode, d.LastError)
		}
		delay := d.NextAttemptAt.AsTime().Sub(s.Clock.Now())
		if delay <= prev {
			t.Errorf("attempt %d: delay got %v, want more than the previous %v", attempt, delay, prev)
		}
		prev = delay
		// Not due yet: nothing is sent.
		s.Clock.Advance(delay - time.Second)
		if n, err := s.Dispatcher.RunOnce(ctx); err != nil || n != 0 {
			t.Fatalf("before the next attempt is due: RunOnce got %d, %v; want 0", n, err)
		}
		s.Clock.Advance(time.Second)
	}
}

// A server stopped mid-retry and started again on the same data delivers
// the event it had queued, with the same id and secret.
func TestRestartMidRetryLosesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s1 := testserver.Start(t, testserver.Options{Dir: dir})
	f := s1.NewFixture(t, testserver.FixtureOptions{EndsIn: 20 * 24 * time.Hour})
	rcv := newReceiver(t, 503)
	hook, secret := createWebhook(t, s1.Admin(testserver.GRPC, f.AdminToken), rcv.URL, "contract.ending")
	if err := s1.Scanner.ScanOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s1.Dispatcher.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce: got %d, %v; want 1", n, err)
	}
	first := rcv.next(t)
	d := deliveryOf(t, s1.Admin(testserver.GRPC, f.AdminToken), hook.Id)
	if d.Status != "pending" || d.Attempts != 1 {
		t.Fatalf("before restart: got %s after %d attempts, want pending after 1", d.Status, d.Attempts)
	}
	s1.Close()

	s2 := testserver.Start(t, testserver.Options{Dir: dir, Start: s1.Clock.Now(), Notify: true})
	s2.Clock.Set(d.NextAttemptAt.AsTime())
	s2.Dispatcher.Wake()
	m := rcv.next(t)
	verifyAsReceiver(t, secret, m, s2.Clock.Now())
	if got, want := m.header.Get("webhook-id"), first.header.Get("webhook-id"); got != want {
		t.Errorf("webhook-id after restart: got %s, want %s", got, want)
	}
	if string(m.body) != string(first.body) {
		t.Errorf("body after restart: got %s, want %s", m.body, first.body)
	}
	adm2 := s2.Admin(testserver.Connect, f.AdminToken)
	d = waitDelivery(t, adm2, hook.Id, "succeeded")
	if d.Attempts != 2 {
		t.Errorf("attempts: got %d, want 2", d.Attempts)
	}
	// The scanner on the new server knows the episode is open: no new event.
	if err := s2.Scanner.ScanOnce(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := adm2.ListDeliveries(ctx, connect.NewRequest(&v1.ListDeliveriesRequest{}))
	if err != nil || len(res.Msg.Deliveries) != 1 {
		t.Fatalf("deliveries after restart and scan: got %v, %v; want 1", len(res.Msg.GetDeliveries()), err)
	}
}

// TestDeliveryPanicEndsOnlyThatAttempt: a panic in a delivery attempt (a
// bug) is logged with its stack and ends that attempt, not the server.
func TestDeliveryPanicEndsOnlyThatAttempt(t *testing.T) {
	ctx := context.Background()
	logger, logs := testlog.New(slog.LevelError)
	s := testserver.Start(t, testserver.Options{
		Logger:              logger,
		ConfigureDispatcher: func(c *notify.DispatcherConfig) { c.Attempted = func(notify.Attempt) { panic("a bug") } },
	})
	f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 20 * 24 * time.Hour})
	rcv := newReceiver(t)
	createWebhook(t, s.Admin(testserver.GRPC, f.AdminToken), rcv.URL, "contract.ending")
	if err := s.Scanner.ScanOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Dispatcher.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce: got %d, %v; want 1 attempted", n, err)
	}
	rcv.next(t)
	out := logs.String()
	if !strings.Contains(out, "a webhook delivery attempt panicked") || !strings.Contains(out, "notify_test.go") {
		t.Errorf("want the panic logged with its stack; log:\n%s", out)
	}
}
