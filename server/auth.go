package server

import (
	"context"
	"crypto/x509"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/service"
)

// authInterceptor resolves the bearer token to an Actor and puts it in the
// context. What the actor may do is decided by the service.
type authInterceptor struct{ svc *service.Service }

func bearer(h http.Header) string {
	v := h.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

func (i authInterceptor) authenticate(ctx context.Context, h http.Header) (context.Context, error) {
	if _, ok := licensor.ActorFrom(ctx); ok {
		// Done by guard before the body was read: only an authentication
		// puts an actor in a request's context.
		return ctx, nil
	}
	if h.Get("Authorization") != "" && bearer(h) == "" {
		return ctx, licensor.Errorf(licensor.EUNAUTHORIZED, "Authorization header must be \"Bearer <token>\"")
	}
	a, err := i.svc.Authenticate(ctx, bearer(h))
	if err != nil {
		return ctx, err
	}
	return licensor.WithActor(ctx, a), nil
}

func (i authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		ctx, err := i.authenticate(ctx, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (i authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.authenticate(ctx, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

type peerCertsKey struct{}

// withPeerCerts keeps the TLS client certificates of the connection in the
// request context, for contracts that require mutual TLS.
func withPeerCerts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			r = r.WithContext(context.WithValue(r.Context(), peerCertsKey{}, r.TLS.PeerCertificates))
		}
		next.ServeHTTP(w, r)
	})
}

func peerCerts(ctx context.Context) []*x509.Certificate {
	c, _ := ctx.Value(peerCertsKey{}).([]*x509.Certificate)
	return c
}
