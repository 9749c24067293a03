package console_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/chromedp/chromedp"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// chromium is Debian's Chromium (apt-get install -y chromium).
const chromium = "/usr/bin/chromium"

// e2eBudget bounds the whole browser test, e2eStep one step of it.
const (
	e2eBudget = 60 * time.Second
	e2eStep   = 20 * time.Second
)

// newChrome starts a headless Chromium with a fresh profile that accepts
// only the test server's certificate (by its public key), not any
// certificate.
func newChrome(t *testing.T, cert *x509.Certificate) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromium); err != nil {
		t.Skip("chromium is not installed (apt-get install -y chromium)")
	}
	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshotDir is where the tests write screenshots of the main pages:
// $LICENSOR_SCREENSHOTS, or console/testdata/screenshots (git-ignored).
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("LICENSOR_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(screenshotDir(t), name+".png"), png, 0o644)
	})
}

// run runs the steps of one part of the flow; on failure it shows where
// the browser is and what the page says.
func run(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	// A step that waits for what never comes fails alone, leaving time to
	// show where the browser is.
	sctx, cancel := context.WithTimeout(ctx, e2eStep)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("%s: %v\nat %s\n%s", step, err, loc, body)
	}
}

// read returns what a query action gives, as run does for steps.
func read[T any](t *testing.T, ctx context.Context, step string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v\nat %s", step, err, loc)
	}
	return v
}

var idRE = regexp.MustCompile(`\((cus_[0-9a-z]+)\)`)

// TestBrowser drives the console in Chromium: sign in, create a customer,
// a contract and its token, see the instance appear after a GetLicense,
// release its seat, watch the pool chart change after capability
// checkouts, refuse a form without its CSRF token, stay in its tenant,
// sign out.
func TestBrowser(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	other := s.NewFixture(t, testserver.FixtureOptions{})
	ctx := newChrome(t, s.Cert.Leaf)
	u := s.URL
	text := func(step string, sel chromedp.ID) string { return read(t, ctx, step, chromedp.Text(sel)) }

	run(t, ctx, "sign in",
		chromedp.Navigate(u+"/console/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		screenshot(t, "signin"),
		chromedp.SendKeys(chromedp.ID("token"), f.AdminToken),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("signout")),
	)
	run(t, ctx, "create a customer",
		chromedp.Navigate(u+"/console/customers"),
		chromedp.SendKeys(chromedp.ID("customer-name"), "Initech"),
		chromedp.Click(chromedp.ID("create-customer")),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
		screenshot(t, "customers"),
	)
	flash := read(t, ctx, "customer flash", chromedp.Text(chromedp.CSS(".flash.ok")))
	m := idRE.FindStringSubmatch(flash)
	if m == nil {
		t.Fatalf("customer flash %q has no id", flash)
	}
	run(t, ctx, "create a contract and its token",
		chromedp.Navigate(u+"/console/contracts"),
		chromedp.SetValue(chromedp.ID("contract-customer"), m[1]),
		chromedp.SendKeys(chromedp.ID("contract-name"), "edge"),
		chromedp.SendKeys(chromedp.ID("contract-features"), "solver=5, reporting"),
		chromedp.SetValue(chromedp.ID("contract-seats"), "2"),
		chromedp.Click(chromedp.ID("create-contract")),
		chromedp.WaitVisible(chromedp.ID("contract-id")),
	)
	contractID := text("contract id", "contract-id")
	run(t, ctx, "create a token", chromedp.Click(chromedp.ID("create-token")), chromedp.WaitVisible(chromedp.ID("secret")))
	secret := text("token secret", "secret")
	if !strings.HasPrefix(secret, licensor.TokenPrefixContract) {
		t.Fatalf("token secret %q", secret)
	}

	getLicenseAt(t, s, secret, contractID, "e2e-box", "2.1.0")
	run(t, ctx, "see the instance",
		chromedp.Navigate(u+"/console/instances?contract="+contractID),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="instances"]//code[text()="e2e-box"]`)),
		screenshot(t, "instances"),
		chromedp.Navigate(u+"/console/contracts/"+contractID),
		chromedp.WaitVisible(chromedp.ID("seats-used")),
	)
	if seats := text("seats", "seats-used"); seats != "1 / 2" {
		t.Fatalf("seats before release: %q, want 1 / 2", seats)
	}
	run(t, ctx, "release its seat",
		screenshot(t, "contract"),
		chromedp.Click(chromedp.CSS("#seats button.release")),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(text(), "Seat of e2e-box released")]`)),
	)
	if seats := text("seats", "seats-used"); seats != "0 / 2" {
		t.Fatalf("seats after release: %q, want 0 / 2", seats)
	}

	// A pool for the fixture's contract; capability checkouts move its chart.
	op := licensor.WithActor(context.Background(), licensor.Actor{Role: licensor.RoleOperator, TokenID: "e2e"})
	pool, err := s.Service.CreatePool(op, f.TenantID, licensor.Pool{CustomerID: f.CustomerID, ContractID: f.ContractID, Name: "floating",
		Features: []licensor.PoolFeature{{Feature: "solver", MaxUnits: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "pool chart before", chromedp.Navigate(u+"/console/pools/"+pool.ID), chromedp.WaitVisible(chromedp.ID("usage-chart")))
	before := read(t, ctx, "chart before", chromedp.OuterHTML(chromedp.ID("usage-chart")))
	s.Clock.Advance(10 * time.Minute)
	capc := s.Capability(testserver.GRPC, f.ContractToken)
	for i, n := range []int64{3, 4} {
		_, err := capc.RequestCapabilities(context.Background(), connect.NewRequest(&v1.RequestCapabilitiesRequest{ContractId: f.ContractID,
			InstanceId: "node-" + string(rune('a'+i)), Capabilities: []*v1.CapabilityUnits{{Feature: "solver", Units: n}}, RequestId: "e2e-" + string(rune('a'+i))}))
		if err != nil {
			t.Fatal(err)
		}
		s.Clock.Advance(10 * time.Minute)
	}
	run(t, ctx, "pool chart after", chromedp.Navigate(u+"/console/pools/"+pool.ID), chromedp.WaitVisible(chromedp.ID("usage-chart")), screenshot(t, "pool"))
	after := read(t, ctx, "chart after", chromedp.OuterHTML(chromedp.ID("usage-chart")))
	inUse := read(t, ctx, "in use", chromedp.Text(chromedp.CSS(".in-use")))
	if inUse != "7" || before == after || !strings.Contains(after, "polyline") {
		t.Fatalf("pool after checkouts: in use %q (want 7); chart changed: %v\n%s", inUse, before != after, after)
	}

	// A webhook, created and tested from the console, reaches its receiver.
	got := make(chan string, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- string(body)
	}))
	t.Cleanup(receiver.Close)
	run(t, ctx, "create a webhook and send a test event",
		chromedp.Navigate(u+"/console/webhooks"),
		chromedp.SendKeys(chromedp.ID("webhook-url"), receiver.URL+"/hook"),
		chromedp.Click(chromedp.ID("create-webhook")),
		chromedp.WaitVisible(chromedp.ID("send-test")),
		chromedp.Click(chromedp.ID("send-test")),
		// The page already shows the creation's message: wait for the test's.
		chromedp.WaitVisible(chromedp.Search(`//p[contains(text(), "Test event queued")]`)),
	)
	if n, err := s.Dispatcher.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("dispatcher: %d deliveries, %v; want 1", n, err)
	}
	select {
	case body := <-got:
		if !strings.Contains(body, "webhook.test") {
			t.Fatalf("receiver got %s", body)
		}
	default:
		t.Fatal("the receiver got no test event")
	}
	run(t, ctx, "the delivery succeeded",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="deliveries"]//td[@class="status" and text()="succeeded"]`)),
		screenshot(t, "webhook"),
	)

	run(t, ctx, "a form without its CSRF token is refused",
		chromedp.Navigate(u+"/console/customers"),
		chromedp.WaitVisible(chromedp.ID("customer-name")),
	)
	read(t, ctx, "drop the CSRF field", chromedp.Evaluate[bool](`(document.querySelector('form.card input[name=csrf]').remove(), true)`))
	run(t, ctx, "post the forged form",
		chromedp.SendKeys(chromedp.ID("customer-name"), "Forged Ltd"),
		chromedp.Click(chromedp.ID("create-customer")),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	if e := text("CSRF refusal", "error"); !strings.Contains(e, "CSRF") {
		t.Fatalf("forged form: %q", e)
	}
	run(t, ctx, "another tenant's contract by its id",
		chromedp.Navigate(u+"/console/contracts/"+other.ContractID),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	if e := text("isolation", "error"); !strings.Contains(e, "not found") {
		t.Fatalf("another tenant's contract: %q", e)
	}
	for _, p := range []struct{ path, name string }{{"/console/", "dashboard"}, {"/console/audit", "audit"}, {"/console/telemetry", "telemetry"}, {"/console/tokens", "tokens"}} {
		run(t, ctx, "screenshot "+p.name, chromedp.Navigate(u+p.path), chromedp.WaitVisible(chromedp.ID("signout")), screenshot(t, p.name))
	}
	// A portal link for Initech, made on its page.
	getLicenseAt(t, s, secret, contractID, "initech-box", "2.1.0")
	run(t, ctx, "create a portal link",
		chromedp.Navigate(u+"/console/customers/"+m[1]),
		chromedp.SendKeys(chromedp.ID("portal-name"), "it@initech.example"),
		chromedp.Click(chromedp.ID("create-portal-link")),
		chromedp.WaitVisible(chromedp.ID("secret")),
		screenshot(t, "customer"),
	)
	link := text("portal link", "secret")
	run(t, ctx, "sign out",
		chromedp.Click(chromedp.ID("signout")),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.Navigate(u+"/console/customers"),
		chromedp.WaitVisible(chromedp.ID("token")),
	)

	// The customer opens its link: its own seat, not another customer's.
	run(t, ctx, "open the portal",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("open-portal")),
		chromedp.Click(chromedp.ID("open-portal")),
		chromedp.WaitVisible(chromedp.Search(`//code[text()="initech-box"]`)),
		screenshot(t, "portal"),
	)
	page := read(t, ctx, "portal page", chromedp.OuterHTML(chromedp.CSS("main")))
	if !strings.Contains(page, contractID) || strings.Contains(page, f.ContractID) || strings.Contains(page, "node-a") {
		t.Fatalf("the portal shows another customer's contract, or not its own:\n%s", page)
	}
	// The confirmation dialog would wait for a person: accept it.
	read(t, ctx, "accept confirmations", chromedp.Evaluate[bool](`(window.confirm = () => true, true)`))
	run(t, ctx, "release its own seat",
		chromedp.Click(chromedp.CSS("#contract-"+contractID+" button.release")),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(text(), "Seat of initech-box released")]`)),
	)
	// Another customer's contract id put into the license form: not found.
	read(t, ctx, "aim the license form at another customer's contract", chromedp.Evaluate[bool](
		`(document.querySelector('form[action$="/license"]').action = "/portal/contracts/`+f.ContractID+`/license", true)`))
	run(t, ctx, "license file of another customer's contract",
		chromedp.SendKeys(chromedp.CSS(`form[action$="/license"] input[name=instance]`), "stolen-1"),
		chromedp.Submit(chromedp.CSS(`form[action$="/license"]`)),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	if e := text("portal isolation", "error"); !strings.Contains(e, "not found") {
		t.Fatalf("another customer's contract from the portal: %q", e)
	}
}
