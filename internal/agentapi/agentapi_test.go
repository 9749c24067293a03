package agentapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/agentapi"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

// env is a real server, a fixture with a pool, and the agent's API over a
// started client.
type env struct {
	srv  *testserver.Server
	f    *testserver.Fixture
	keys license.KeySet
	c    *client.Client
	api  *agentapi.Server
}

func fetchKeys(t *testing.T, srv *testserver.Server, tenant string) license.KeySet {
	t.Helper()
	res, err := srv.HTTPClient().Get(srv.URL + licensor.JWKSPath + "?tenant=" + tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	keys, err := license.ParseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := testserver.Start(t)
	f := srv.NewFixture(t, testserver.FixtureOptions{})
	_, err := srv.Admin(testserver.GRPC, f.AdminToken).CreatePool(context.Background(), connect.NewRequest(&v1.CreatePoolRequest{
		CustomerId: f.CustomerID, Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: 10}, {Feature: "gpu-export", MaxUnits: 2}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{srv: srv, f: f, keys: fetchKeys(t, srv, f.TenantID)}
	tel := &agentapi.TelemetryStore{}
	e.c, err = client.New(client.Config{Server: srv.URL, ContractID: f.ContractID, Token: f.ContractToken, InstanceID: "agent-1",
		Keys: e.keys, TenantID: f.TenantID, RootCAs: srv.CAPool, Now: srv.Clock.Now, Telemetry: tel.Get, Protocol: client.Connect})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.c.Close() })
	if err := e.c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.api = agentapi.New(agentapi.Config{Client: e.c, Telemetry: tel})
	return e
}

// serve serves the API on ln and returns a client that reaches it and the
// base URL to use.
func serve(t *testing.T, h http.Handler, ln net.Listener) (*http.Client, string) {
	t.Helper()
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	if ln.Addr().Network() == "unix" {
		path := ln.Addr().String()
		return &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}}}, "http://agent"
	}
	return &http.Client{Timeout: time.Minute}, "http://" + ln.Addr().String()
}

// transports are the two ways the agent listens.
func transports(t *testing.T) map[string]string {
	return map[string]string{"TCP": "127.0.0.1:0", "Unix": "unix:" + filepath.Join(t.TempDir(), "agent.sock")}
}

type caller struct {
	t    *testing.T
	hc   *http.Client
	base string
}

// do sends a request (body: a value to encode, a string sent as is, or
// nil) and decodes the JSON answer into out if given.
func (c caller) do(method, path string, body any, out any) (int, http.Header) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, b)
		}
	}
	return res.StatusCode, res.Header
}

type errBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Stage     string `json:"stage"`
		Shortages []struct {
			Feature   string `json:"feature"`
			Available int64  `json:"available"`
		} `json:"shortages"`
	} `json:"error"`
}

type leaseBody struct {
	ID        string           `json:"id"`
	Units     map[string]int64 `json:"units"`
	ExpiresAt time.Time        `json:"expires_at"`
	Token     string           `json:"token"`
	Borrowed  bool             `json:"borrowed"`
}

// TestAgentAPI walks every operation against a real server, over TCP and a
// Unix socket.
func TestAgentAPI(t *testing.T) {
	for name, addr := range transports(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			ln, err := agentapi.Listen(addr)
			if err != nil {
				t.Fatal(err)
			}
			hc, base := serve(t, e.api, ln)
			c := caller{t: t, hc: hc, base: base}

			var doc agentapi.Document
			if code, _ := c.do("GET", "/v1/license", nil, &doc); code != 200 || !doc.Status.Licensed || doc.InstanceID != "agent-1" {
				t.Fatalf("GET /v1/license: got %d %+v, want 200 and licensed", code, doc.Status)
			}
			if _, err := license.Verify(doc.Token, e.keys, license.VerifyOptions{Now: e.srv.Clock.Now()}); err != nil {
				t.Errorf("the license served does not verify: %v", err)
			}
			if code, _ := c.do("POST", "/v1/license/refresh", nil, &doc); code != 200 || !doc.Status.Licensed {
				t.Errorf("POST /v1/license/refresh: got %d %+v", code, doc.Status)
			}

			var pv struct {
				Available bool `json:"available"`
				Shortages []struct {
					Feature   string `json:"feature"`
					Available int64  `json:"available"`
				} `json:"shortages"`
			}
			solver := func(n int64) map[string]any {
				return map[string]any{"capabilities": []map[string]any{{"feature": "solver", "units": n}}}
			}
			if code, _ := c.do("POST", "/v1/capabilities/preview", solver(3), &pv); code != 200 || !pv.Available {
				t.Errorf("preview solver=3: got %d %+v, want available", code, pv)
			}
			if code, _ := c.do("POST", "/v1/capabilities/preview", solver(11), &pv); code != 200 || pv.Available || len(pv.Shortages) != 1 || pv.Shortages[0].Available != 10 {
				t.Errorf("preview solver=11: got %d %+v, want unavailable, 10 available", code, pv)
			}

			var l leaseBody
			code, h := c.do("POST", "/v1/leases", solver(3), &l)
			if code != 201 || l.Units["solver"] != 3 || h.Get("Location") != "/v1/leases/"+l.ID {
				t.Fatalf("checkout: got %d %+v (Location %q)", code, l, h.Get("Location"))
			}
			var cc licensor.CapabilityClaims
			if err := license.VerifyCapability(l.Token, e.keys, &cc); err != nil || cc.ID != l.ID || cc.Units["solver"] != 3 {
				t.Errorf("the lease's capability document: %v, claims %+v", err, cc)
			}
			var fs struct {
				Features []struct {
					Feature        string `json:"feature"`
					InUse          int64  `json:"in_use"`
					HeldByInstance int64  `json:"held_by_instance"`
				} `json:"features"`
			}
			if code, _ := c.do("GET", "/v1/features", nil, &fs); code != 200 {
				t.Errorf("GET /v1/features: got %d", code)
			}
			held := map[string]int64{}
			for _, f := range fs.Features {
				held[f.Feature] = f.HeldByInstance
			}
			if held["solver"] != 3 || held["gpu-export"] != 0 {
				t.Errorf("features held: got %v, want solver=3 gpu-export=0", held)
			}
			var eb errBody
			if code, _ := c.do("POST", "/v1/leases", solver(8), &eb); code != 409 || eb.Error.Code != "denied" || len(eb.Error.Shortages) != 1 || eb.Error.Shortages[0].Available != 7 {
				t.Errorf("checkout beyond the pool: got %d %+v, want 409 denied with 7 available", code, eb)
			}
			var ls struct {
				Leases []leaseBody `json:"leases"`
			}
			if code, _ := c.do("GET", "/v1/leases", nil, &ls); code != 200 || len(ls.Leases) != 1 || ls.Leases[0].ID != l.ID {
				t.Errorf("GET /v1/leases: got %d %+v, want the one lease", code, ls)
			}
			e.srv.Clock.Advance(time.Minute)
			var renewed leaseBody
			if code, _ := c.do("POST", "/v1/leases/"+l.ID+"/renew", nil, &renewed); code != 200 || !renewed.ExpiresAt.After(l.ExpiresAt) {
				t.Errorf("renew: got %d, expiry %s, want later than %s", code, renewed.ExpiresAt, l.ExpiresAt)
			}
			var got leaseBody
			if code, _ := c.do("GET", "/v1/leases/"+l.ID, nil, &got); code != 200 || got.ID != l.ID {
				t.Errorf("GET the lease: got %d %+v", code, got)
			}
			if code, _ := c.do("DELETE", "/v1/leases/"+l.ID, nil, nil); code != 204 {
				t.Errorf("return: got %d, want 204", code)
			}
			if code, _ := c.do("GET", "/v1/leases/"+l.ID, nil, &eb); code != 404 || eb.Error.Code != "not_found" {
				t.Errorf("GET a returned lease: got %d %+v, want 404 not_found", code, eb)
			}
			if code, _ := c.do("GET", "/v1/features", nil, &fs); code != 200 || fs.Features[0].InUse+fs.Features[1].InUse != 0 {
				t.Errorf("features after the return: got %d %+v, want nothing in use", code, fs)
			}

			var b leaseBody
			body := map[string]any{"capabilities": []map[string]any{{"feature": "gpu-export", "units": 1}}, "borrow_seconds": 48 * 3600}
			if code, _ := c.do("POST", "/v1/leases", body, &b); code != 201 || !b.Borrowed {
				t.Errorf("borrow: got %d %+v, want a borrowed lease", code, b)
			}

			var ta struct {
				Sent bool `json:"sent"`
			}
			tel := map[string]any{"product_version": "2.1.0", "environment": "production", "usage": map[string]int64{"resources_count": 42}}
			if code, _ := c.do("POST", "/v1/telemetry", tel, &ta); code != 202 || !ta.Sent {
				t.Fatalf("telemetry: got %d %+v, want 202 sent", code, ta)
			}
			inst, err := e.srv.Admin(testserver.GRPC, e.f.AdminToken).GetInstance(context.Background(),
				connect.NewRequest(&v1.GetInstanceRequest{ContractId: e.f.ContractID, InstanceId: "agent-1"}))
			if err != nil {
				t.Fatal(err)
			}
			if tm := inst.Msg.Instance.Telemetry; tm.GetUsage()["resources_count"] != 42 || tm.GetProductVersion() != "2.1.0" {
				t.Errorf("telemetry at the server: got %+v, want resources_count=42, 2.1.0", tm)
			}

			// Expiring soon: 8 of the license's 14 days later.
			var st agentapi.Status
			if code, _ := c.do("GET", "/v1/status", nil, &st); code != 200 || st.ExpiringSoon || st.State != client.Valid {
				t.Errorf("status: got %d %+v, want valid", code, st)
			}
			e.srv.Clock.Advance(8 * 24 * time.Hour)
			if code, _ := c.do("GET", "/v1/status", nil, &st); code != 200 || !st.ExpiringSoon || st.State != client.ExpiringSoon || st.ExpiringSoonSeconds != 7*24*3600 {
				t.Errorf("status 8 days later: got %d %+v, want expiring soon", code, st)
			}
		})
	}
}

// TestAgentAPIRefuses: every input is validated, and every refusal is a
// JSON error with a stable code.
func TestAgentAPIRefuses(t *testing.T) {
	e := newEnv(t)
	ln, err := agentapi.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hc, base := serve(t, e.api, ln)
	c := caller{t: t, hc: hc, base: base}
	big := `{"capabilities": [{"feature": "solver", "units": 1}], "x": "` + strings.Repeat("a", agentapi.MaxBodyBytes) + `"}`
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code, mention      string
	}{
		{"NotJSON", "POST", "/v1/leases", "{", 400, "invalid_argument", "JSON"},
		{"Empty", "POST", "/v1/leases", "", 400, "invalid_argument", "empty"},
		{"UnknownField", "POST", "/v1/leases", `{"capabilites": []}`, 400, "invalid_argument", "capabilites"},
		{"TwoObjects", "POST", "/v1/leases", `{"capabilities": [{"feature": "solver", "units": 1}]} {}`, 400, "invalid_argument", "more than one"},
		{"TooLarge", "POST", "/v1/leases", big, 413, "payload_too_large", "bytes"},
		{"NoCapabilities", "POST", "/v1/leases", `{"capabilities": []}`, 400, "invalid_argument", "at least one"},
		{"ZeroUnits", "POST", "/v1/leases", `{"capabilities": [{"feature": "solver", "units": 0}]}`, 400, "invalid_argument", "solver"},
		{"Twice", "POST", "/v1/leases", `{"capabilities": [{"feature": "solver", "units": 1}, {"feature": "solver", "units": 1}]}`, 400, "invalid_argument", "twice"},
		{"BadFeature", "POST", "/v1/capabilities/preview", `{"capabilities": [{"feature": "no spaces", "units": 1}]}`, 400, "invalid_argument", "feature"},
		{"NegativeBorrow", "POST", "/v1/leases", `{"capabilities": [{"feature": "solver", "units": 1}], "borrow_seconds": -1}`, 400, "invalid_argument", "borrow_seconds"},
		{"BorrowOnPreview", "POST", "/v1/capabilities/preview", `{"capabilities": [{"feature": "solver", "units": 1}], "borrow_seconds": 60}`, 400, "invalid_argument", "borrow_seconds"},
		{"UnknownFeature", "POST", "/v1/leases", `{"capabilities": [{"feature": "teleport", "units": 1}]}`, 400, "invalid_argument", "teleport"},
		{"BadEnvironment", "POST", "/v1/telemetry", `{"environment": "prod"}`, 400, "invalid_argument", "environment"},
		{"NegativeUsage", "POST", "/v1/telemetry", `{"usage": {"resources_count": -1}}`, 400, "invalid_argument", "resources_count"},
		{"BadPort", "POST", "/v1/telemetry", `{"server_port": 70000}`, 400, "invalid_argument", "server_port"},
		{"BadLeaseID", "GET", "/v1/leases/%20x", nil, 400, "invalid_argument", "lease id"},
		{"UnknownLease", "DELETE", "/v1/leases/lea_nope", nil, 404, "not_found", "lea_nope"},
		{"RenewWithBody", "POST", "/v1/license/refresh", `{"force": true}`, 400, "invalid_argument", "no body"},
		{"UnknownPath", "GET", "/v2/license", nil, 404, "not_found", "/openapi.json"},
		{"WrongMethod", "PUT", "/v1/leases", nil, 405, "method_not_allowed", "GET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var eb errBody
			code, _ := c.do(tc.method, tc.path, tc.body, &eb)
			if code != tc.status || eb.Error.Code != tc.code || !strings.Contains(eb.Error.Message, tc.mention) {
				t.Errorf("got %d %q %q, want %d %s mentioning %q", code, eb.Error.Code, eb.Error.Message, tc.status, tc.code, tc.mention)
			}
		})
	}
	t.Run("ContentType", func(t *testing.T) {
		res, err := hc.Post(base+"/v1/leases", "text/plain", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		var eb errBody
		_ = json.NewDecoder(res.Body).Decode(&eb)
		res.Body.Close()
		if res.StatusCode != 415 || eb.Error.Code != "unsupported_media_type" {
			t.Errorf("got %d %+v, want 415 unsupported_media_type", res.StatusCode, eb)
		}
	})
}

// TestAgentAPIServerDown: with the server unreachable, a refresh answers
// 503 unavailable with the stage that failed, and the license held is
// still served.
func TestAgentAPIServerDown(t *testing.T) {
	e := newEnv(t)
	e.srv.Close()
	ln, err := agentapi.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hc, base := serve(t, e.api, ln)
	c := caller{t: t, hc: hc, base: base}
	var eb errBody
	code, _ := c.do("POST", "/v1/license/refresh", nil, &eb)
	if code != 503 || eb.Error.Code != "unavailable" || eb.Error.Stage != "tcp" {
		t.Errorf("refresh with the server down: got %d %+v, want 503 unavailable at stage tcp", code, eb)
	}
	var doc agentapi.Document
	if code, _ := c.do("GET", "/v1/license", nil, &doc); code != 200 || !doc.Status.Licensed || doc.Status.LastError == "" {
		t.Errorf("license with the server down: got %d %+v, want still licensed with the last error", code, doc.Status)
	}
}

// TestListenRefusesNonLoopback: the API has no authentication, so it
// never listens beyond the machine.
func TestListenRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:7444", ":7444", "192.0.2.1:7444", "example.com:7444", "unix:", "nonsense"} {
		if ln, err := agentapi.Listen(addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%q): got a listener, want a refusal", addr)
		}
	}
}

// TestCloseReturnsLeases: when the agent stops, its leases go back to the
// pool at once; a borrowed one stays out, as borrowing means.
func TestCloseReturnsLeases(t *testing.T) {
	e := newEnv(t)
	ln, err := agentapi.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hc, base := serve(t, e.api, ln)
	c := caller{t: t, hc: hc, base: base}
	var l leaseBody
	if code, _ := c.do("POST", "/v1/leases", `{"capabilities": [{"feature": "solver", "units": 4}]}`, &l); code != 201 {
		t.Fatalf("checkout: got %d", code)
	}
	if code, _ := c.do("POST", "/v1/leases", `{"capabilities": [{"feature": "gpu-export", "units": 1}], "borrow_seconds": 3600}`, &l); code != 201 || !l.Borrowed {
		t.Fatalf("borrow: got %d %+v", code, l)
	}
	e.api.Close()
	fs, err := e.c.Features(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inUse := map[string]int64{}
	for _, f := range fs {
		inUse[f.Feature] = f.InUse
	}
	if inUse["solver"] != 0 || inUse["gpu-export"] != 1 {
		t.Errorf("in use after Close: got %v, want solver=0 (returned) gpu-export=1 (borrowed)", inUse)
	}
}

// TestNoTelemetryUntilReported: an agent nobody posted telemetry to sends
// none, so the server keeps no empty points for it.
func TestNoTelemetryUntilReported(t *testing.T) {
	e := newEnv(t)
	if err := e.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	inst, err := e.srv.Admin(testserver.GRPC, e.f.AdminToken).GetInstance(context.Background(),
		connect.NewRequest(&v1.GetInstanceRequest{ContractId: e.f.ContractID, InstanceId: "agent-1"}))
	if err != nil {
		t.Fatal(err)
	}
	if tm := inst.Msg.Instance.Telemetry; tm != nil {
		t.Errorf("telemetry at the server before any report: got %+v, want none", tm)
	}
}
