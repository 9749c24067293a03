package client

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// connectProxy is an HTTPS proxy (CONNECT) that sends every tunnel to
// target whatever host was asked, and remembers what was asked.
func connectProxy(t *testing.T, target string) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var asked []string
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		mu.Lock()
		asked = append(asked, r.Host)
		mu.Unlock()
		up, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		if _, err := conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
			conn.Close()
			up.Close()
			return
		}
		go func() { _, _ = io.Copy(up, rw.Reader); up.Close() }()
		_, _ = io.Copy(conn, up)
		conn.Close()
	}))
	t.Cleanup(p.Close)
	return p, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), asked...) }
}

// TestProxyFromEnvironment: HTTPS_PROXY is honoured and NO_PROXY exempts a
// host. The test server's certificate covers *.example.com, so the client
// can ask for licensor.example.com and the proxy tunnels it to the server.
func TestProxyFromEnvironment(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{})
	proxy, asked := connectProxy(t, e.srv.Addr())
	_, port, _ := net.SplitHostPort(e.srv.Addr())
	server := "https://licensor.example.com:" + port

	t.Run("HTTPS_PROXY", func(t *testing.T) {
		t.Setenv("HTTPS_PROXY", proxy.URL)
		t.Setenv("NO_PROXY", "")
		cfg := e.config(t, "node-1", "")
		cfg.Server = server
		c := newClient(t, cfg)
		if err := c.Refresh(context.Background()); err != nil {
			t.Fatalf("through the proxy: %v", err)
		}
		if got := asked(); len(got) == 0 || got[0] != "licensor.example.com:"+port {
			t.Errorf("proxy was asked for %v, want licensor.example.com:%s", got, port)
		}
	})
	t.Run("NO_PROXY", func(t *testing.T) {
		t.Setenv("HTTPS_PROXY", proxy.URL)
		t.Setenv("NO_PROXY", ".example.com")
		before := len(asked())
		cfg := e.config(t, "node-1", "")
		cfg.Server, cfg.Timeout = server, 2*time.Second
		c := newClient(t, cfg)
		if err := c.Refresh(context.Background()); err == nil {
			t.Fatal("got a license for a host that does not resolve, want an error")
		}
		if n := len(asked()) - before; n != 0 {
			t.Errorf("proxy used %d times for a NO_PROXY host", n)
		}
	})
}

// TestFetchedJWKS: without pinned keys the client fetches the tenant's
// JWKS, caches it, verifies a cached license offline with it, and fetches
// it again after a key rotation.
func TestFetchedJWKS(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{})
	dir := t.TempDir()
	cfg := e.config(t, "node-1", dir)
	cfg.Keys = nil
	c := newClient(t, cfg)
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start with a fetched JWKS: %v", err)
	}
	oldKid := tokenKid(c.License().Token)

	adm := e.srv.Admin(testserver.GRPC, e.f.AdminToken)
	if _, err := adm.RotateSigningKey(context.Background(), connect.NewRequest(&v1.RotateSigningKeyRequest{ActivateAfter: durationpb.New(0), Force: true})); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	e.clock.Advance(2 * time.Minute) // past the JWKS refetch limit
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatalf("refresh after a rotation: %v", err)
	}
	if kid := tokenKid(c.License().Token); kid == oldKid {
		t.Fatalf("kid after rotation: got the old %q", kid)
	}
	c.Close()

	e.gate.Down()
	offline := newClient(t, cfg)
	if err := offline.Start(context.Background()); err != nil || offline.Status().Source != SourceCache {
		t.Fatalf("offline start with the cached JWKS: got %v from %q, want licensed from cache", err, offline.Status().Source)
	}
}

// TestPermits: a perpetual-fallback license, after the contract ended,
// licenses releases up to the end and no later; the decision is offline.
func TestPermits(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{EndsIn: day, Fallback: "perpetual"})
	end := e.clock.Now().Add(day)
	c := newClient(t, e.config(t, "node-1", t.TempDir()))
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); st.Fallback || !c.Permits(end.AddDate(5, 0, 0)) {
		t.Fatalf("during the contract: fallback=%v, want any release permitted", st.Fallback)
	}
	if !c.PermitsVersion("9.0", nil) {
		t.Errorf("during the contract: an unknown version should be permitted")
	}

	e.clock.Advance(2 * day)
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatalf("refresh after the end: %v", err)
	}
	st := c.Status()
	if !st.Fallback || !st.FallbackCutoff.Equal(end.Truncate(time.Second)) {
		t.Fatalf("got fallback=%v cutoff %v, want a fallback license with cutoff %v", st.Fallback, st.FallbackCutoff, end)
	}
	releases := map[string]time.Time{"4.1": end.Add(-30 * day), "4.2": end.Add(10 * day)}
	cases := []struct {
		version string
		want    bool
	}{{"4.1", true}, {"4.2", false}, {"5.0-unknown", false}}
	for _, tc := range cases {
		if got := c.PermitsVersion(tc.version, releases); got != tc.want {
			t.Errorf("PermitsVersion(%s): got %v, want %v", tc.version, got, tc.want)
		}
	}
	if c.Permits(end.Add(time.Hour)) || !c.Permits(end.Add(-time.Hour)) {
		t.Errorf("Permits around the cutoff: got %v/%v, want false/true", c.Permits(end.Add(time.Hour)), c.Permits(end.Add(-time.Hour)))
	}
}

// TestBackoff: the retry delay grows, stays within [MinBackoff, MaxBackoff],
// is jittered over the full range, and a server hint is a floor.
func TestBackoff(t *testing.T) {
	for _, r := range []float64{0, 0.5, 0.999} {
		c := &Client{cfg: Config{MinBackoff: time.Second, MaxBackoff: 5 * time.Minute, Rand: func() float64 { return r }}}
		for n := 1; n <= 40; n++ {
			d := c.backoff(n, 0)
			if d < time.Second || d > 5*time.Minute {
				t.Errorf("rand %v retry %d: got %v, want within [1s, 5m]", r, n, d)
			}
		}
		if d := c.backoff(3, 30*time.Second); d < 30*time.Second || d > 33*time.Second {
			t.Errorf("rand %v with a 30s hint: got %v, want 30s..33s", r, d)
		}
		if d := c.backoff(1, 48*time.Hour); d > MaxRetryHint+MaxRetryHint/10 {
			t.Errorf("rand %v with a 2-day hint: got %v, want capped near %v", r, d, MaxRetryHint)
		}
		if j := c.jitter(2 * time.Hour); j < 108*time.Minute || j > 132*time.Minute {
			t.Errorf("rand %v jitter of 2h: got %v, want ±10%%", r, j)
		}
	}
	c := &Client{cfg: Config{MinBackoff: time.Second, MaxBackoff: 5 * time.Minute, Rand: func() float64 { return 0.999 }}}
	if a, b := c.backoff(2, 0), c.backoff(6, 0); b <= a {
		t.Errorf("back-off does not grow: retry 2 %v, retry 6 %v", a, b)
	}
}

// TestConfigErrors: New refuses a config it cannot work with, saying what
// is missing.
func TestConfigErrors(t *testing.T) {
	keys := testKeys(t).set
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"NoContract", Config{Server: "https://x", Token: "t", Keys: keys}, "ContractID"},
		{"NoToken", Config{Server: "https://x", ContractID: "c", Keys: keys}, "Token"},
		{"NoKeys", Config{Server: "https://x", ContractID: "c", Token: "t"}, "Keys"},
		{"NothingToRunOn", Config{ContractID: "c", Keys: keys}, "offline"},
		{"BadInstance", Config{Server: "https://x", ContractID: "c", Token: "t", Keys: keys, InstanceID: "a b"}, "instance id"},
		{"BadProtocol", Config{Server: "https://x", ContractID: "c", Token: "t", Keys: keys, Protocol: "smoke"}, "protocol"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// TestInstanceIDPersisted: a generated instance id survives a restart.
func TestInstanceIDPersisted(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Server: "https://x", ContractID: "con_1", Token: "t", Keys: testKeys(t).set, CacheDir: dir}
	a := newClient(t, cfg)
	b := newClient(t, cfg)
	if a.InstanceID() == "" || a.InstanceID() != b.InstanceID() {
		t.Errorf("instance ids: got %q and %q, want one persisted id", a.InstanceID(), b.InstanceID())
	}
}

// BenchmarkVerify is the offline verification a client does for every
// license it receives or loads: signature, header, claims, sub and contract.
func BenchmarkVerify(b *testing.B) {
	k := testKeys(b)
	token := k.sign(b, testClaims(time.Now()))
	v := verifier{contractID: "con_1", instanceID: "node-1", tenantID: "ten_1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.check(token, k.set); err != nil {
			b.Fatal(err)
		}
	}
}
