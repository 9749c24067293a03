package server

import (
	"crypto/tls"
	"log"
	"net"
	"net/http"

	"github.com/licensor/licensor/internal/netguard"
)

// CipherSuites are the TLS 1.2 suites the server offers: ECDHE with an AEAD
// only (no CBC, no SHA-1 MAC, no static RSA key exchange). TLS 1.3 suites
// are not configurable and all AEAD.
var CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// NewHTTPServer returns the http.Server of the API port: s's handler, the
// timeouts and HTTP/2 stream cap of the limits, and a copy of tlsCfg that
// offers only CipherSuites for TLS 1.2. Serve it on Listener(ln, srv).
// With TLS and Config.GRPCTransport GRPCGo, an HTTP/2 connection whose
// first request is gRPC is served by grpc-go's transport (grpcgo.go);
// its calls still run through s's handler. Its graceful stop runs on the
// http.Server's Shutdown.
func (s *Server) NewHTTPServer(tlsCfg *tls.Config, errorLog *log.Logger) *http.Server {
	if tlsCfg != nil {
		tlsCfg = tlsCfg.Clone()
		tlsCfg.CipherSuites = CipherSuites
		if tlsCfg.MinVersion < tls.VersionTLS12 {
			tlsCfg.MinVersion = tls.VersionTLS12
		}
	}
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	l := s.limits
	hs := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		ErrorLog:          errorLog,
		Protocols:         p,
		ConnContext:       netguard.ConnContext,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: l.MaxStreamsPerConn},
	}
	if tlsCfg != nil && s.cfg.GRPCTransport != NetHTTP {
		if err := s.serveGRPCGo(hs); err != nil {
			s.log.Error("gRPC on grpc-go's transport unavailable; serving it with net/http", "err", err)
		}
	}
	return hs
}

// Listener wraps the plain TCP listener ln with the connection caps and the
// idle limit of unauthenticated connections, then with srv's TLS.
func (s *Server) Listener(ln net.Listener, srv *http.Server) net.Listener {
	l := s.limits
	g := netguard.NewListener(ln, netguard.ListenerConfig{
		MaxConns: l.MaxConns, MaxConnsPerAddr: l.MaxConnsPerAddr, MaxUnauthPerAddr: l.MaxUnauthConnsPerAddr, MaxUnauth: l.MaxUnauthConns,
		UnauthIdle: l.UnauthIdle, Metrics: s.guardMetrics,
	})
	if srv.TLSConfig == nil {
		return g
	}
	tl := tls.NewListener(g, srv.TLSConfig)
	if s.grpcT != nil {
		return &closeHook{Listener: tl, close: s.grpcT.ln.Close}
	}
	return tl
}

// closeHook is a listener whose Close also closes the gRPC side's.
type closeHook struct {
	net.Listener
	close func() error
}

func (l *closeHook) Close() error {
	_ = l.close()
	return l.Listener.Close()
}
