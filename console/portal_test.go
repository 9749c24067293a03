package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/testserver"
)

var portalLinkRE = regexp.MustCompile(`id="secret">(https://[^<]+)<`)

// portalSignin opens a portal link in a fresh browser.
func portalSignin(t *testing.T, s *testserver.Server, link string) *browser {
	t.Helper()
	p := newBrowser(t, s)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := p.get(u.RequestURI()); code != http.StatusOK || !strings.Contains(body, `id="open-portal"`) {
		t.Fatalf("open link: %d\n%s", code, body)
	}
	if code, body := p.post("/portal/signin", url.Values{"link": {u.Query().Get("link")}}); code != http.StatusOK || !strings.Contains(body, "Your licenses") {
		t.Fatalf("portal sign-in: %d\n%s", code, body)
	}
	return p
}

// TestPortal: a customer signed in with its portal link sees its own
// contracts and seats and nothing of another customer or tenant, releases
// its seats, downloads license files, and is signed out when the link is
// revoked.
func TestPortal(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
	otherTenant := s.NewFixture(t, testserver.FixtureOptions{})
	ctx := context.Background()
	op := licensor.WithActor(ctx, licensor.Actor{Role: licensor.RoleOperator, TokenID: "test"})
	// A second customer of the same tenant, with its own contract.
	globex, err := s.Service.CreateCustomer(op, f.TenantID, licensor.Customer{Name: "Globex"})
	if err != nil {
		t.Fatal(err)
	}
	gc, err := s.Service.CreateContract(op, f.TenantID, licensor.Contract{CustomerID: globex.ID, ProductID: f.ProductID, Name: "globex-annual",
		StartsAt: s.Clock.Now(), Features: []licensor.Entitlement{{Feature: "reporting"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, gtok, err := s.Service.CreateToken(op, f.TenantID, licensor.Token{Role: licensor.RoleContract, ContractID: gc.ID})
	if err != nil {
		t.Fatal(err)
	}
	getLicense(t, s, f.ContractToken, f.ContractID, "acme-box")
	getLicense(t, s, gtok, gc.ID, "globex-box")
	getLicense(t, s, otherTenant.ContractToken, otherTenant.ContractID, "far-box")

	vendor := newBrowser(t, s)
	vendor.signin(f.AdminToken)
	cpath := "/console/customers/" + f.CustomerID
	vendor.get(cpath)
	_, body := vendor.post(cpath+"/portal-links", url.Values{"name": {"ops@acme"}, "days": {"7"}})
	m := portalLinkRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no portal link shown:\n%s", body)
	}
	p := portalSignin(t, s, m[1])
	// The whole link pasted into the sign-in form works too.
	pasted := newBrowser(t, s)
	pasted.get("/portal/signin")
	if _, body := pasted.post("/portal/signin", url.Values{"link": {m[1]}}); !strings.Contains(body, "Your licenses") {
		t.Fatalf("pasted link:\n%s", body)
	}

	_, body = p.get("/portal/")
	mustContain(t, body, f.ContractID, "acme-box", "1 / 5", "Acme")
	for _, never := range []string{gc.ID, "globex-box", otherTenant.ContractID, "far-box"} {
		if strings.Contains(body, never) {
			t.Fatalf("the portal shows %s of another customer", never)
		}
	}
	// Another customer's or tenant's ids, typed in: not found, nothing done.
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/portal/release", url.Values{"contract": {gc.ID}, "instance": {"globex-box"}}},
		{"/portal/release", url.Values{"contract": {otherTenant.ContractID}, "instance": {"far-box"}}},
		{"/portal/contracts/" + gc.ID + "/license", url.Values{"instance": {"x"}}},
		{"/portal/contracts/" + otherTenant.ContractID + "/license", url.Values{"instance": {"x"}}},
	} {
		if code, _ := p.post(tc.path, tc.form); code != http.StatusNotFound {
			t.Errorf("POST %s %v: got %d, want 404", tc.path, tc.form, code)
		}
	}
	if c, _ := s.Service.GetContract(op, f.TenantID, gc.ID); c.SeatsUsed != 1 {
		t.Fatalf("globex seats: %d, want 1", c.SeatsUsed)
	}
	// The portal session does not open the console.
	if _, body := p.get("/console/"); !strings.Contains(body, `id="token"`) {
		t.Fatal("a portal session reached the console")
	}

	// A license file for an offline site of its own contract.
	p.get("/portal/")
	resp, err := p.c.PostForm(s.URL+"/portal/contracts/"+f.ContractID+"/license", url.Values{"csrf": {p.csrf}, "instance": {"offline-1"}, "days": {"30"}})
	if err != nil {
		t.Fatal(err)
	}
	code, file := p.read(resp, nil)
	if code != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(file, "LICENSE") {
		t.Fatalf("license file: %d %q\n%.300s", code, resp.Header.Get("Content-Disposition"), file)
	}

	// Its own stuck seat.
	p.get("/portal/")
	_, body = p.post("/portal/release", url.Values{"contract": {f.ContractID}, "instance": {"acme-box"}})
	mustContain(t, body, "Seat of acme-box released", "0 / 5")
	// CSRF on the portal too.
	if code, _ := p.post("/portal/release", url.Values{"contract": {f.ContractID}, "instance": {"acme-box"}, "csrf": {"forged"}}); code != http.StatusForbidden {
		t.Fatalf("forged portal form: got %d, want 403", code)
	}

	// Revoked in the console: the customer is out at once.
	_, body = vendor.get(cpath)
	id := regexp.MustCompile(`<code>(plk_[0-9a-z]+)</code>`).FindStringSubmatch(body)
	if id == nil {
		t.Fatalf("no link on the customer page:\n%s", body)
	}
	vendor.post("/console/portal-links/"+id[1]+"/revoke", nil)
	for _, x := range []*browser{p, pasted} {
		if _, body := x.get("/portal/"); !strings.Contains(body, `id="link"`) {
			t.Fatalf("portal session still open after its link was revoked:\n%s", body)
		}
	}
	// And the link no longer signs in.
	u, _ := url.Parse(m[1])
	q := newBrowser(t, s)
	q.get(u.RequestURI())
	if code, _ := q.post("/portal/signin", url.Values{"link": {u.Query().Get("link")}}); code != http.StatusUnauthorized {
		t.Fatalf("revoked link: got %d, want 401", code)
	}
}
