package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/bearer"
	"github.com/licensor/licensor/notify"
)

// movableClock is a clock a test moves forward; it starts at the real time
// so that the self-signed certificate serve makes is valid for the client.
type movableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *movableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *movableClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startMainAt is startMain with the demo and a clock the test moves.
func startMainAt(t *testing.T, clk *movableClock) *Main {
	t.Helper()
	// The test's receivers are plain-http servers on 127.0.0.1.
	m := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", Data: t.TempDir(), Demo: true, WebhookAllowPrivate: true, WebhookAllowHTTP: true},
		Out: &bytes.Buffer{}, Now: clk.Now}
	if err := m.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// hookRequest is one POST the receiver got.
type hookRequest struct {
	header http.Header
	body   []byte
}

// TestDemoWebhookCommands: on serve --demo, an admin registers a webhook
// with the CLI, sees the license.expiring delivery the scanner queued when
// the demo instance stopped refreshing, redelivers it, sees the cleared
// event after the instance refreshes, lists alerts, and deletes the webhook.
func TestDemoWebhookCommands(t *testing.T) {
	clk := &movableClock{now: time.Now().UTC().Truncate(time.Second)}
	m := startMainAt(t, clk)
	d := m.Demo
	demo := filepath.Join(m.Config.Data, "demo.json")
	ctx := context.Background()
	got := make(chan hookRequest, 16)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- hookRequest{r.Header.Clone(), b}
	}))
	t.Cleanup(rcv.Close)
	next := func() hookRequest {
		t.Helper()
		select {
		case r := <-got:
			return r
		case <-time.After(15 * time.Second):
			t.Fatal("no webhook request within 15s")
			return hookRequest{}
		}
	}
	cli := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, append([]string{"admin", "--demo-file", demo}, args...)...)
		if err != nil {
			t.Fatalf("%s: got error %v, want none", strings.Join(args, " "), err)
		}
		return out
	}
	// waitDeliveries polls the deliveries command until its output has
	// want (the dispatcher records an attempt right after the receiver
	// answered); it waits for a write, it times nothing.
	waitDeliveries := func(want *regexp.Regexp) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			out := cli("webhook", "deliveries")
			if want.MatchString(out) {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("webhook deliveries: got %q, want a line matching %s", out, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	lc := licensorv1connect.NewLicenseServiceClient(demoClient(t, d), d.Server, connect.WithGRPC(), connect.WithInterceptors(bearer.Token(d.Token)))
	getLicense := func() {
		t.Helper()
		if _, err := lc.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: d.ContractID, InstanceId: "demo-1"})); err != nil {
			t.Fatalf("GetLicense with the demo: %v", err)
		}
	}

	// Bad input is refused and stores nothing.
	for _, bad := range [][]string{
		{"webhook", "create", "ftp://127.0.0.1/hook"},
		{"webhook", "create", rcv.URL, "-e", "license.stolen"},
	} {
		if _, err := runCLI(t, append([]string{"admin", "--demo-file", demo}, bad...)...); err == nil {
			t.Errorf("%v: got no error, want one", bad)
		}
	}
	if _, err := runCLI(t, "admin", "--demo-file", demo, "webhook", "deliveries", "--status", "lost"); err == nil {
		t.Error("deliveries --status lost: got no error, want one")
	}
	if out := cli("webhook", "list"); strings.Contains(out, "whk_") {
		t.Fatalf("webhook list after refused creates: got %q, want no webhook", out)
	}

	// create prints the webhook and, once, its secret.
	out := cli("webhook", "create", rcv.URL+"/hooks", "-e", "license.expiring,license.expiring.cleared")
	hookID := regexp.MustCompile(`whk_[0-9a-z]+`).FindString(out)
	secret := regexp.MustCompile(`(?m)^whsec_\S+$`).FindString(out)
	if hookID == "" || secret == "" || !strings.Contains(out, "license.expiring,license.expiring.cleared") {
		t.Fatalf("webhook create: got %q, want the webhook id, its events and a whsec_ secret", out)
	}
	var created struct {
		Webhook struct {
			ID string `json:"id"`
		} `json:"webhook"`
		Secret string `json:"secret"`
	}
	jsonOut := cli("-o", "json", "webhook", "create", rcv.URL+"/other", "-e", "contract.ending")
	if err := json.Unmarshal([]byte(jsonOut), &created); err != nil || created.Webhook.ID == "" || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("webhook create -o json: got %q (%v), want the webhook and its secret as JSON", jsonOut, err)
	}
	out = cli("webhook", "list")
	if !strings.Contains(out, hookID) || !strings.Contains(out, created.Webhook.ID) || strings.Contains(out, "whsec_") {
		t.Fatalf("webhook list: got %q, want both webhooks and no secret", out)
	}
	cli("webhook", "delete", created.Webhook.ID)

	// The demo instance stops refreshing: at the 7-day mark the scanner
	// raises license.expiring and the dispatcher delivers it, signed.
	getLicense()
	clk.Advance(7*24*time.Hour + time.Minute)
	if err := m.App.Scanner().ScanOnce(ctx); err != nil {
		t.Fatal(err)
	}
	first := next()
	if err := notify.Verify(secret, first.header, first.body, clk.Now(), 5*time.Minute); err != nil {
		t.Fatalf("the delivered event does not verify with the secret create printed: %v", err)
	}
	eventID := first.header.Get("webhook-id")
	out = cli("alert", "list")
	if !strings.Contains(out, eventID) || !strings.Contains(out, "license.expiring") || !strings.Contains(out, d.ContractID+"/demo-1") {
		t.Fatalf("alert list: got %q, want the license.expiring alert %s on %s/demo-1", out, eventID, d.ContractID)
	}
	out = waitDeliveries(regexp.MustCompile(`dlv_\S+\s+` + hookID + `\s+` + eventID + `\s+license\.expiring\s+succeeded\s+1\s+200`))
	dlvID := regexp.MustCompile(`dlv_[0-9a-z]+`).FindString(out)

	// redeliver sends the same event again, with the same webhook-id.
	out = cli("webhook", "redeliver", dlvID)
	if !strings.Contains(out, dlvID) || !strings.Contains(out, "pending") {
		t.Fatalf("webhook redeliver: got %q, want %s pending", out, dlvID)
	}
	again := next()
	if id := again.header.Get("webhook-id"); id != eventID || !bytes.Equal(again.body, first.body) {
		t.Errorf("redelivery: got webhook-id %s and body %s, want %s and the same body", id, again.body, eventID)
	}
	waitDeliveries(regexp.MustCompile(dlvID + `\s+` + hookID + `\s+` + eventID + `\s+license\.expiring\s+succeeded\s+2\s+200`))

	// The instance refreshes: the alert is cleared and the cleared event sent.
	clk.Advance(time.Hour)
	getLicense()
	if err := m.App.Scanner().ScanOnce(ctx); err != nil {
		t.Fatal(err)
	}
	cleared := next()
	if !bytes.Contains(cleared.body, []byte(`"type":"license.expiring.cleared"`)) || !bytes.Contains(cleared.body, []byte(eventID)) {
		t.Errorf("cleared event: got %s, want license.expiring.cleared naming alert %s", cleared.body, eventID)
	}
	waitDeliveries(regexp.MustCompile(hookID + `\s+evt_\S+\s+license\.expiring\.cleared\s+succeeded\s+1\s+200`))
	if out := cli("alert", "list"); strings.Contains(out, eventID) {
		t.Errorf("alert list after the refresh: got %q, want no open alert %s", out, eventID)
	}
	if out := cli("alert", "list", "--all"); !regexp.MustCompile(eventID + `\s+license\.expiring\s+\S+\s+-\s+\S+\s+\d{4}-`).MatchString(out) {
		t.Errorf("alert list --all: got %q, want %s with its cleared time", out, eventID)
	}

	// disable pauses the webhook: the instance stops refreshing again and
	// its license.expiring event is queued but not sent until enable.
	if out := cli("webhook", "disable", hookID); !regexp.MustCompile(hookID + `\s+\S+\s+\S+\s+disabled`).MatchString(out) {
		t.Fatalf("webhook disable: got %q, want %s disabled", out, hookID)
	}
	if out := cli("webhook", "list"); !regexp.MustCompile(hookID + `\s+\S+\s+\S+\s+disabled`).MatchString(out) {
		t.Fatalf("webhook list after disable: got %q, want %s disabled", out, hookID)
	}
	clk.Advance(7*24*time.Hour + time.Minute)
	if err := m.App.Scanner().ScanOnce(ctx); err != nil {
		t.Fatal(err)
	}
	waitDeliveries(regexp.MustCompile(hookID + `\s+evt_\S+\s+license\.expiring\s+pending\s+0\s`))
	if n, err := m.App.Dispatcher().RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("RunOnce while disabled: got %d, %v; want nothing attempted", n, err)
	}
	if _, err := runCLI(t, "admin", "--demo-file", demo, "webhook", "enable", "whk_missing"); err == nil {
		t.Error("enabling an unknown webhook: got no error, want one")
	}
	if out := cli("webhook", "enable", hookID); !regexp.MustCompile(hookID + `\s+\S+\s+\S+\s+enabled`).MatchString(out) {
		t.Fatalf("webhook enable: got %q, want %s enabled", out, hookID)
	}
	m.App.Dispatcher().Wake()
	if paused := next(); !bytes.Contains(paused.body, []byte(`"type":"license.expiring"`)) {
		t.Errorf("after enable: got %s, want the license.expiring event queued while disabled", paused.body)
	}
	waitDeliveries(regexp.MustCompile(hookID + `\s+evt_\S+\s+license\.expiring\s+succeeded\s+1\s+200`))

	// delete removes the webhook and its deliveries.
	if out := cli("webhook", "delete", hookID); !strings.Contains(out, hookID+" deleted") {
		t.Errorf("webhook delete: got %q, want it to say %s deleted", out, hookID)
	}
	if out := cli("webhook", "list"); strings.Contains(out, "whk_") {
		t.Errorf("webhook list after delete: got %q, want no webhook", out)
	}
	if out := cli("webhook", "deliveries"); strings.Contains(out, "dlv_") {
		t.Errorf("webhook deliveries after delete: got %q, want none", out)
	}
	if _, err := runCLI(t, "admin", "--demo-file", demo, "webhook", "delete", hookID); err == nil {
		t.Error("deleting the webhook again: got no error, want one")
	}
}
