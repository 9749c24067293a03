// Package testserver starts the whole Licensor server in-process for tests,
// assembled by internal/app as serve assembles it: real SQLite in a temp
// dir, real TLS on 127.0.0.1:0 with HTTP/2, a fake clock, and helpers that create a ready tenant, product, customer,
// contract and tokens through the real API.
package testserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/console"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/app"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/tracing"
	"github.com/licensor/licensor/metrics"
	"github.com/licensor/licensor/notify"
	"github.com/licensor/licensor/server"
	"github.com/licensor/licensor/service"
	"github.com/licensor/licensor/store/sqlite"
)

// Clock is a fake clock safe for concurrent use, with timers that fire
// when Advance or Set moves it past them.
type Clock struct {
	mu     sync.Mutex
	t      time.Time
	timers []clockTimer
}

type clockTimer struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// After returns a channel that receives the clock's time once it has
// moved d past now (at once for d <= 0).
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.t
		return ch
	}
	c.timers = append(c.timers, clockTimer{at: c.t.Add(d), ch: ch})
	return ch
}

// Timers returns how many timers have not fired yet.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.setLocked(c.t.Add(d))
	c.mu.Unlock()
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.setLocked(t)
	c.mu.Unlock()
}

func (c *Clock) setLocked(t time.Time) {
	c.t = t
	keep := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(t) {
			keep = append(keep, tm)
			continue
		}
		tm.ch <- t
	}
	c.timers = keep
}

// Server is a running in-process server.
type Server struct {
	URL string
	// MetricsURL is the plain-HTTP metrics listener (/metrics, /healthz,
	// /readyz), on its own port as serve runs it: /metrics is never on URL.
	MetricsURL string
	// App is the server, assembled as serve assembles it; the fields below
	// are its parts.
	App           *app.App
	Server        *server.Server
	Service       *service.Service
	Store         licensor.Store
	Clock         *Clock
	OperatorToken string
	CAPool        *x509.CertPool
	// Cert is the server's TLS certificate (for a test that serves the
	// same service on a listener of its own).
	Cert tls.Certificate
	// CACertFile is the server certificate in PEM, for clients that read a file.
	CACertFile string
	Dir        string
	// Metrics is served on /metrics.
	Metrics *metrics.Metrics
	// Scanner and Dispatcher are always built (tests may call ScanOnce and
	// RunOnce); they run in the background only with Options.Notify.
	Scanner    *notify.Scanner
	Dispatcher *notify.Dispatcher

	closeOnce sync.Once
}

// Options tune Start.
type Options struct {
	// Start is the clock's initial time; default 2026-01-05 09:00 UTC.
	Start time.Time
	// Logger for the server; default: warnings and errors to the test log.
	Logger *slog.Logger
	// ClientAuth, if set, is the TLS client-auth mode (default: request).
	ClientAuth tls.ClientAuthType
	// Notify runs the alert scanner and the webhook dispatcher in the
	// background, polling every NotifyInterval (default 20ms of real time).
	Notify         bool
	NotifyInterval time.Duration
	// Dir, if set, is the data directory (database, master key), so that a
	// test can stop a server and start another on the same data.
	Dir string
	// OpenStore, if set, opens the server's store and its change feed (nil:
	// the in-process hub) instead of SQLite in Dir; Clock and Sealer, if
	// set, are shared: several servers on one database (a cluster).
	OpenStore func(t testing.TB) (licensor.Store, licensor.ChangeFeed)
	Clock     *Clock
	Sealer    *signing.Sealer
	// Configure, if set, adjusts the server's config before it is built
	// (a test's limiter, inner interceptors).
	Configure func(*server.Config)
	// Webhooks is the webhook policy of the service and the dispatcher;
	// nil allows private destinations and plain http, since test receivers
	// are httptest servers on 127.0.0.1.
	Webhooks *licensor.WebhookPolicy
	// ConfigureDispatcher, if set, adjusts the dispatcher's config before
	// it is built (a test's resolver, TLS roots).
	ConfigureDispatcher func(*notify.DispatcherConfig)
	// OIDC, if set, is the console's OIDC sign-in.
	OIDC *console.OIDCConfig
	// Tracing, if set, is the server's tracing (a test's span recorder).
	Tracing *tracing.Tracing
}

// Start starts a server; t.Cleanup stops it. The server is built by
// internal/app as serve builds it (sign workers, limiter, metrics,
// scanner, dispatcher); the lease reaper and the telemetry pruner do not
// run, so that only the test moves leases and telemetry along its clock.
func Start(t testing.TB, opts ...Options) *Server {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx := context.Background()
	dir := o.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	var st licensor.Store
	var feed licensor.ChangeFeed
	if o.OpenStore != nil {
		st, feed = o.OpenStore(t)
	} else {
		db, err := sqlite.Open(ctx, filepath.Join(dir, "licensor.db"))
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		st = db
	}
	sealer := o.Sealer
	if sealer == nil {
		mk, err := signing.LoadOrCreateMasterKey(dir)
		if err == nil {
			sealer, err = signing.NewSealer(mk)
		}
		if err != nil {
			_ = st.Close()
			t.Fatal(err)
		}
	}
	clock := o.Clock
	if clock == nil {
		clock = NewClock(o.Start)
	}
	cert, err := testCert()
	if err != nil {
		_ = st.Close()
		t.Fatal(err)
	}
	tlsCfg := app.TLSConfig(cert)
	if o.ClientAuth != 0 {
		tlsCfg.ClientAuth = o.ClientAuth
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = st.Close()
		t.Fatal(err)
	}
	if o.NotifyInterval == 0 {
		o.NotifyInterval = 20 * time.Millisecond
	}
	// Test receivers are plain-http servers on 127.0.0.1.
	hooks := licensor.WebhookPolicy{AllowPrivate: true, AllowHTTP: true}
	if o.Webhooks != nil {
		hooks = *o.Webhooks
	}
	notifyInterval := o.NotifyInterval
	if !o.Notify {
		notifyInterval = -1
	}
	a, err := app.New(ctx, app.Config{
		Store: st, Feed: feed, Sealer: sealer, Now: clock.Now, After: clock.After, Logger: o.Logger,
		Listener: ln, TLS: tlsCfg, CloseIdleOnShutdown: true, MetricsListen: "127.0.0.1:0",
		SignWorkers:      2,
		NotifyInterval:   notifyInterval,
		ReaperInterval:   -1,
		PruneInterval:    -1,
		AdjustServer:     o.Configure,
		Webhooks:         hooks,
		AdjustDispatcher: o.ConfigureDispatcher,
		OIDC:             o.OIDC,
		Tracing:          o.Tracing,
	})
	if err != nil {
		t.Fatalf("build server: %v", err)
	}
	s := &Server{URL: "https://" + ln.Addr().String(), App: a, Server: a.Server(), Service: a.Service(), Store: st, Clock: clock, Dir: dir,
		Metrics: a.Metrics(), Scanner: a.Scanner(), Dispatcher: a.Dispatcher(), Cert: cert}
	t.Cleanup(s.Close)
	if err := a.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	s.MetricsURL = "http://" + a.MetricsAddr()
	if _, s.OperatorToken, err = s.Service.CreateOperatorToken(ctx, "test operator"); err != nil {
		t.Fatal(err)
	}
	s.CAPool = x509.NewCertPool()
	s.CAPool.AddCert(cert.Leaf)
	s.CACertFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(s.CACertFile, pemCert(cert.Leaf), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// Close stops the server, its background workers and its store; a test
// may call it early (to restart on the same Dir), cleanup calls it anyway.
func (s *Server) Close() { s.closeOnce.Do(func() { _ = s.App.Close() }) }

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.App.Addr() }

// CloseClientConnections cuts every connection to the server with calls
// in flight, as a crash would.
func (s *Server) CloseClientConnections() { _ = s.App.CloseConnections() }

// HTTPClient returns a client that trusts the server, speaks HTTP/2, and
// presents certs (if any) as TLS client certificates.
func (s *Server) HTTPClient(certs ...tls.Certificate) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: s.CAPool, Certificates: certs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
	}}
}

// Protocol selects the wire protocol of a test client.
type Protocol string

const (
	GRPC    Protocol = "grpc"
	Connect Protocol = "connect" // Connect protocol, JSON
	GRPCWeb Protocol = "grpcweb"
)

// Protocols are the wire protocols every API test runs with.
var Protocols = []Protocol{GRPC, Connect}

// ClientOptions returns connect client options for p with a bearer token.
func ClientOptions(p Protocol, token string) []connect.ClientOption {
	opts := []connect.ClientOption{connect.WithInterceptors(Bearer(token))}
	switch p {
	case GRPC:
		opts = append(opts, connect.WithGRPC())
	case GRPCWeb:
		opts = append(opts, connect.WithGRPCWeb())
	case Connect:
		opts = append(opts, connect.WithProtoJSON())
	}
	return opts
}

// Admin returns an AdminService client.
func (s *Server) Admin(p Protocol, token string) licensorv1connect.AdminServiceClient {
	return licensorv1connect.NewAdminServiceClient(s.HTTPClient(), s.URL, ClientOptions(p, token)...)
}

// License returns a LicenseService client.
func (s *Server) License(p Protocol, token string, certs ...tls.Certificate) licensorv1connect.LicenseServiceClient {
	return licensorv1connect.NewLicenseServiceClient(s.HTTPClient(certs...), s.URL, ClientOptions(p, token)...)
}

// Capability returns a CapabilityService client.
func (s *Server) Capability(p Protocol, token string) licensorv1connect.CapabilityServiceClient {
	return licensorv1connect.NewCapabilityServiceClient(s.HTTPClient(), s.URL, ClientOptions(p, token)...)
}

// testWriter sends server logs (warnings and errors) to the test's log, so a
// failing test shows what the server saw.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
