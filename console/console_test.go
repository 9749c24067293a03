package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

func TestSecurityHeaders(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	b := newBrowser(t, s)
	for _, path := range []string{"/console/signin", "/console/static/console.css", "/console/nope", "/portal/"} {
		resp, err := b.c.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for h, want := range map[string]string{
			"X-Frame-Options":        "DENY",
			"X-Content-Type-Options": "nosniff",
			"Cache-Control":          "no-store",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", path, h, got, want)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP = %q", path, csp)
		}
	}
	b.get("/console/signin")
	resp, err := b.c.PostForm(s.URL+"/console/signin", url.Values{"token": {f.AdminToken}, "csrf": {b.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The redirect's response set the session cookie; the jar keeps it.
	u, _ := url.Parse(s.URL)
	var found bool
	for _, c := range b.c.Jar.Cookies(u) {
		found = found || c.Name == "__Host-licensor-console"
	}
	if !found {
		t.Fatal("no __Host-licensor-console cookie after sign-in")
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	b := newBrowser(t, s)
	b.get("/console/signin")
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := b.c.PostForm(s.URL+"/console/signin", url.Values{"token": {f.AdminToken}, "csrf": {b.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var set string
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "__Host-licensor-console=") {
			set = v
		}
	}
	for _, want := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Domain=") {
		t.Errorf("session cookie %q has a Domain", set)
	}
}

func TestSignin(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"Unknown", "lsr_adm_nope", http.StatusUnauthorized},
		{"ContractToken", f.ContractToken, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, s)
			b.get("/console/signin")
			if code, body := b.post("/console/signin", url.Values{"token": {tc.token}}); code != tc.want || strings.Contains(body, `id="signout"`) {
				t.Fatalf("got %d, want %d", code, tc.want)
			}
		})
	}
	t.Run("NoCSRF", func(t *testing.T) {
		b := newBrowser(t, s)
		b.get("/console/signin")
		if code, _ := b.post("/console/signin", url.Values{"token": {f.AdminToken}, "csrf": {"forged"}}); code != http.StatusForbidden {
			t.Fatalf("got %d, want 403", code)
		}
	})
	t.Run("PagesNeedSession", func(t *testing.T) {
		b := newBrowser(t, s)
		b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := b.c.Get(s.URL + "/console/customers")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/signin" {
			t.Fatalf("got %d to %q, want 303 to /console/signin", resp.StatusCode, resp.Header.Get("Location"))
		}
		if code, _ := b.post("/console/customers", url.Values{"name": {"x"}}); code != http.StatusUnauthorized {
			t.Fatalf("post without session: got %d, want 401", code)
		}
	})
}

// TestCSRF: every form of a signed-in session is refused without the
// session's token, and nothing changes.
func TestCSRF(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	b := newBrowser(t, s)
	b.signin(f.AdminToken)
	for _, tc := range []struct{ name, csrf string }{{"Missing", ""}, {"Forged", "AAAA"}} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"name": {"Mallory Corp"}}
			if tc.csrf != "" {
				form.Set("csrf", tc.csrf)
			} else {
				form["csrf"] = nil
			}
			if code, _ := b.post("/console/customers", form); code != http.StatusForbidden {
				t.Fatalf("got %d, want 403", code)
			}
		})
	}
	t.Run("OtherSite", func(t *testing.T) {
		b.get("/console/customers")
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/console/customers", strings.NewReader(url.Values{"name": {"Mallory Corp"}, "csrf": {b.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if code, _ := b.read(b.c.Do(req)); code != http.StatusForbidden {
			t.Fatalf("got %d, want 403", code)
		}
	})
	_, body := b.get("/console/customers")
	if strings.Contains(body, "Mallory") {
		t.Fatal("a refused form created a customer")
	}
	// Another session's token is not this session's.
	other := newBrowser(t, s)
	other.signin(f.AdminToken)
	b.get("/console/customers")
	if code, _ := b.post("/console/customers", url.Values{"name": {"Mallory Corp"}, "csrf": {other.csrf}}); code != http.StatusForbidden {
		t.Fatalf("another session's token: got %d, want 403", code)
	}
}

// TestSessionRevocation: sign-out ends the session; revoking the token it
// signed in with ends every session of that token, whichever way the token
// was revoked.
func TestSessionRevocation(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	b := newBrowser(t, s)
	b.signin(f.AdminToken)
	b.post("/console/signout", nil)
	if code, body := b.get("/console/customers"); code != http.StatusOK || !strings.Contains(body, `id="token"`) {
		t.Fatalf("after sign-out: got %d, want the sign-in page", code)
	}

	// A second admin token, signed in twice, revoked over the admin API.
	op := licensor.WithActor(context.Background(), licensor.Actor{Role: licensor.RoleOperator, TokenID: "test"})
	tok, secret, err := s.Service.CreateToken(op, f.TenantID, licensor.Token{Role: licensor.RoleAdmin, Name: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	b1, b2 := newBrowser(t, s), newBrowser(t, s)
	b1.signin(secret)
	b2.signin(secret)
	if _, err := s.Service.RevokeToken(op, f.TenantID, tok.ID); err != nil {
		t.Fatal(err)
	}
	for i, x := range []*browser{b1, b2} {
		if _, body := x.get("/console/customers"); !strings.Contains(body, `id="token"`) {
			t.Fatalf("session %d still open after its token was revoked", i)
		}
	}

	// Revoked from the console itself, by another session.
	_, secret3, err := s.Service.CreateToken(op, f.TenantID, licensor.Token{Role: licensor.RoleAdmin, Name: "staff 2"})
	if err != nil {
		t.Fatal(err)
	}
	victim := newBrowser(t, s)
	victim.signin(secret3)
	adm := newBrowser(t, s)
	adm.signin(f.AdminToken)
	_, body := adm.get("/console/tokens")
	id := tokenIDFor(t, body, "staff 2")
	if code, _ := adm.post("/console/tokens/"+id+"/revoke", nil); code != http.StatusOK {
		t.Fatalf("revoke: got %d", code)
	}
	if _, body := victim.get("/console/"); !strings.Contains(body, `id="token"`) {
		t.Fatal("session still open after its token was revoked in the console")
	}
}

func tokenIDFor(t *testing.T, page, name string) string {
	t.Helper()
	for _, row := range strings.Split(page, "<tr>") {
		if strings.Contains(row, "<td>"+name+"</td>") {
			if i := strings.Index(row, "<code>"); i >= 0 {
				return row[i+6 : i+6+strings.Index(row[i+6:], "</code>")]
			}
		}
	}
	t.Fatalf("no token named %q on the page", name)
	return ""
}

// TestTenantIsolation: an admin of one tenant who edits ids in URLs and
// forms reaches nothing of another tenant.
func TestTenantIsolation(t *testing.T) {
	s := testserver.Start(t)
	mine := s.NewFixture(t, testserver.FixtureOptions{})
	theirs := s.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
	ctx := context.Background()
	getLicense(t, s, theirs.ContractToken, theirs.ContractID, "their-box")
	b := newBrowser(t, s)
	b.signin(mine.AdminToken)
	for _, path := range []string{
		"/console/contracts/" + theirs.ContractID,
		"/console/instances?contract=" + theirs.ContractID,
		"/console/telemetry?contract=" + theirs.ContractID,
	} {
		if code, body := b.get(path); code != http.StatusNotFound || strings.Contains(body, "their-box") {
			t.Errorf("GET %s: got %d, want 404", path, code)
		}
	}
	b.get("/console/")
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/console/contracts/" + theirs.ContractID + "/end", nil},
		{"/console/contracts/" + theirs.ContractID + "/status", url.Values{"status": {"suspended"}}},
		{"/console/contracts/" + theirs.ContractID + "/tokens", url.Values{"name": {"stolen"}}},
		{"/console/instances/release", url.Values{"contract": {theirs.ContractID}, "instance": {"their-box"}}},
		{"/console/tenant", url.Values{"tenant": {theirs.TenantID}}},
	} {
		if code, _ := b.post(tc.path, tc.form); code != http.StatusNotFound && code != http.StatusForbidden {
			t.Errorf("POST %s: got %d, want 404 or 403", tc.path, code)
		}
	}
	op := licensor.WithActor(ctx, licensor.Actor{Role: licensor.RoleOperator, TokenID: "test"})
	c, err := s.Service.GetContract(op, theirs.TenantID, theirs.ContractID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != licensor.ContractActive || c.SeatsUsed != 1 {
		t.Fatalf("their contract: status %s, seats %d; want active with 1 seat", c.Status, c.SeatsUsed)
	}
}

func getLicense(t testing.TB, s *testserver.Server, token, contract, instance string) {
	t.Helper()
	getLicenseAt(t, s, token, contract, instance, "")
}

// getLicenseAt fetches a license for an instance that reports version (if
// not empty) in its telemetry.
func getLicenseAt(t testing.TB, s *testserver.Server, token, contract, instance, version string) {
	t.Helper()
	req := &v1.GetLicenseRequest{ContractId: contract, InstanceId: instance}
	if version != "" {
		req.Telemetry = &v1.Telemetry{ProductVersion: version, Environment: "production"}
	}
	_, err := s.License(testserver.GRPC, token).GetLicense(context.Background(), connect.NewRequest(req))
	if err != nil {
		t.Fatalf("GetLicense %s: %v", instance, err)
	}
}
