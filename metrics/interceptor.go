package metrics

import (
	"context"
	"time"

	"connectrpc.com/connect"
)

// Interceptor counts and times every RPC, and counts the licenses issued.
// Install it in server.Config.Interceptors: it then runs inside the error
// mapping and outside authentication, so refused calls are counted too.
func (m *Metrics) Interceptor() connect.Interceptor { return interceptor{m} }

type interceptor struct{ m *Metrics }

func (i interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		started := time.Now()
		res, err := next(ctx, req)
		service, method := splitProcedure(req.Spec().Procedure)
		i.m.requests.WithLabelValues(service, method, i.m.code(err)).Inc()
		i.m.latency.WithLabelValues(service, method).Observe(time.Since(started).Seconds())
		if err == nil && (method == "GetLicense" || method == "IssueLicenseFile") {
			i.m.issued.WithLabelValues(method).Inc()
		}
		return res, err
	}
}

func (i interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		service, method := splitProcedure(conn.Spec().Procedure)
		if method == "WatchLicense" {
			conn = countingConn{StreamingHandlerConn: conn, m: i.m, method: method}
		}
		err := next(ctx, conn)
		// A stream's duration is how long a client watched, not latency:
		// streams are counted, not timed.
		i.m.requests.WithLabelValues(service, method, i.m.code(err)).Inc()
		return err
	}
}

// countingConn counts each license pushed on a watch stream.
type countingConn struct {
	connect.StreamingHandlerConn
	m      *Metrics
	method string
}

func (c countingConn) Send(msg any) error {
	err := c.StreamingHandlerConn.Send(msg)
	if err == nil {
		c.m.issued.WithLabelValues(c.method).Inc()
	}
	return err
}
