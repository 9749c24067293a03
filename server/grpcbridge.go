package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/licensor/licensor/internal/netguard"
)

// grpcBridge runs a grpc-go stream through the server's http.Handler, as
// net/http would: the guard, the peer certificates, the mux and connect's
// handlers with their interceptors see the same request.
type grpcBridge struct {
	s    *Server
	h    http.Handler
	pool sync.Pool // *grpcCall
}

func newGRPCBridge(s *Server) *grpcBridge {
	return &grpcBridge{s: s, h: s.Handler(), pool: sync.Pool{New: func() any { return new(grpcCall) }}}
}

// wireStream is what grpc-go's server transport stream offers beyond
// grpc.ServerTransportStream: reads of the raw message bytes, which keep
// connect's decompression and the guard's bounds in charge, and the
// status write that ends a stream whose body is late.
type wireStream interface {
	ReadMessageHeader(header []byte) error
	Read(n int) (mem.BufferSlice, error)
	WriteStatus(st *status.Status) error
	RecvCompress() string
}

// grpcCall is one stream's request body and response writer.
type grpcCall struct {
	s  *Server
	ss grpc.ServerStream

	// request body: ws's raw reads, or RecvMsg into in
	ws     wireStream
	hdr    [5]byte
	inHdr  int // bytes of hdr still to serve
	inLeft int // bytes of the message still to read
	in     rawMsg
	inOff  int

	mu    sync.Mutex // the fields below, shared with the body timer
	gen   uint64
	inEOF bool
	late  bool
	done  bool
	timer *time.Timer

	// response
	header     http.Header
	status     int
	headerSent bool
	prefix     [5]byte
	prefixN    int
	msg        []byte // the message being assembled
	msgLen     int
	err        error
}

func (b *grpcBridge) handle(_ any, ss grpc.ServerStream) error {
	ctx := ss.Context()
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return status.Error(codes.Internal, "no method")
	}
	md, _ := metadata.FromIncomingContext(ctx)
	r := &http.Request{
		Method: http.MethodPost, URL: &url.URL{Path: method}, RequestURI: method,
		Proto: "HTTP/2.0", ProtoMajor: 2, ContentLength: -1,
		Header: requestHeader(md), Trailer: http.Header{},
	}
	if p, ok := peer.FromContext(ctx); ok {
		r.RemoteAddr = p.Addr.String()
		if ci, ok := p.AuthInfo.(*connInfo); ok {
			r.TLS = &ci.State
			ctx = netguard.ConnContext(ctx, ci.guard)
		}
	}
	if a := md[":authority"]; len(a) > 0 {
		r.Host = a[0]
	}
	c := b.pool.Get().(*grpcCall)
	c.s, c.ss, c.header = b.s, ss, make(http.Header, 4)
	c.ws, _ = grpc.ServerTransportStreamFromContext(ctx).(wireStream)
	if c.ws != nil {
		if rc := c.ws.RecvCompress(); rc != "" {
			r.Header.Set("Grpc-Encoding", rc)
		}
	}
	r.Body = c
	if panicked, err := b.serve(c, r.WithContext(ctx)); panicked {
		return err // c is not reused: the panic may have left it half-written
	}
	c.mu.Lock()
	c.done = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	err := c.finish()
	c.reset()
	b.pool.Put(c)
	return err
}

// requestHeader is md as net/http would give it: canonical keys, binary
// values base64-encoded, pseudo-headers and what connect must not see
// dropped. Connect is not told what the client accepts: grpc-go
// compresses the responses (send).
func requestHeader(md metadata.MD) http.Header {
	h := make(http.Header, len(md)+1)
	for k, vs := range md {
		switch {
		case k == "" || k[0] == ':', k == "grpc-accept-encoding", k == "te", k == "host":
			continue
		case strings.HasSuffix(k, "-bin"):
			enc := make([]string, len(vs))
			for i, v := range vs {
				enc[i] = connect.EncodeBinaryHeader([]byte(v))
			}
			vs = enc
		}
		h[http.CanonicalHeaderKey(k)] = vs
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/grpc")
	}
	h.Set("Te", "trailers")
	return h
}

func (c *grpcCall) reset() {
	in := c.in.b[:0]
	if cap(in) > 64<<10 {
		in = nil
	}
	msg := c.msg[:0]
	if cap(msg) > 64<<10 {
		msg = nil
	}
	// A body timer that fired late may still hold mu: the shared fields
	// change under it, and mu itself is never overwritten.
	c.mu.Lock()
	c.gen++
	c.inEOF, c.late, c.done, c.timer = false, false, false, nil
	c.mu.Unlock()
	c.s, c.ss, c.ws = nil, nil, nil
	c.hdr, c.inHdr, c.inLeft, c.in, c.inOff = [5]byte{}, 0, 0, rawMsg{b: in}, 0
	c.header, c.status, c.headerSent = nil, 0, false
	c.prefix, c.prefixN, c.msg, c.msgLen, c.err = [5]byte{}, 0, msg, 0, nil
}

// Close: grpc-go owns the stream.
func (c *grpcCall) Close() error { return nil }

func (c *grpcCall) Header() http.Header { return c.header }

func (c *grpcCall) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

// Write takes connect's envelopes and sends each message once whole.
func (c *grpcCall) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.WriteHeader(http.StatusOK)
	if c.status != http.StatusOK {
		return len(p), nil // a plain HTTP error body: the status says it
	}
	n := len(p)
	for len(p) > 0 {
		if c.prefixN < 5 {
			k := copy(c.prefix[c.prefixN:], p)
			c.prefixN += k
			p = p[k:]
			if c.prefixN < 5 {
				break
			}
			if c.prefix[0] != 0 {
				c.err = errors.New("grpc bridge: compressed response message")
				return 0, c.err
			}
			c.msgLen = int(c.prefix[1])<<24 | int(c.prefix[2])<<16 | int(c.prefix[3])<<8 | int(c.prefix[4])
			c.msg = c.msg[:0]
		}
		var whole []byte
		switch need := c.msgLen - len(c.msg); {
		case len(c.msg) == 0 && len(p) >= need:
			whole, p = p[:need], p[need:] // sent from connect's buffer: the codec copies it
		case len(p) >= need:
			c.msg, p = append(c.msg, p[:need]...), p[need:]
			whole = c.msg
		default:
			c.msg, p = append(c.msg, p...), nil
			continue
		}
		c.prefixN = 0
		if err := c.send(whole); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func (c *grpcCall) send(msg []byte) error {
	if !c.headerSent {
		c.headerSent = true
		c.sendCompressor(len(msg))
		if md := responseMD(c.header, false); len(md) > 0 {
			_ = c.ss.SetHeader(md)
		}
	}
	if err := c.ss.SendMsg(&rawMsg{b: msg}); err != nil {
		c.err = err
		return err
	}
	return nil
}

// sendCompressor compresses the responses as connect does on net/http:
// when the first message is over its threshold and the client takes gzip.
// (grpc-go would otherwise answer in the request's compression.)
func (c *grpcCall) sendCompressor(first int) {
	ctx := c.ss.Context()
	if first >= compressMinBytes {
		if names, err := grpc.ClientSupportedCompressors(ctx); err == nil && slices.Contains(names, "gzip") {
			_ = grpc.SetSendCompressor(ctx, "gzip")
			return
		}
	}
	if c.ws != nil && c.ws.RecvCompress() != "" {
		_ = grpc.SetSendCompressor(ctx, "identity")
	}
}

// Flush sends the response headers if no message has.
func (c *grpcCall) Flush() {
	if c.headerSent || c.err != nil || c.status > http.StatusOK {
		return
	}
	c.headerSent = true
	if err := c.ss.SendHeader(responseMD(c.header, false)); err != nil {
		c.err = err
	}
}

// finish turns the trailers connect set (in the headers of a
// trailers-only response) into the stream's trailer and status.
func (c *grpcCall) finish() error {
	if c.status != 0 && c.status != http.StatusOK {
		return status.Error(httpToGRPC(c.status), fmt.Sprintf("unexpected HTTP status %d (%s)", c.status, http.StatusText(c.status)))
	}
	if c.prefixN != 0 {
		return status.Error(codes.Internal, "handler ended within a message")
	}
	tr := responseMD(c.header, true)
	if tr.Len() == 0 && !c.headerSent {
		tr = responseMD(c.header, false)
	}
	st := trailerStatus(tr)
	for _, k := range []string{"grpc-status", "grpc-message", "grpc-status-details-bin"} {
		delete(tr, k)
	}
	if len(tr) > 0 {
		c.ss.SetTrailer(tr)
	}
	return st.Err()
}

func trailerStatus(tr metadata.MD) *status.Status {
	code := tr.Get("grpc-status")
	if len(code) == 0 {
		return status.New(codes.Internal, "handler sent no gRPC status")
	}
	n, err := strconv.ParseUint(code[0], 10, 32)
	if err != nil {
		return status.New(codes.Internal, "handler sent a malformed gRPC status")
	}
	var msg string
	if m := tr.Get("grpc-message"); len(m) > 0 {
		msg = percentDecode(m[0])
	}
	if d := tr.Get("grpc-status-details-bin"); len(d) > 0 {
		p := new(spb.Status)
		if proto.Unmarshal([]byte(d[0]), p) == nil {
			p.Code, p.Message = int32(n), msg
			return status.FromProto(p)
		}
	}
	return status.New(codes.Code(n), msg)
}

// responseMD is h's headers (or, with trailers, its TrailerPrefix keys)
// as gRPC metadata, without what grpc-go writes itself.
func responseMD(h http.Header, trailers bool) metadata.MD {
	md := make(metadata.MD, len(h))
	for k, vs := range h {
		t := strings.HasPrefix(k, http.TrailerPrefix)
		if t != trailers {
			continue
		}
		k = strings.ToLower(strings.TrimPrefix(k, http.TrailerPrefix))
		switch k {
		case "content-type", "content-length", "grpc-encoding", "grpc-accept-encoding", "trailer", "te", "date":
			continue
		}
		if strings.HasSuffix(k, "-bin") {
			dec := make([]string, 0, len(vs))
			for _, v := range vs {
				if b, err := connect.DecodeBinaryHeader(v); err == nil {
					dec = append(dec, string(b))
				}
			}
			vs = dec
		}
		md[k] = append(md[k], vs...)
	}
	return md
}

// percentDecode undoes gRPC's percent-encoding of grpc-message.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// httpToGRPC is gRPC's mapping of an HTTP status without a gRPC status.
func httpToGRPC(code int) codes.Code {
	switch code {
	case http.StatusBadRequest:
		return codes.Internal
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.Unimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return codes.Unavailable
	}
	return codes.Unknown
}

// serve runs the handler chain for one call. The chain's root
// (recoverPanics) logs any panic and aborts with http.ErrAbortHandler,
// which net/http would swallow; on this grpc-go goroutine nothing would,
// and the process would end: it answers INTERNAL instead.
func (b *grpcBridge) serve(c *grpcCall, r *http.Request) (panicked bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			panicked, err = true, status.Error(codes.Internal, errInternal.Error())
		}
	}()
	b.h.ServeHTTP(c, r)
	return false, nil
}
