package client

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testlog"
	"github.com/licensor/licensor/internal/testserver"
)

// extend extends the fixture's contract by 30 days through the admin API.
func (e *env) extend(t *testing.T) {
	t.Helper()
	adm := e.srv.Admin(testserver.GRPC, e.f.AdminToken)
	_, err := adm.ExtendContract(context.Background(), connect.NewRequest(&v1.ExtendContractRequest{
		ContractId: e.f.ContractID, ExtendBy: durationpb.New(30 * day)}))
	if err != nil {
		t.Fatalf("extend: %v", err)
	}
}

// TestExtensionOverStream: with a WatchLicense stream open, an extension
// arrives while the next poll is hours away.
func TestExtensionOverStream(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{EndsIn: 10 * day})
	cfg := e.config(t, "node-1", t.TempDir())
	cfg.Watch = true
	c := newClient(t, cfg)
	ev := record(c)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ev.change, "first OnChange")
	before := c.License().Claims
	eventually(t, "the stream delivers its first license", func() bool { return c.License().Source == SourceStream })

	e.extend(t)
	l := waitFor(t, ev.change, "OnChange with the extension")
	if l.Source != SourceStream || l.Claims.ContractVersion <= before.ContractVersion || l.Claims.Expiry <= before.Expiry {
		t.Fatalf("got source %q version %d exp %d, want stream, version > %d, exp > %d",
			l.Source, l.Claims.ContractVersion, l.Claims.Expiry, before.ContractVersion, before.Expiry)
	}
	if got := c.Remaining(); got != 14*day {
		t.Errorf("Remaining after the extension: got %v, want 14 days (was 10)", got)
	}
	if st := c.Status(); !st.NextAttempt.After(e.clock.Now().Add(time.Hour)) {
		t.Errorf("next poll: got %v, want hours away", st.NextAttempt)
	}
}

// TestExtensionOnNextRefresh: without a stream, the next scheduled refresh
// (2 h ± 10%) brings the extension.
func TestExtensionOnNextRefresh(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{EndsIn: 10 * day})
	c := newClient(t, e.config(t, "node-1", t.TempDir()))
	ev := record(c)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ev.change, "first OnChange")
	wait := e.clock.nextWait(t)
	if wait < 108*time.Minute || wait > 132*time.Minute {
		t.Fatalf("refresh in %v, want 2h ± 10%%", wait)
	}
	e.extend(t)
	if c.License().Claims.ContractVersion != 1 {
		t.Fatal("the extension arrived without a refresh")
	}
	e.clock.step(t, wait)
	l := waitFor(t, ev.change, "OnChange with the extension")
	if l.Claims.ContractVersion != 2 || c.Remaining() < 14*day-time.Second {
		t.Errorf("got version %d remaining %v, want 2 and 14 days", l.Claims.ContractVersion, c.Remaining())
	}
	// A routine refresh that changes nothing is not a change.
	e.clock.step(t, 3*time.Hour)
	if len(ev.change) != 0 {
		t.Errorf("OnChange fired for a routine refresh")
	}
}

// TestTelemetry: what Config.Telemetry returns reaches the wire.
func TestTelemetry(t *testing.T) {
	var mu sync.Mutex
	var got *v1.Telemetry
	url, pool := fakeServer(t, fakeLicenseHandler(func(_ context.Context, req *v1.GetLicenseRequest) (*v1.GetLicenseResponse, error) {
		mu.Lock()
		got = req.GetTelemetry()
		mu.Unlock()
		return nil, connect.NewError(connect.CodeUnavailable, nil)
	}))
	tel := Telemetry{ProductVersion: "4.2.0", RuntimeVersions: map[string]string{"go": "1.26"}, Environment: "production",
		ServerHost: "shop.example.com", ServerIP: "10.0.0.7", ServerPort: 443, AppName: "shop",
		Usage: map[string]int64{"resources_count": 42}, Labels: map[string]string{"region": "eu"}}
	for _, p := range []Protocol{GRPC, Connect} {
		t.Run(string(p), func(t *testing.T) {
			c := newClient(t, Config{Server: url, ContractID: "con_1", Token: "t", InstanceID: "node-1", Keys: testKeys(t).set,
				RootCAs: pool, Protocol: p, Telemetry: func() Telemetry { return tel }})
			_ = c.Refresh(context.Background())
			want := &v1.Telemetry{ProductVersion: "4.2.0", RuntimeVersions: map[string]string{"go": "1.26"}, Environment: "production",
				ServerHost: "shop.example.com", ServerIp: "10.0.0.7", ServerPort: 443, AppName: "shop",
				Usage: map[string]int64{"resources_count": 42}, Labels: map[string]string{"region": "eu"}}
			mu.Lock()
			defer mu.Unlock()
			if !proto.Equal(got, want) {
				t.Errorf("telemetry on the wire: got %v, want %v", got, want)
			}
		})
	}
}

// TestApplicationFuncsThatPanic: Config.Telemetry and Config.Proxy are the
// application's code, run on the client's goroutines. A panic in either
// is the client's error, never the end of the application: a Telemetry
// that panics sends the check without telemetry (and is logged), a Proxy
// that panics fails the connection as an unreachable proxy would.
func TestApplicationFuncsThatPanic(t *testing.T) {
	var mu sync.Mutex
	calls, withTelemetry := 0, 0
	url, pool := fakeServer(t, fakeLicenseHandler(func(_ context.Context, req *v1.GetLicenseRequest) (*v1.GetLicenseResponse, error) {
		mu.Lock()
		calls++
		if req.GetTelemetry() != nil {
			withTelemetry++
		}
		mu.Unlock()
		return nil, connect.NewError(connect.CodeUnavailable, nil)
	}))
	logger, logs := testlog.New(slog.LevelError)
	c := newClient(t, Config{Server: url, ContractID: "con_1", Token: "t", InstanceID: "node-1", Keys: testKeys(t).set,
		RootCAs: pool, Logger: logger, Telemetry: func() Telemetry { panic("a bug") }})
	_ = c.Refresh(context.Background())
	mu.Lock()
	if calls != 1 || withTelemetry != 0 {
		t.Errorf("checks sent: %d, %d with telemetry; want 1 without", calls, withTelemetry)
	}
	mu.Unlock()
	if out := logs.String(); !strings.Contains(out, "Config.Telemetry panicked") {
		t.Errorf("the panic is not logged; log:\n%s", out)
	}

	p := newClient(t, Config{Server: url, ContractID: "con_1", Token: "t", InstanceID: "node-2", Keys: testKeys(t).set,
		RootCAs: pool, Proxy: func(*http.Request) (*neturl.URL, error) { panic("a bug") }})
	if err := p.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "Config.Proxy panicked") {
		t.Errorf("Refresh through a Proxy that panics: got %v, want an error naming it", err)
	}
}

// TestLazyCheck: the first Check fetches; later ones do not wait; the
// background cadence is 6 hours ± 10%; the middleware passes the status on.
func TestLazyCheck(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{})
	c := newClient(t, e.config(t, "https://shop.example.com", t.TempDir()))
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("first Check: %v", err)
	}
	wait := e.clock.nextWait(t)
	if wait < 324*time.Minute || wait > 396*time.Minute {
		t.Errorf("lazy cadence: got %v, want 6h ± 10%%", wait)
	}
	e.gate.Down() // a held license needs no network
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := c.Check(context.Background()); err != nil {
				t.Errorf("Check with a license held: %v", err)
			}
		})
	}
	wg.Wait()

	var seen Status
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = StatusFromContext(r.Context())
	}))
	h.ServeHTTP(nopWriter{}, mustRequest(t))
	if seen.State != Valid {
		t.Errorf("status in the request context: got %v, want valid", seen.State)
	}
}

// TestCacheFile: the cache file is JSON with the token and
// the newest server time, written with mode 0600.
func TestCacheFile(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{})
	c := newClient(t, e.config(t, "node-1", t.TempDir()))
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(c.cachePath())
	if err != nil {
		t.Fatal(err)
	}
	var s cacheSnapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Token != c.License().Token || !s.ServerTime.Equal(e.clock.Now()) {
		t.Errorf("cache: got server_time %v, want %v and the token", s.ServerTime, e.clock.Now())
	}
	fi, _ := os.Stat(c.cachePath())
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cache mode: got %v, want 0600", fi.Mode().Perm())
	}
}

type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

func mustRequest(t *testing.T) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
