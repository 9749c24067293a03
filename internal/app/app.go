package app

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/trace"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/console"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/tracing"
	"github.com/licensor/licensor/metrics"
	"github.com/licensor/licensor/notify"
	"github.com/licensor/licensor/server"
	"github.com/licensor/licensor/service"
	"github.com/licensor/licensor/store/postgres"
)

// Defaults of the zero Config.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultShutdownTimeout   = 15 * time.Second
)

// Config is everything the server is built from. Each field is one setting
// (serve sets each from one flag); the zero value of a field is its
// default. Store, Sealer and TLS are required.
type Config struct {
	// Store is the opened store. The App owns it from New on: Close
	// closes it, and so does New if it fails.
	Store licensor.Store
	// Feed carries contract changes to WatchLicense streams: nil for the
	// service's in-process hub (one server), the store's LISTEN/NOTIFY
	// feed when several servers share a PostgreSQL database.
	Feed licensor.ChangeFeed
	// Sealer opens the tenants' signing keys and webhook secrets.
	Sealer *signing.Sealer
	// Now is the clock everything that expires reads; default time.Now.
	// After, beside it, is the timer of capability waits (default
	// time.After).
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// MaxWait bounds how long a capability request may wait in a pool's
	// queue (default licensor.DefaultMaxWait).
	MaxWait time.Duration
	// Logger; default: discard.
	Logger *slog.Logger
	// Tracing, if on, spans each RPC, the store's statements and the
	// signatures (internal/tracing); nil or off: no tracing, at no cost.
	Tracing *tracing.Tracing

	// Listener, if set, is where the API is served (TLS is layered on it;
	// the App owns it from New on, like Store); otherwise Start listens on
	// Listen.
	Listener net.Listener
	Listen   string
	// TLS is the API's TLS configuration (see TLSConfig).
	TLS *tls.Config
	// Limits bound what one client may hold open or send: connections,
	// streams, deadlines, message sizes, watch streams (server.Limits; a
	// zero field takes its default). ShutdownTimeout bounds Close's
	// graceful shutdown, after which connections are cut (default
	// DefaultShutdownTimeout).
	Limits          server.Limits
	ShutdownTimeout time.Duration
	// GRPCTransport serves gRPC connections (server.GRPCGo by default,
	// or server.NetHTTP).
	GRPCTransport server.GRPCTransport
	// CloseIdleOnShutdown makes Close cut the connections that have no
	// call in flight at once, instead of giving HTTP/2 clients the second
	// of grace after GOAWAY that lets a request already on its way be
	// refused cleanly. For tests, which start and stop hundreds of servers.
	CloseIdleOnShutdown bool
	// MetricsListen, if set, is a separate plain-HTTP address serving
	// /metrics, /healthz and /readyz only. /metrics lists every tenant, so
	// it is never served on the API port.
	MetricsListen string
	// Pprof, if set, is a loopback address serving net/http/pprof.
	Pprof string

	// SignWorkers is how many goroutines sign licenses; default GOMAXPROCS.
	SignWorkers int
	// Redis, if set (redis://host:6379/0), shares each tenant's concurrency
	// threshold between the servers on it; otherwise each server applies
	// the threshold on its own.
	Redis string
	// SilentIntervals: an instance unseen for longer than this many refresh
	// intervals raises instance.silent (default: notify's).
	SilentIntervals int
	// NotifyInterval is how often the alert scanner scans and the webhook
	// dispatcher polls (default: notify's). Negative: both are built but
	// not run in the background (a test calls ScanOnce and RunOnce).
	NotifyInterval time.Duration
	// ReaperInterval is how often expired leases are freed (default
	// DefaultReaperInterval); PruneInterval how often telemetry past each
	// tenant's retention is deleted (default DefaultPruneInterval).
	// Negative: not run.
	ReaperInterval time.Duration
	PruneInterval  time.Duration

	// AdjustServer, if set, changes the server's config before it is built
	// (a test's limiter or inner interceptors).
	AdjustServer func(*server.Config)
	// Webhooks is what webhook destinations the operator allows: checked
	// at registration by the service and at each dial by the dispatcher.
	// The zero value allows only public https destinations.
	Webhooks licensor.WebhookPolicy
	// AdjustDispatcher, if set, changes the webhook dispatcher's config
	// before it is built (a test's resolver or TLS roots).
	AdjustDispatcher func(*notify.DispatcherConfig)

	// OIDC, if set, lets vendor staff sign in to the console with an
	// OpenID Connect provider (the console's token sign-in is always on).
	OIDC *console.OIDCConfig
	// ConsoleSessionTTL bounds a console or portal session (default
	// console.DefaultSessionTTL).
	ConsoleSessionTTL time.Duration
}

// App is the assembled server.
type App struct {
	cfg Config
	log *slog.Logger

	signWorkers *signing.SignWorkers
	service     *service.Service
	server      *server.Server
	metrics     *metrics.Metrics
	console     *console.Console
	scanner     *notify.Scanner
	dispatcher  *notify.Dispatcher
	redis       io.Closer // the shared limiter's connection, with Redis

	ln        net.Listener
	httpSrv   *http.Server
	conns     idleConns
	metricsLn net.Listener
	metricsHS *http.Server
	pprofLn   net.Listener
	pprofHS   *http.Server

	stopBackground context.CancelFunc
	background     sync.WaitGroup
	closeOnce      sync.Once
	closeErr       error
}

// lockWaiter is a store that counts its transactions' lock waits: the
// PostgreSQL one, which several servers share.
type lockWaiter interface{ LockWaits() []postgres.LockWait }

var _ lockWaiter = (*postgres.DB)(nil)

// New builds the server from cfg. Nothing listens and nothing runs in the
// background until Start, except the sign workers.
func New(ctx context.Context, cfg Config) (_ *App, err error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SignWorkers < 1 {
		cfg.SignWorkers = runtime.GOMAXPROCS(0)
	}
	a := &App{cfg: cfg, log: cfg.Logger}
	defer func() {
		if err != nil {
			_ = a.Close() // the store, the listener, the sign workers
		}
	}()
	if cfg.Store == nil || cfg.Sealer == nil || cfg.TLS == nil {
		return nil, errors.New("app: Config.Store, Sealer and TLS are required")
	}
	a.signWorkers = signing.NewSignWorkers(cfg.SignWorkers)
	var tp trace.TracerProvider // nil: off
	if cfg.Tracing != nil && cfg.Tracing.Enabled {
		tp = cfg.Tracing.Provider
		if ts, ok := cfg.Store.(interface{ SetTracerProvider(trace.TracerProvider) }); ok {
			ts.SetTracerProvider(tp)
		}
	}
	a.metrics = metrics.New(metrics.Config{CodeOf: server.Code})
	a.service = service.New(service.Config{Store: cfg.Store, Sealer: cfg.Sealer, Feed: cfg.Feed, Now: cfg.Now, Logger: cfg.Logger, SignWorkers: a.signWorkers, Webhooks: cfg.Webhooks,
		TracerProvider: tp, After: cfg.After, MaxWait: cfg.MaxWait, OnQueue: func(e service.QueueEvent) { a.metrics.QueueEvent(string(e)) },
		WebhookQueued: func() {
			if a.dispatcher != nil {
				a.dispatcher.Wake()
			}
		}})
	limiter, redis, err := openLimiter(ctx, cfg.Redis, cfg.Logger)
	if err != nil {
		return nil, err
	}
	a.redis = redis
	scfg := server.Config{Service: a.service, Logger: cfg.Logger, Limiter: limiter,
		Interceptors: []connect.Interceptor{a.metrics.Interceptor()}, OnRefused: a.metrics.ThresholdRefused, OnAdmitted: a.metrics.ThresholdAdmitted,
		Limits: cfg.Limits, Registerer: a.metrics.Registry(), GRPCTransport: cfg.GRPCTransport}
	if tp != nil {
		scfg.OuterInterceptors = []connect.Interceptor{tracing.Interceptor(tp)}
		scfg.InnerInterceptors = []connect.Interceptor{tracing.TenantInterceptor()}
	}
	if cfg.AdjustServer != nil {
		cfg.AdjustServer(&scfg)
	}
	a.server = server.New(scfg)
	if a.console, err = console.New(console.Config{Service: a.service, Now: cfg.Now, Logger: cfg.Logger,
		SessionTTL: cfg.ConsoleSessionTTL, OIDC: cfg.OIDC}); err != nil {
		return nil, err
	}
	a.server.Handle("/console/", a.console.Handler())
	a.server.Handle("/portal/", a.console.Handler())
	if err := a.metrics.RegisterLeasesInUse(poolLeases(a.service)); err != nil {
		return nil, err
	}
	if err := a.metrics.RegisterQueueLengths(poolQueues(a.service)); err != nil {
		return nil, err
	}
	if lw, ok := cfg.Store.(lockWaiter); ok {
		if err := a.metrics.RegisterLockWaits(func() []metrics.LockWait {
			var out []metrics.LockWait
			for _, w := range lw.LockWaits() {
				out = append(out, metrics.LockWait{Kind: w.Kind, Transactions: w.Transactions, Waited: w.Waited})
			}
			return out
		}); err != nil {
			return nil, err
		}
	}
	a.buildNotify()
	return a, nil
}

// Start listens on the API's address (and the metrics and pprof ones) and
// starts the background work. Call Close afterwards, even if it fails.
func (a *App) Start() error {
	if err := a.serveAPI(); err != nil {
		return err
	}
	if a.cfg.MetricsListen != "" {
		if err := a.serveMetrics(a.cfg.MetricsListen); err != nil {
			return err
		}
	}
	if a.cfg.Pprof != "" {
		if err := a.servePprof(a.cfg.Pprof); err != nil {
			return err
		}
	}
	a.startBackground()
	return nil
}

// Close shuts the server down gracefully: open streams end, in-flight
// calls finish (within Config.ShutdownTimeout), the background work stops,
// then the sign workers, the store and the Redis connection are closed.
// It is safe to call more than once, and after a failed New or Start.
func (a *App) Close() error {
	a.closeOnce.Do(func() { a.closeErr = a.close() })
	return a.closeErr
}

func (a *App) close() error {
	if a.server != nil {
		a.server.BeginShutdown()
	}
	timeout := a.cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	if a.httpSrv != nil && a.cfg.CloseIdleOnShutdown {
		a.conns.closeAll()
	}
	if a.httpSrv != nil {
		if err := a.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, err, a.httpSrv.Close())
		}
	} else if a.cfg.Listener != nil {
		errs = append(errs, a.cfg.Listener.Close()) // never served
	}
	if a.metricsHS != nil {
		errs = append(errs, a.metricsHS.Shutdown(ctx))
	}
	if a.pprofHS != nil {
		errs = append(errs, a.pprofHS.Close())
	}
	a.stopBackgroundWork() // attempts and sweeps in flight finish first
	a.signWorkers.Close()  // after the API: no request signs any more
	if a.cfg.Store != nil {
		errs = append(errs, a.cfg.Store.Close())
	}
	if a.redis != nil {
		errs = append(errs, a.redis.Close())
	}
	return errors.Join(errs...)
}

// CloseConnections cuts every API connection at once, with calls in
// flight: what a crash looks like to clients. Close still cleans up.
func (a *App) CloseConnections() error {
	if a.httpSrv == nil {
		return nil
	}
	return a.httpSrv.Close()
}

// Addr is the API's address once Start has listened.
func (a *App) Addr() string { return addrOf(a.ln) }

// MetricsAddr is the metrics listener's address, "" without one.
func (a *App) MetricsAddr() string { return addrOf(a.metricsLn) }

// PprofAddr is the pprof listener's address, "" without one.
func (a *App) PprofAddr() string { return addrOf(a.pprofLn) }

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// Store, Service, Server, Metrics, Scanner and Dispatcher are the parts,
// for the commands and tests that drive them directly.
func (a *App) Store() licensor.Store          { return a.cfg.Store }
func (a *App) Console() *console.Console      { return a.console }
func (a *App) Service() *service.Service      { return a.service }
func (a *App) Server() *server.Server         { return a.server }
func (a *App) Metrics() *metrics.Metrics      { return a.metrics }
func (a *App) Scanner() *notify.Scanner       { return a.scanner }
func (a *App) Dispatcher() *notify.Dispatcher { return a.dispatcher }
