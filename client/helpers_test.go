package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/testlog"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

// fakeClock is the server's fake clock plus timers that fire when the clock
// is advanced past them, so a test moves days in microseconds and knows
// when the client has gone back to sleep (each After call is reported).
type fakeClock struct {
	*testserver.Clock
	mu      sync.Mutex
	waiters []fakeWaiter
	waits   chan time.Duration
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(c *testserver.Clock) *fakeClock {
	return &fakeClock{Clock: c, waits: make(chan time.Duration, 1024)}
}

func (f *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	f.mu.Lock()
	f.waiters = append(f.waiters, fakeWaiter{at: f.Now().Add(d), ch: ch})
	f.mu.Unlock()
	f.waits <- d
	return ch
}

// Advance moves the clock and fires every timer now due.
func (f *fakeClock) Advance(d time.Duration) {
	f.Clock.Advance(d)
	now := f.Now()
	f.mu.Lock()
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if w.at.After(now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- now
	}
	f.waiters = kept
	f.mu.Unlock()
}

// drainWaits forgets the sleeps reported so far.
func (f *fakeClock) drainWaits() {
	for {
		select {
		case <-f.waits:
		default:
			return
		}
	}
}

// nextWait waits until the client goes to sleep again and returns for how long.
func (f *fakeClock) nextWait(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-f.waits:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not go back to sleep within 10s")
		return 0
	}
}

// step advances the clock and waits for the client's loop to act and sleep again.
func (f *fakeClock) step(t *testing.T, d time.Duration) time.Duration {
	t.Helper()
	f.drainWaits()
	f.Advance(d)
	return f.nextWait(t)
}

// gate is a TCP forwarder in front of the server that can be taken down
// (connections refused, open ones cut) and brought back on the same port.
type gate struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]struct{}
}

func newGate(t *testing.T, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	g.serve(ln)
	t.Cleanup(g.Down)
	return g
}

func (g *gate) serve(ln net.Listener) {
	g.mu.Lock()
	g.ln = ln
	g.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go g.pipe(c)
		}
	}()
}

func (g *gate) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln == nil {
		c.Close()
		return false
	}
	g.conns[c] = struct{}{}
	return true
}

func (g *gate) pipe(c net.Conn) {
	if !g.track(c) {
		return
	}
	d, err := net.Dial("tcp", g.target)
	if err != nil {
		c.Close()
		return
	}
	if !g.track(d) {
		c.Close()
		return
	}
	go func() { _, _ = io.Copy(d, c); d.Close() }()
	_, _ = io.Copy(c, d)
	c.Close()
}

// Down refuses new connections and cuts open ones.
func (g *gate) Down() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln != nil {
		g.ln.Close()
		g.ln = nil
	}
	for c := range g.conns {
		c.Close()
	}
	clear(g.conns)
}

// Up listens again on the same address.
func (g *gate) Up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", g.addr)
	if err != nil {
		t.Fatalf("gate up: %v", err)
	}
	g.serve(ln)
}

// env is a running server, a fixture, its pinned keys and a fake clock.
type env struct {
	srv   *testserver.Server
	f     *testserver.Fixture
	keys  license.KeySet
	clock *fakeClock
	gate  *gate
	logs  *testlog.Buffer
}

func newEnv(t *testing.T, o testserver.FixtureOptions) *env {
	t.Helper()
	srv := testserver.Start(t)
	f := srv.NewFixture(t, o)
	e := &env{srv: srv, f: f, clock: newFakeClock(srv.Clock), logs: &testlog.Buffer{}}
	e.keys = fetchKeys(t, srv, f.TenantID)
	e.gate = newGate(t, srv.Addr())
	return e
}

func fetchKeys(t *testing.T, srv *testserver.Server, tenant string) license.KeySet {
	t.Helper()
	res, err := srv.HTTPClient().Get(srv.URL + "/.well-known/jwks.json?tenant=" + tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	keys, err := license.ParseJWKS(b)
	if err != nil {
		t.Fatalf("jwks: %v", err)
	}
	return keys
}

// config is a client config through the gate with pinned keys, the fake
// clock and a cache dir.
func (e *env) config(t *testing.T, instance, cacheDir string) Config {
	return Config{
		Server: "https://" + e.gate.addr, ContractID: e.f.ContractID, Token: e.f.ContractToken,
		InstanceID: instance, Keys: e.keys, TenantID: e.f.TenantID, CacheDir: cacheDir,
		RootCAs: e.srv.CAPool, Now: e.clock.Now, After: e.clock.After,
		Logger: slogTo(e.logs),
	}
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// events counts what the client reported.
type events struct {
	change  chan *License
	soon    chan time.Duration
	expired chan struct{}
	errs    chan error
}

func record(c *Client) *events {
	ev := &events{change: make(chan *License, 100), soon: make(chan time.Duration, 100), expired: make(chan struct{}, 100), errs: make(chan error, 100)}
	c.OnChange(func(l *License) { ev.change <- l })
	c.OnExpiringSoon(func(d time.Duration) { ev.soon <- d })
	c.OnExpired(func() { ev.expired <- struct{}{} })
	c.OnError(func(err error) { ev.errs <- err })
	return ev
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
		var zero T
		return zero
	}
}

// eventually waits for cond with a generous deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// serverLicense fetches a real license from the server for instance.
func (e *env) serverLicense(t *testing.T, contractID, token, instance string) string {
	t.Helper()
	lc := e.srv.License(testserver.GRPC, token)
	res, err := lc.GetLicense(context.Background(), connect.NewRequest(&v1.GetLicenseRequest{ContractId: contractID, InstanceId: instance}))
	if err != nil {
		t.Fatalf("GetLicense: %v", err)
	}
	return res.Msg.License.Token
}

// fakeServer serves h (a LicenseService, or any handler) over TLS with
// HTTP/2 and returns its URL and a pool that trusts it.
func fakeServer(t *testing.T, h http.Handler) (string, *x509.CertPool) {
	t.Helper()
	hs := httptest.NewUnstartedServer(h)
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)
	pool := x509.NewCertPool()
	pool.AddCert(hs.Certificate())
	return hs.URL, pool
}

// fakeLicenseService answers GetLicense with get and WatchLicense with an
// unimplemented error.
type fakeLicenseService struct {
	licensorv1connect.UnimplementedLicenseServiceHandler
	get func(context.Context, *v1.GetLicenseRequest) (*v1.GetLicenseResponse, error)
}

func (f *fakeLicenseService) GetLicense(ctx context.Context, req *connect.Request[v1.GetLicenseRequest]) (*connect.Response[v1.GetLicenseResponse], error) {
	res, err := f.get(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(res), nil
}

func fakeLicenseHandler(get func(context.Context, *v1.GetLicenseRequest) (*v1.GetLicenseResponse, error)) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(licensorv1connect.NewLicenseServiceHandler(&fakeLicenseService{get: get}))
	return mux
}

func tempFile(t *testing.T, name string) string { return filepath.Join(t.TempDir(), name) }

// localKey is a vendor key made in the test, for licenses signed offline.
type localKey struct {
	signer *signing.Signer
	priv   ed25519.PrivateKey
	set    license.KeySet
}

func testKeys(t testing.TB) localKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewSigner("key-1", priv)
	if err != nil {
		t.Fatal(err)
	}
	return localKey{signer: s, priv: priv, set: license.KeySet{"key-1": pub}}
}

// testClaims are valid claims for con_1/node-1 from now for 14 days.
func testClaims(now time.Time) *licensor.Claims {
	return &licensor.Claims{
		Issuer: "ten_1", Subject: "node-1", ID: "lic_1", IssuedAt: now.Unix(), NotBefore: now.Unix(),
		Expiry: now.Add(14 * 24 * time.Hour).Unix(), Contract: "con_1", Customer: "cus_1",
		Features: map[string]any{"solver": 50, "reporting": true}, RefreshAfter: 7200, FallbackRule: licensor.FallbackNone, Kind: licensor.LicenseKindLive,
	}
}

func (k localKey) sign(t testing.TB, c *licensor.Claims) string {
	t.Helper()
	tok, err := k.signer.SignLicense(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
