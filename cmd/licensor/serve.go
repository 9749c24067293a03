package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/console"
	"github.com/licensor/licensor/internal/app"
	"github.com/licensor/licensor/internal/atomicfile"
	"github.com/licensor/licensor/internal/buildinfo"
	"github.com/licensor/licensor/internal/datadir"
	"github.com/licensor/licensor/internal/keycheck"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/tracing"
	"github.com/licensor/licensor/server"
)

// ServeCmd runs the server.
type ServeCmd struct {
	Listen  string `help:"Address to serve the API on (TLS)." default:"127.0.0.1:7443" env:"LICENSOR_LISTEN"`
	Data    string `help:"Data directory: database, keys, certificate, operator token." default:"./licensor-data" env:"LICENSOR_DATA" type:"path"`
	DB      string `help:"Database: empty for embedded SQLite in the data directory, or postgres://..." env:"LICENSOR_DB"`
	TLSCert string `help:"TLS certificate (PEM); default: a self-signed one generated in the data directory." env:"LICENSOR_TLS_CERT" name:"tls-cert" type:"path"`
	TLSKey  string `help:"TLS private key (PEM)." env:"LICENSOR_TLS_KEY" name:"tls-key" type:"path"`
	Demo    bool   `help:"Create a demo tenant, product, customer, contract, pool and token, and write them to <data>/demo.json." env:"LICENSOR_DEMO"`
	// MetricsListen serves /metrics (and /healthz, /readyz) on a separate
	// plain-HTTP listener; /metrics names every tenant, so it is never on
	// the API port.
	MetricsListen string `help:"Plain-HTTP address for /metrics, /healthz and /readyz; keep it private (empty: no /metrics)." default:"127.0.0.1:7445" env:"LICENSOR_METRICS_LISTEN" name:"metrics-listen"`
	LogFormat     string `help:"Log format: text or json." default:"text" enum:"text,json" env:"LICENSOR_LOG_FORMAT"`
	Pprof         string `help:"Loopback address to serve net/http/pprof on (e.g. 127.0.0.1:6060); off by default." env:"LICENSOR_PPROF"`
	// SilentIntervals: an instance unseen for longer than this many refresh
	// intervals raises instance.silent.
	SilentIntervals int `help:"Alert when an instance has not been seen for this many refresh intervals." default:"3" env:"LICENSOR_SILENT_INTERVALS" name:"silent-intervals"`
	// Redis shares each tenant's concurrency threshold between the servers.
	Redis string `help:"Redis URL (redis://host:6379/0) to share each tenant's concurrency threshold between servers; without it each server applies the threshold on its own." env:"LICENSOR_REDIS"`
	// DurableRefresh makes PostgreSQL refreshes wait for the WAL flush.
	DurableRefresh bool `help:"PostgreSQL only: license refreshes wait for the WAL flush like every other write (by default they do not: a database crash may forget the last fraction of a second of last-seen times, never a seat)." env:"LICENSOR_DURABLE_REFRESH" name:"durable-refresh"`
	// Webhook destinations: by default https only, to public addresses.
	WebhookAllowPrivate bool `help:"Allow webhooks to loopback, private (RFC 1918), unique-local and CGNAT addresses, for receivers on the server's own network (on-premises). Link-local and cloud metadata addresses stay refused." env:"LICENSOR_WEBHOOK_ALLOW_PRIVATE" name:"webhook-allow-private"`
	WebhookAllowHTTP    bool `help:"Allow plain http:// webhook URLs (events and their signatures travel unencrypted)." env:"LICENSOR_WEBHOOK_ALLOW_HTTP" name:"webhook-allow-http"`
	// Limits of what one client can hold open or send (server.Limits); a
	// negative value turns a limit off.
	MaxConns              int           `help:"Most connections open at once on the API port (0: three quarters of the open-file limit, at most 10000)." default:"0" env:"LICENSOR_MAX_CONNS" name:"max-conns"`
	MaxConnsPerAddr       int           `help:"Most connections open at once from one client IP address." default:"1024" env:"LICENSOR_MAX_CONNS_PER_ADDR" name:"max-conns-per-addr"`
	MaxUnauthConnsPerAddr int           `help:"Most connections from one client IP address that have not yet made an authenticated call." default:"256" env:"LICENSOR_MAX_UNAUTH_CONNS_PER_ADDR" name:"max-unauth-conns-per-addr"`
	MaxUnauthConns        int           `help:"Most connections from all addresses that have not yet made an authenticated call." default:"1000" env:"LICENSOR_MAX_UNAUTH_CONNS" name:"max-unauth-conns"`
	UnauthIdle            time.Duration `help:"Close a connection that never made an authenticated call after this long idle." default:"10s" env:"LICENSOR_UNAUTH_IDLE" name:"unauth-idle"`
	IdleTimeout           time.Duration `help:"Close any other connection after this long idle." default:"5m" env:"LICENSOR_IDLE_TIMEOUT" name:"idle-timeout"`
	BodyTimeout           time.Duration `help:"Time a request body has to arrive, from the end of its headers." default:"10s" env:"LICENSOR_BODY_TIMEOUT" name:"body-timeout"`
	MaxMessageBytes       int           `help:"Largest request message, as sent and once decompressed (bytes)." default:"1048576" env:"LICENSOR_MAX_MESSAGE_BYTES" name:"max-message-bytes"`
	MaxStreamsPerConn     int           `help:"Most concurrent HTTP/2 streams on one connection." default:"128" env:"LICENSOR_MAX_STREAMS_PER_CONN" name:"max-streams-per-conn"`
	WatchPerSeat          int           `help:"Open license streams (WatchLicense) a contract may hold per seat." default:"2" env:"LICENSOR_WATCH_PER_SEAT" name:"watch-per-seat"`
	WatchMin              int           `help:"Open license streams any contract with counted seats may hold." default:"10" env:"LICENSOR_WATCH_MIN" name:"watch-min"`
	WatchUnlimited        int           `help:"Open license streams a contract with unlimited seats may hold." default:"1000" env:"LICENSOR_WATCH_UNLIMITED" name:"watch-unlimited"`
	WaitStreams           int           `help:"Capability requests a contract may have waiting in pool queues at once (WaitCapabilities streams), per server." default:"1000" env:"LICENSOR_WAIT_STREAMS" name:"wait-streams"`
	GRPCTransport         string        `help:"HTTP/2 server of gRPC connections (those whose first request is gRPC): grpc-go (its own transport, fewer writes per call) or net-http (the one of Connect and gRPC-Web)." default:"grpc-go" enum:"grpc-go,net-http" env:"LICENSOR_GRPC_TRANSPORT" name:"grpc-transport"`
	MaxWait               time.Duration `help:"Longest a capability request may wait in a pool's queue (at most 1h)." default:"10m" env:"LICENSOR_MAX_WAIT" name:"max-wait"`
	// Console sign-in with OpenID Connect for vendor staff (docs/console.md).
	OIDCIssuer       string        `help:"OpenID Connect issuer URL for vendor staff's console sign-in (empty: token sign-in only)." env:"LICENSOR_OIDC_ISSUER" name:"oidc-issuer"`
	OIDCClientID     string        `help:"OIDC client id of the console." env:"LICENSOR_OIDC_CLIENT_ID" name:"oidc-client-id"`
	OIDCClientSecret string        `help:"OIDC client secret of the console." env:"LICENSOR_OIDC_CLIENT_SECRET" name:"oidc-client-secret"`
	OIDCRedirectURL  string        `help:"OIDC redirect URL registered with the provider (default: https://<host>/console/oidc/callback)." env:"LICENSOR_OIDC_REDIRECT_URL" name:"oidc-redirect-url"`
	OIDCTenantClaim  string        `help:"ID token claim naming the staff member's tenant." default:"licensor_tenant" env:"LICENSOR_OIDC_TENANT_CLAIM" name:"oidc-tenant-claim"`
	OIDCTenantMap    string        `help:"JSON file mapping the tenant claim's values to tenant ids ({\"acme-staff\": \"ten_...\"}), or to \"operator\" for the operator's staff; without it the claim's value is the tenant id." env:"LICENSOR_OIDC_TENANT_MAP" name:"oidc-tenant-map" type:"path"`
	ConsoleSession   time.Duration `help:"How long a console or portal sign-in lasts." default:"8h" env:"LICENSOR_CONSOLE_SESSION" name:"console-session"`
}

// oidc is the console's OIDC sign-in of the flags; nil without an issuer.
func (c *ServeCmd) oidc() (*console.OIDCConfig, error) {
	if c.OIDCIssuer == "" {
		return nil, nil
	}
	if c.OIDCClientID == "" {
		return nil, errors.New("--oidc-issuer needs --oidc-client-id")
	}
	o := &console.OIDCConfig{Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret,
		RedirectURL: c.OIDCRedirectURL, TenantClaim: c.OIDCTenantClaim}
	if c.OIDCTenantMap != "" {
		b, err := os.ReadFile(c.OIDCTenantMap)
		if err != nil {
			return nil, fmt.Errorf("--oidc-tenant-map: %w", err)
		}
		if err := json.Unmarshal(b, &o.Tenants); err != nil {
			return nil, fmt.Errorf("--oidc-tenant-map %s: want a JSON object of claim value to tenant id: %w", c.OIDCTenantMap, err)
		}
	}
	return o, nil
}

// WebhookPolicy is the webhook destinations the flags allow.
func (c *ServeCmd) WebhookPolicy() licensor.WebhookPolicy {
	return licensor.WebhookPolicy{AllowPrivate: c.WebhookAllowPrivate, AllowHTTP: c.WebhookAllowHTTP}
}

// limits are the server.Limits of the flags.
func (c *ServeCmd) limits() server.Limits {
	return server.Limits{MaxConns: c.MaxConns, MaxConnsPerAddr: c.MaxConnsPerAddr, MaxUnauthConnsPerAddr: c.MaxUnauthConnsPerAddr,
		MaxUnauthConns: c.MaxUnauthConns,
		UnauthIdle:     c.UnauthIdle, IdleTimeout: c.IdleTimeout, BodyTimeout: c.BodyTimeout, MaxMessageBytes: c.MaxMessageBytes,
		MaxStreamsPerConn: c.MaxStreamsPerConn, WatchPerSeat: c.WatchPerSeat, WatchMin: c.WatchMin, WatchUnlimited: c.WatchUnlimited,
		WaitStreams: c.WaitStreams}
}

// Run starts the server and blocks until ctx ends, then shuts down
// gracefully: in-flight calls finish, streams end cleanly.
func (c *ServeCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	tuneGC()
	m := &Main{Config: *c, Logger: newLogger(c.LogFormat, os.Stderr), Out: os.Stdout}
	if err := m.Start(ctx); err != nil {
		_ = m.Close() // whatever Start opened before it failed: the store, the sign workers
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down")
	return m.Close()
}

// Garbage collector defaults of the server process, each applied only when
// its environment variable (GOGC, GOMEMLIMIT) is unset. A license server's
// heap is small and short-lived (requests, licenses), so collecting at 4×
// the live heap instead of 2× cut the server's CPU per license by about a
// tenth in interleaved runs (BENCHMARKS.md), for some 13 MiB more RSS under
// load; the
// soft memory limit makes the collector work harder before the process
// grows past it, whatever GOGC says.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 256 << 20
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}

func newLogger(format string, w *os.File) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// Main is the whole server, in-process: end-to-end tests start it with
// Start and stop it with Close. It opens what the flags name (the store,
// the master key, the TLS certificate), hands them to internal/app, which
// assembles and runs the server, and does what only serve does: the
// operator token file and the demo.
type Main struct {
	Config ServeCmd
	Logger *slog.Logger
	Out    interface{ Write([]byte) (int, error) }
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time

	// App is the running server, set by Start.
	App *app.App
	// Tracing is the tracer provider; default: what the OTEL_* environment
	// asks for (tracing.FromEnv), off when it asks for nothing.
	Tracing *tracing.Tracing
	// Demo is set after Start when Config.Demo is set.
	Demo *DemoFile
	// lock holds the data directory for this server from Start to Close.
	lock *datadir.Lock
	// listen opens the API's listener; default net.Listen (a test watches
	// when serving starts).
	listen func(network, addr string) (net.Listener, error)
}

// Addr returns the address the API listens on.
func (m *Main) Addr() string { return m.App.Addr() }

// Start opens the store, bootstraps the operator token and serves.
func (m *Main) Start(ctx context.Context) error {
	started := time.Now()
	var err error
	if m.Now == nil {
		m.Now = time.Now
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	cfg := m.Config
	if m.Tracing == nil {
		if m.Tracing, err = tracing.FromEnv(ctx, os.Getenv); err != nil {
			return err
		}
	}
	if m.Tracing.Enabled {
		m.Logger = slog.New(tracing.LogHandler(m.Logger.Handler()))
		m.Logger.Info("tracing on: exporting spans over OTLP (OTEL_* environment)")
	}
	if err := datadir.Prepare(cfg.Data, m.Logger); err != nil {
		return err
	}
	if m.lock, err = datadir.Acquire(cfg.Data); err != nil {
		return err
	}
	tlsCfg, certFile, err := m.tlsConfig()
	if err != nil {
		return err
	}
	oidc, err := cfg.oidc()
	if err != nil {
		return err
	}
	st, feed, err := openStore(ctx, cfg.DB, cfg.Data, cfg.DurableRefresh, m.Logger)
	if err != nil {
		return err
	}
	sealer, err := keycheck.Sealer(ctx, st, cfg.Data)
	if err != nil {
		_ = st.Close()
		return err
	}
	// The API's listener is opened here, before anything serves, so that
	// the demo can name its address: demo.json is written before /healthz
	// answers, and a script that waits for health finds it.
	listen := m.listen
	if listen == nil {
		listen = net.Listen
	}
	ln, err := listen("tcp", cfg.Listen)
	if err != nil {
		_ = st.Close()
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	acfg := m.appConfig(st, feed, sealer, tlsCfg)
	acfg.Listener = ln
	acfg.Tracing = m.Tracing
	acfg.OIDC = oidc
	// From here the App owns the store and the listener.
	if m.App, err = app.New(ctx, acfg); err != nil {
		return err
	}
	if err := m.bootstrapOperator(ctx); err != nil {
		return err
	}
	if cfg.Demo {
		if m.Demo, err = m.setupDemo(ctx, certFile, ln.Addr().String()); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	if err := m.App.Start(); err != nil {
		return err
	}
	bi := buildinfo.Read()
	m.Logger.Info("licensor serving", "addr", "https://"+m.Addr(), "data", cfg.Data, "ready_in", time.Since(started).Round(time.Millisecond),
		"version", bi.Version, "commit", bi.Commit, "go_version", bi.GoVersion)
	return nil
}

// appConfig maps the flags onto the server's Config, one field each.
func (m *Main) appConfig(st licensor.Store, feed licensor.ChangeFeed, sealer *signing.Sealer, tlsCfg *tls.Config) app.Config {
	c := m.Config
	return app.Config{
		Store:           st,
		Feed:            feed,
		Sealer:          sealer,
		Now:             m.Now,
		Logger:          m.Logger,
		Listen:          c.Listen,
		TLS:             tlsCfg,
		MetricsListen:   c.MetricsListen,
		Pprof:           c.Pprof,
		Redis:           c.Redis,
		SilentIntervals: c.SilentIntervals,
		Webhooks:        c.WebhookPolicy(),
		Limits:          c.limits(),
		GRPCTransport:   server.GRPCTransport(c.GRPCTransport),
		MaxWait:         c.MaxWait,

		ConsoleSessionTTL: c.ConsoleSession,
	}
}

func (m *Main) tlsConfig() (*tls.Config, string, error) {
	certFile, keyFile := m.Config.TLSCert, m.Config.TLSKey
	if (certFile == "") != (keyFile == "") {
		return nil, "", errors.New("give both --tls-cert and --tls-key, or neither for a self-signed certificate")
	}
	if certFile == "" {
		var err error
		if certFile, keyFile, err = selfSignedCert(m.Config.Data, m.Now()); err != nil {
			return nil, "", fmt.Errorf("self-signed certificate: %w", err)
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, "", fmt.Errorf("TLS certificate: %w", err)
	}
	return app.TLSConfig(cert), certFile, nil
}

// bootstrapOperator creates an operator token when the database has no
// live one (on first start, or once every one has expired) and writes its
// secret to <data>/operator-token (mode 0600); it is never shown again.
// Later operator tokens are made and revoked through the API.
func (m *Main) bootstrapOperator(ctx context.Context) error {
	path := filepath.Join(m.Config.Data, "operator-token")
	has, err := m.App.Store().HasOperatorToken(ctx)
	if err != nil {
		return err
	}
	if has {
		return nil
	}
	_, secret, err := m.App.Service().CreateOperatorToken(ctx, "bootstrap operator")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write operator token: %w", err)
	}
	fmt.Fprintf(m.Out, "operator token written to %s (mode 0600)\n", path)
	return nil
}

// Close shuts the server down gracefully, within 15 seconds.
func (m *Main) Close() error {
	var err error
	if m.App != nil {
		err = m.App.Close()
	}
	if m.Tracing != nil { // after the App: the last spans are flushed
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = errors.Join(err, m.Tracing.Shutdown(ctx))
	}
	return errors.Join(err, m.lock.Release()) // last: the store is closed
}

// Validate refuses flag values the server would otherwise have to bend.
func (c *ServeCmd) Validate() error {
	if err := licensor.ValidateDuration("--max-wait", c.MaxWait, time.Second, licensor.MaxMaxWait); err != nil {
		return errors.New(licensor.ErrorMessage(err))
	}
	return nil
}
