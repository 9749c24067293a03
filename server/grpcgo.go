package server

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/encoding/gzip" // grpc-go inflates gzip requests within MaxRecvMsgSize
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"

	"github.com/licensor/licensor/internal/netguard"
)

// GRPCTransport names the HTTP/2 server that carries gRPC requests
// (content type application/grpc or application/grpc+proto).
type GRPCTransport string

// The gRPC transports. GRPCGo serves gRPC connections with grpc-go's
// server transport, which writes a response's frames in one write;
// NetHTTP serves them with net/http's HTTP/2 server like every other
// request. Either way the calls run through the same handlers.
const (
	GRPCGo  GRPCTransport = "grpc-go"
	NetHTTP GRPCTransport = "net-http"
)

// grpcTransport is the grpc-go side of the API port: connections whose
// first request is gRPC reach grpcSrv through conns; the rest go to h2.
type grpcTransport struct {
	s       *Server
	grpcSrv *grpc.Server
	//lint:ignore SA1019 net/http offers no way to serve an HTTP/2 connection already read from; x/net's server is its unbundled twin
	h2      *http2.Server
	ln      *connListener
	timeout time.Duration // to read a connection's first request headers
	served  atomic.Int64  // connections handed to grpc-go, for tests
}

// serveGRPCGo routes hs's HTTP/2 connections by their first request:
// gRPC to grpc-go, the rest to x/net's HTTP/2 server (net/http's own,
// unbundled).
func (s *Server) serveGRPCGo(hs *http.Server) error {
	l := s.limits
	//lint:ignore SA1019 net/http offers no way to serve an HTTP/2 connection already read from; x/net's server is its unbundled twin
	h2 := &http2.Server{MaxConcurrentStreams: uint32(l.MaxStreamsPerConn), IdleTimeout: l.IdleTimeout}
	//lint:ignore SA1019 as above: the x/net server's graceful shutdown on hs.Shutdown
	if err := http2.ConfigureServer(hs, h2); err != nil {
		return err
	}
	t := &grpcTransport{s: s, h2: h2, ln: newConnListener(), timeout: l.ReadHeaderTimeout}
	if t.timeout <= 0 {
		t.timeout = DefaultLimits.ReadHeaderTimeout
	}
	opts := []grpc.ServerOption{
		grpc.Creds(tlsDone{}),
		// The bridge reads the stream's raw bytes, under the guard's
		// bounds; this bounds RecvMsg, its fallback, a little over them.
		grpc.MaxRecvMsgSize(int(min(s.maxBodyBytes()+1<<10, 1<<31-1))),
		grpc.ForceServerCodecV2(rawCodec{}),
		grpc.UnknownServiceHandler(newGRPCBridge(s).handle),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: l.IdleTimeout}),
		// net/http answers every ping; so does this, at most one a second.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
		grpc.MaxHeaderListSize(uint32(http.DefaultMaxHeaderBytes)),
	}
	if l.MaxStreamsPerConn > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(uint32(l.MaxStreamsPerConn)))
	}
	t.grpcSrv = grpc.NewServer(opts...)
	hs.TLSNextProto["h2"] = t.serveConn
	hs.RegisterOnShutdown(t.grpcSrv.GracefulStop)
	s.grpcT = t
	go func() { _ = t.grpcSrv.Serve(t.ln) }()
	return nil
}

// serveConn serves one HTTP/2 connection; net/http closes c when it
// returns, so it waits for the connection's end.
func (t *grpcTransport) serveConn(hs *http.Server, c *tls.Conn, h http.Handler) {
	sc, err := sniff(c, time.Now().Add(t.timeout), t.s.limits.MaxStreamsPerConn)
	if err != nil {
		t.s.guardMetrics.BadPreface()
		return
	}
	if !sc.grpc {
		//lint:ignore SA1019 as above
		opts := &http2.ServeConnOpts{BaseConfig: hs, Handler: h}
		if bc, ok := h.(interface{ BaseContext() context.Context }); ok {
			opts.Context = bc.BaseContext()
		}
		//lint:ignore SA1019 as above
		t.h2.ServeConn(sc, opts)
		return
	}
	if !t.ln.put(sc) {
		return // shutting down
	}
	t.served.Add(1)
	<-sc.done
}

// connListener hands sniffed gRPC connections to grpc.Server.Serve.
type connListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnListener() *connListener {
	return &connListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *connListener) put(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		_ = c.Close()
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// tlsDone are the transport credentials of connections whose TLS
// handshake net/http has done: the handshake only reports its state.
type tlsDone struct{}

// connInfo is a gRPC connection's AuthInfo: its TLS state and the guarded
// connection under it, which the guard marks authenticated.
type connInfo struct {
	credentials.TLSInfo
	guard *netguard.Conn
}

func (tlsDone) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	sc, ok := c.(*sniffed)
	if !ok {
		return nil, nil, errors.New("grpc: connection did not come through the API listener")
	}
	return c, &connInfo{
		TLSInfo: credentials.TLSInfo{State: sc.ConnectionState(),
			CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}},
		guard: netguard.ConnFrom(netguard.ConnContext(context.Background(), sc)),
	}, nil
}

func (tlsDone) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("grpc: server-side credentials only")
}

func (tlsDone) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls"}
}

func (t tlsDone) Clone() credentials.TransportCredentials { return t }

func (tlsDone) OverrideServerName(string) error { return nil }

// rawCodec passes messages through as bytes: connect's handlers, behind
// the bridge, decode and encode them.
type rawCodec struct{}

// rawMsg is a message's bytes; received, they come in a gRPC envelope.
type rawMsg struct{ b []byte }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*rawMsg)
	if !ok {
		return nil, errors.New("grpc: raw codec marshals only raw messages")
	}
	return mem.BufferSlice{mem.Copy(m.b, mem.DefaultBufferPool())}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*rawMsg)
	if !ok {
		return errors.New("grpc: raw codec unmarshals only raw messages")
	}
	n := data.Len()
	if cap(m.b) < 5+n {
		m.b = make([]byte, 5+n)
	}
	m.b = m.b[:5+n]
	m.b[0], m.b[1], m.b[2], m.b[3], m.b[4] = 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	data.CopyTo(m.b[5:])
	return nil
}

func (rawCodec) Name() string { return "proto" }
