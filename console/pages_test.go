package console_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/testserver"
)

// TestPages walks every page as a tenant admin and as the operator (who
// picks the tenant), and the main forms.
func TestPages(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{MaxSeats: 3})
	getLicense(t, s, f.ContractToken, f.ContractID, "box-1")
	for _, who := range []string{"admin", "operator"} {
		t.Run(who, func(t *testing.T) {
			b := newBrowser(t, s)
			if who == "admin" {
				b.signin(f.AdminToken)
			} else {
				b.signin(s.OperatorToken)
				b.get("/console/")
				if code, body := b.post("/console/tenant", url.Values{"tenant": {f.TenantID}}); code != http.StatusOK || !strings.Contains(body, "Showing tenant") {
					t.Fatalf("pick tenant: got %d\n%s", code, body)
				}
			}
			for _, p := range []struct{ path, want string }{
				{"/console/", `id="active-instances">1<`},
				{"/console/customers", "Acme"},
				{"/console/products", "solver"},
				{"/console/contracts", f.ContractID},
				{"/console/contracts/" + f.ContractID, "box-1"},
				{"/console/instances", "box-1"},
				{"/console/instances?contract=" + f.ContractID + "&seats=1", "box-1"},
				{"/console/pools", "Pools"},
				{"/console/alerts", "Alerts"},
				{"/console/webhooks", "Webhooks"},
				{"/console/audit", "contract.create"},
				{"/console/audit?object_type=contract&since=2026-01-01&until=2026-12-31", "contract.create"},
				{"/console/telemetry", `id="fleet-instances">1<`},
				{"/console/keys", "newest key"},
				{"/console/tokens", "instances"},
			} {
				code, body := b.get(p.path)
				if code != http.StatusOK {
					t.Fatalf("GET %s: got %d\n%s", p.path, code, body)
				}
				mustContain(t, body, p.want)
			}
			if code, body := b.get("/console/contracts/con_nope"); code != http.StatusNotFound {
				t.Fatalf("unknown contract: got %d\n%s", code, body)
			}
		})
	}
}

// TestOperatorBeforeAnyTenant: an operator who signed in before any tenant
// existed gets the first one as soon as there is one.
func TestOperatorBeforeAnyTenant(t *testing.T) {
	s := testserver.Start(t)
	b := newBrowser(t, s)
	b.get("/console/signin")
	if code, body := b.post("/console/signin", url.Values{"token": {s.OperatorToken}}); code != http.StatusBadRequest || !strings.Contains(body, "no tenant yet") {
		t.Fatalf("no tenant yet: got %d, want 400\n%s", code, body)
	}
	f := s.NewFixture(t, testserver.FixtureOptions{})
	_, body := b.get("/console/customers")
	mustContain(t, body, "Acme", f.TenantID)
}

func TestForms(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{MaxSeats: 3})
	getLicense(t, s, f.ContractToken, f.ContractID, "box-1")
	b := newBrowser(t, s)
	b.signin(f.AdminToken)
	b.get("/console/customers")
	_, body := b.post("/console/customers", url.Values{"name": {"Globex"}, "email": {"it@globex.example"}, "back": {"/console/customers"}})
	mustContain(t, body, "Customer Globex created", "it@globex.example")
	// A mistake goes back to the form's page with the service's message.
	_, body = b.post("/console/customers", url.Values{"name": {""}, "back": {"/console/customers"}})
	mustContain(t, body, `class="flash error"`, "customer name")

	cu := "/console/customers/" + f.CustomerID
	b.get(cu)
	_, body = b.post(cu, url.Values{"name": {"Acme Corp"}, "email": {"ops@acme.example"}, "metadata": {"crm=4711\nregion = eu"}})
	mustContain(t, body, "Customer saved", `value="Acme Corp"`, "crm=4711\nregion=eu")
	_, body = b.post(cu+"/delete", url.Values{"back": {cu}})
	mustContain(t, body, `class="flash error"`) // it has a contract

	cpath := "/console/contracts/" + f.ContractID
	b.get(cpath)
	_, body = b.post(cpath+"/metadata", url.Values{"metadata": {"po=PO-1"}, "back": {cpath}})
	mustContain(t, body, "Metadata saved", "po=PO-1")
	b.get(cpath)
	_, body = b.post(cpath+"/features", url.Values{"features": {"solver=10, reporting"}, "max_seats": {"4"}, "back": {cpath}})
	mustContain(t, body, "Features changed", "reporting, solver=10", "1 / 4")
	_, body = b.post(cpath+"/extend", url.Values{"ends": {"2027-06-30"}, "back": {cpath}})
	mustContain(t, body, "extended to 2027-06-30")
	_, body = b.post(cpath+"/status", url.Values{"status": {"suspended"}, "back": {cpath}})
	mustContain(t, body, `id="contract-status">suspended<`)
	_, body = b.post(cpath+"/status", url.Values{"status": {"active"}, "back": {cpath}})
	mustContain(t, body, `id="contract-status">active<`)
	_, body = b.post(cpath+"/tokens", url.Values{"name": {"edge"}, "back": {cpath}})
	mustContain(t, body, `id="secret">lsr_con_`)
	if _, again := b.get(cpath); strings.Contains(again, `id="secret"`) {
		t.Fatal("a token's secret is shown twice")
	}
	_, body = b.post("/console/instances/release", url.Values{"contract": {f.ContractID}, "instance": {"box-1"}, "back": {cpath}})
	mustContain(t, body, "Seat of box-1 released", `id="seats-used">0 / 4<`)
	_, body = b.post("/console/keys/rotate", nil)
	mustContain(t, body, "Key rotated")
	// Every change is in the audit log under the session's token.
	_, body = b.get("/console/audit")
	mustContain(t, body, "contract.extend", "contract.change", "customer.create", "token.create")
	_, body = b.post(cpath+"/end", url.Values{"back": {cpath}})
	mustContain(t, body, `id="contract-status">ended<`)
}

// TestInstancesPages: the keyset pages cover every instance once, and the
// filters carry over to the next page.
func TestInstancesPages(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	const n = 60
	for i := range n {
		getLicense(t, s, f.ContractToken, f.ContractID, fmt.Sprintf("node-%02d", i))
		s.Clock.Advance(time.Second)
	}
	getLicense(t, s, f.ContractToken, f.ContractID, "other-1")
	b := newBrowser(t, s)
	b.signin(f.AdminToken)
	seen := map[string]bool{}
	path := "/console/instances?prefix=node-"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("more pages than instances")
		}
		code, body := b.get(path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, code, body)
		}
		for _, m := range instanceRE.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Fatalf("%s shown twice", m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := nextRE.FindStringSubmatch(body); m != nil {
			path = html.UnescapeString(m[1])
			if !strings.Contains(path, "prefix=node-") {
				t.Fatalf("next page %q lost the filter", path)
			}
		}
	}
	if len(seen) != n || seen["other-1"] {
		t.Fatalf("saw %d instances (other-1: %v), want the %d node-*", len(seen), seen["other-1"], n)
	}
}

var (
	instanceRE = regexp.MustCompile(`<tr><td><code>([^<]+)</code></td><td><a href="/console/contracts/`)
	nextRE     = regexp.MustCompile(`<a id="next" href="([^"]+)">`)
)

// TestCharts: licenses per hour on the dashboard and versions in the fleet
// on the telemetry page follow the check-ins.
func TestCharts(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	for h, v := range []string{"1.2.0", "1.2.0", "1.3.0", "1.3.0"} {
		for i := range 3 {
			getLicenseAt(t, s, f.ContractToken, f.ContractID, fmt.Sprintf("node-%d", i), v)
		}
		if h < 3 {
			s.Clock.Advance(time.Hour)
		}
	}
	b := newBrowser(t, s)
	b.signin(f.AdminToken)
	_, body := b.get("/console/telemetry?range=24h")
	mustContain(t, body, `<polyline class="line s0"`, `<polyline class="line s1"`, ">1.2.0<", ">1.3.0<", "time (UTC)")
	_, body = b.get("/console/")
	mustContain(t, body, "check-ins with telemetry", `text-anchor="end">5</text>`) // 3 an hour: the axis tops at 5
}
