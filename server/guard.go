package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/netguard"
	"github.com/licensor/licensor/rpcerr"
)

// Paths of the API that need a token. The gRPC health service, the JWKS,
// the OpenAPI document and /healthz, /readyz stay open (no tenant data in
// them); reflection needs a token of any role (grpcurl -H 'Authorization:
// Bearer ...').
var tokenPaths = []string{"/licensor.v1.", "/grpc.reflection."}

func needsToken(path string) bool {
	for _, p := range tokenPaths {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// guard runs in front of every handler, before anything reads the body:
// it marks the request on its connection, bounds the body in time and
// size, and checks the token of API calls, so a caller without a valid one
// is refused before its body is read or inflated. The actor it resolves
// reaches authInterceptor through the context, which then has nothing left
// to check.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		growStack()
		conn := netguard.ConnFrom(r.Context())
		conn.Begin()
		defer conn.End()
		if r.ContentLength > s.maxBodyBytes() {
			s.guardMetrics.BodyTooLarge()
			s.refuse(w, r, errTooLarge(s.limits.MaxMessageBytes))
			return
		}
		if needsToken(r.URL.Path) {
			ctx, err := authInterceptor{svc: s.cfg.Service}.authenticate(r.Context(), r.Header)
			if err != nil {
				s.guardMetrics.Unauthenticated()
				s.refuse(w, r, err)
				return
			}
			conn.Authenticated()
			r = r.WithContext(ctx)
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = s.boundBody(w, r.Body)
		}
		next.ServeHTTP(w, r)
	})
}

// maxBodyBytes is the most a request body may carry: one message at the
// limit, its envelope and some slack; 0 when unlimited.
func (s *Server) maxBodyBytes() int64 {
	if s.limits.MaxMessageBytes <= 0 {
		return 1<<63 - 1
	}
	return int64(s.limits.MaxMessageBytes) + 1<<10
}

// refuse answers err in the caller's protocol (Connect, gRPC, gRPC-Web or
// plain HTTP) without reading the request body. An HTTP/1 connection is
// closed after it: net/http would otherwise read up to 256 KiB of the
// unread body first, at whatever pace the client sends it.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var ce *connect.Error
	if !errors.As(toConnect(r.Context(), s.log, r.URL.Path, err), &ce) {
		ce = connect.NewError(connect.CodeInternal, errInternal)
	}
	if r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
	if s.errWriter.IsSupported(r) {
		_ = s.errWriter.Write(w, r, ce)
		return
	}
	writeJSONError(w, httpStatus(ce.Code()), ce.Code().String(), ce.Message())
}

func httpStatus(c connect.Code) int {
	switch c {
	case connect.CodeUnauthenticated:
		return http.StatusUnauthorized
	case connect.CodeInvalidArgument:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// errTooLarge is the answer to a request over the size limit. It is
// INVALID_ARGUMENT, not RESOURCE_EXHAUSTED: sending the same request again
// cannot succeed, and the client library and bench retry the latter.
func errTooLarge(limit int) *connect.Error {
	ce := connect.NewError(connect.CodeInvalidArgument,
		fmt.Errorf("request message is larger than this server's limit of %d bytes (--max-message-bytes); send a smaller one", limit))
	ce.Meta().Set(rpcerr.HeaderErrorCode, licensor.EINVALID)
	return ce
}

// boundBody gives the body BodyTimeout to arrive and caps its size. The
// read deadline does not outlive the body, so a server stream (whose
// request ends at once) is not cut later: on HTTP/1 net/http clears it
// when the body ends, on HTTP/2 it only fails reads of the body
// (TestSlowBodyCut watches over both).
func (s *Server) boundBody(w http.ResponseWriter, body io.ReadCloser) io.ReadCloser {
	if d := s.limits.BodyTimeout; d > 0 {
		// Unsupported by some writers (httptest recorders): then only the
		// size is bounded.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
	}
	return &boundedBody{body: body, s: s, max: s.maxBodyBytes()}
}

type boundedBody struct {
	body io.ReadCloser
	s    *Server
	max  int64
	n    int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.n += int64(n)
	switch {
	case b.n > b.max:
		b.s.guardMetrics.BodyTooLarge()
		return 0, errTooLarge(b.s.limits.MaxMessageBytes)
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		b.s.guardMetrics.BodyDeadline()
		return n, connect.NewError(connect.CodeDeadlineExceeded,
			fmt.Errorf("request body did not arrive within %s (--body-timeout)", b.s.limits.BodyTimeout))
	}
	return n, err
}

func (b *boundedBody) Close() error { return b.body.Close() }

// growFrame is a frame size that makes the runtime grow a small stack to
// 16 KiB in one step (it doubles the stack until the frame fits): what a
// unary call needs down to its deepest frame (connect's codec, the
// interceptors, the service, signing).
const growFrame = 8 << 10

// growStack grows the calling goroutine's stack to 16 KiB at once.
// net/http runs each request on a new goroutine whose stack starts small;
// left alone, it grows twice deep inside the call, and each growth copies
// and adjusts every frame below it. Growing it here, a few frames from the
// goroutine's start, costs one copy of those few frames.
//
//go:noinline
func growStack() {
	var buf [growFrame]byte
	stackSink(buf[:])
}

//go:noinline
func stackSink([]byte) {}
