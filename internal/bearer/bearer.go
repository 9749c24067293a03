// Package bearer is the client interceptor that sends a Licensor token as
// Authorization: Bearer on every call, unary and streaming; shared by the
// client library, the CLI and the tests.
package bearer

import (
	"context"

	"connectrpc.com/connect"
)

// Token is a connect.Interceptor sending "Authorization: Bearer <token>";
// an empty token sends nothing.
type Token string

var _ connect.Interceptor = Token("")

func (t Token) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if t != "" {
			req.Header().Set("Authorization", "Bearer "+string(t))
		}
		return next(ctx, req)
	}
}

func (t Token) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if t != "" {
			conn.RequestHeader().Set("Authorization", "Bearer "+string(t))
		}
		return conn
	}
}

func (t Token) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
