package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// TLSConfig is the API's TLS policy for cert: TLS 1.2 at least (with
// only the AEAD suites of server.CipherSuites, set by
// server.NewHTTPServer), HTTP/2 and HTTP/1.1, and client certificates
// requested but not required (a
// contract that requires mutual TLS verifies the chain against its own CA).
func TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
		ClientAuth:   tls.RequestClientCert,
	}
}

// serveAPI serves the API with TLS on the listener.
func (a *App) serveAPI() error {
	ln := a.cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", a.cfg.Listen); err != nil {
			return fmt.Errorf("listen on %s: %w", a.cfg.Listen, err)
		}
	}
	a.ln = ln
	a.httpSrv = a.server.NewHTTPServer(a.cfg.TLS, slog.NewLogLogger(a.log.Handler(), slog.LevelDebug))
	if a.cfg.CloseIdleOnShutdown {
		a.httpSrv.ConnState = a.conns.track
	}
	go func() {
		if err := a.httpSrv.Serve(a.server.Listener(ln, a.httpSrv)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("serve", "err", err)
		}
	}()
	return nil
}

// serveMetrics serves /metrics, /healthz and /readyz (only) on a separate
// plain-HTTP listener, typically bound to a private interface.
func (a *App) serveMetrics(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	a.metricsLn = ln
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	mux.Handle("GET /healthz", a.server.Handler())
	mux.Handle("GET /readyz", a.server.Handler())
	a.metricsHS = &http.Server{Handler: mux, ReadHeaderTimeout: DefaultReadHeaderTimeout}
	go func() { _ = a.metricsHS.Serve(ln) }()
	return nil
}

// idleConns tracks the API connections with no call in flight, for
// Config.CloseIdleOnShutdown. net/http tells HTTP/2 connections' idleness
// only to the ConnState hook, so http.Server.Shutdown waits out their
// GOAWAY grace; this closes them at once instead.
type idleConns struct {
	mu      sync.Mutex
	idle    map[net.Conn]bool
	closing bool
}

func (t *idleConns) track(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	if st != http.StateIdle {
		delete(t.idle, c)
		t.mu.Unlock()
		return
	}
	if !t.closing {
		if t.idle == nil {
			t.idle = map[net.Conn]bool{}
		}
		t.idle[c] = true
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	_ = c.Close() // went idle during shutdown
}

// closeAll closes the idle connections, and from now on each connection
// as soon as it goes idle.
func (t *idleConns) closeAll() {
	t.mu.Lock()
	t.closing = true
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for c := range idle {
		_ = c.Close()
	}
}
