package console_test

import (
	"crypto/x509"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/console"
	"github.com/licensor/licensor/internal/testserver"
)

func TestOIDCSignin(t *testing.T) {
	// The tenants exist before the server that maps them starts: a first
	// server creates them in Dir, a second one serves Dir with the mapping.
	dir := t.TempDir()
	first := testserver.Start(t, testserver.Options{Dir: dir})
	f := first.NewFixture(t, testserver.FixtureOptions{})
	other := first.NewFixture(t, testserver.FixtureOptions{})
	first.Close()
	clock := testserver.NewClock(first.Clock.Now())
	iss := newTestIssuer(t, clock.Now)
	s := testserver.Start(t, testserver.Options{Dir: dir, Clock: clock, OIDC: &console.OIDCConfig{
		Issuer: iss.URL, ClientID: iss.clientID, ClientSecret: iss.clientSecret, HTTPClient: iss.Client(),
		Tenants: map[string]string{"acme-staff": f.TenantID, "ghost": "ten_06h4haz9m9q09d8brxb1eswekg", "vendor-ops": console.OperatorRole},
	}})

	roots := x509.NewCertPool()
	roots.AddCert(s.Cert.Leaf)
	roots.AddCert(iss.Certificate())
	browserFor := func(t *testing.T) *browser {
		b := newBrowser(t, s)
		b.c.Transport.(*http.Transport).TLSClientConfig.RootCAs = roots
		return b
	}

	t.Run("OK", func(t *testing.T) {
		iss.Claims = map[string]any{"sub": "u-1", "email": "ann@vendor.example", "licensor_tenant": "acme-staff"}
		b := browserFor(t)
		code, body := b.get("/console/oidc/login")
		if code != http.StatusOK {
			t.Fatalf("got %d\n%s", code, body)
		}
		mustContain(t, body, "ann@vendor.example (OIDC)", `id="active-instances"`)
		// A change is audited under the OIDC identity.
		b.get("/console/customers")
		b.post("/console/customers", url.Values{"name": {"Initech"}})
		_, body = b.get("/console/audit?object_type=customer")
		mustContain(t, body, "oidc:u-1")
		// Its tenant only.
		if code, _ := b.get("/console/contracts/" + other.ContractID); code != http.StatusNotFound {
			t.Fatalf("another tenant's contract: got %d, want 404", code)
		}
		b.post("/console/signout", nil)
		if _, body := b.get("/console/"); !strings.Contains(body, `id="oidc"`) {
			t.Fatal("after sign-out: no sign-in page with the OIDC button")
		}
	})
	t.Run("Operator", func(t *testing.T) {
		iss.mu.Lock()
		iss.Claims, iss.BadNonce = map[string]any{"sub": "op-1", "email": "ops@vendor.example", "licensor_tenant": "vendor-ops"}, false
		iss.mu.Unlock()
		b := browserFor(t)
		_, body := b.get("/console/oidc/login")
		mustContain(t, body, "ops@vendor.example (OIDC)", `name="tenant"`) // the tenant picker
		b.post("/console/tenant", url.Values{"tenant": {other.TenantID}})
		if code, body := b.get("/console/contracts/" + other.ContractID); code != http.StatusOK {
			t.Fatalf("operator: another tenant's contract: got %d\n%s", code, body)
		}
	})
	for _, tc := range []struct {
		name     string
		claims   map[string]any
		badNonce bool
		want     int
	}{
		{"NoTenantClaim", map[string]any{"sub": "u-2"}, false, http.StatusForbidden},
		{"UnmappedTenant", map[string]any{"sub": "u-3", "licensor_tenant": f.TenantID}, false, http.StatusForbidden},
		{"UnknownTenant", map[string]any{"sub": "u-4", "licensor_tenant": "ghost"}, false, http.StatusNotFound},
		{"BadNonce", map[string]any{"sub": "u-5", "licensor_tenant": "acme-staff"}, true, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss.mu.Lock()
			iss.Claims, iss.BadNonce = tc.claims, tc.badNonce
			iss.mu.Unlock()
			b := browserFor(t)
			code, body := b.get("/console/oidc/login")
			if code != tc.want || strings.Contains(body, `id="signout"`) {
				t.Fatalf("got %d, want %d\n%s", code, tc.want, body)
			}
		})
	}
	t.Run("StateFromAnotherBrowser", func(t *testing.T) {
		iss.mu.Lock()
		iss.Claims, iss.BadNonce = map[string]any{"sub": "u-1", "licensor_tenant": "acme-staff"}, false
		iss.mu.Unlock()
		victim := browserFor(t)
		victim.c.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
			if strings.Contains(r.URL.Path, "/callback") {
				return http.ErrUseLastResponse
			}
			return nil
		}
		resp, err := victim.c.Get(s.URL + "/console/oidc/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		callback := resp.Header.Get("Location")
		// An attacker's browser replays the callback: no state cookie.
		attacker := browserFor(t)
		if code, body := attacker.read(attacker.c.Get(callback)); code != http.StatusUnauthorized || strings.Contains(body, `id="signout"`) {
			t.Fatalf("replayed callback: got %d, want 401", code)
		}
	})
}

// TestOIDCOperatorOnlyByMapping: without a mapping the claim is a tenant
// id, and "operator" is none: no identity becomes the operator by its own
// claim.
func TestOIDCOperatorOnlyByMapping(t *testing.T) {
	clock := testserver.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	iss := newTestIssuer(t, clock.Now)
	iss.Claims = map[string]any{"sub": "mallory", "licensor_tenant": console.OperatorRole}
	s := testserver.Start(t, testserver.Options{Clock: clock, OIDC: &console.OIDCConfig{
		Issuer: iss.URL, ClientID: iss.clientID, ClientSecret: iss.clientSecret, HTTPClient: iss.Client()}})
	b := newBrowser(t, s)
	roots := x509.NewCertPool()
	roots.AddCert(s.Cert.Leaf)
	roots.AddCert(iss.Certificate())
	b.c.Transport.(*http.Transport).TLSClientConfig.RootCAs = roots
	code, body := b.get("/console/oidc/login")
	if code == http.StatusOK || strings.Contains(body, `id="signout"`) {
		t.Fatalf("claim %q signed in: %d\n%s", console.OperatorRole, code, body)
	}
}
