package metrics

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
)

// Interceptor counts and times every RPC, and counts the licenses issued.
// Install it in server.Config.Interceptors: it then runs inside the error
// mapping and outside authentication, so refused calls are counted too.
func (m *Metrics) Interceptor() connect.Interceptor { return interceptor{m} }

type interceptor struct{ m *Metrics }

// procedure holds one procedure's series of a unary call, resolved once:
// a vector's WithLabelValues hashes the label values and takes a lock on
// every call. The series of a success are resolved at the first success,
// so that a procedure never called successfully shows no "ok" series, as
// with WithLabelValues.
type procedure struct {
	name            string
	service, method string
	latency         prometheus.Observer
	success         sync.Once
	ok              prometheus.Counter
	issued          prometheus.Counter // nil: the method issues no license
}

func (m *Metrics) procedure(name string) *procedure {
	if p, ok := m.procedures.Load(name); ok {
		return p.(*procedure)
	}
	service, method := splitProcedure(name)
	p, _ := m.procedures.LoadOrStore(name, &procedure{name: name, service: service, method: method,
		latency: m.latency.WithLabelValues(service, method)})
	return p.(*procedure)
}

func (p *procedure) succeeded(m *Metrics) {
	p.success.Do(func() {
		p.ok = m.requests.WithLabelValues(p.service, p.method, "ok")
		if p.method == "GetLicense" || p.method == "IssueLicenseFile" {
			p.issued = m.issued.WithLabelValues(p.method)
		}
	})
	p.ok.Inc()
	if p.issued != nil {
		p.issued.Inc()
	}
}

func (i interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	// On a server, connect wraps each procedure's handler on its own: the
	// procedure this closure serves is looked up once, on its first call.
	var last atomic.Pointer[procedure]
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		spec := req.Spec()
		if spec.IsClient {
			return next(ctx, req)
		}
		started := time.Now()
		res, err := next(ctx, req)
		p := last.Load()
		if p == nil || p.name != spec.Procedure {
			p = i.m.procedure(spec.Procedure)
			last.Store(p)
		}
		if err == nil {
			p.succeeded(i.m)
		} else {
			i.m.requests.WithLabelValues(p.service, p.method, i.m.code(err)).Inc()
		}
		p.latency.Observe(time.Since(started).Seconds())
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
