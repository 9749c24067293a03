package store

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracer is set by SetTracerProvider; nil (the default) traces nothing
// and costs one atomic load per statement.
type tracerBox struct{ t trace.Tracer }

// SetTracerProvider makes the store open a child span of the request's
// span for each write transaction (named store.<op>) and each read
// statement (store.read). Call it before the store serves requests; nil
// turns tracing off.
func (db *DB) SetTracerProvider(tp trace.TracerProvider) {
	if tp == nil {
		db.tracer.Store(nil)
		return
	}
	db.tracer.Store(&tracerBox{tp.Tracer("github.com/licensor/licensor/store")})
}

// span opens a child span of ctx's recording span, or returns nil.
func (db *DB) span(ctx context.Context, name string) (context.Context, trace.Span) {
	tb := db.tracer.Load()
	if tb == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	return tb.t.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.String("db.system", db.d.Name)))
}

func endSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// tracedConn opens a span for each statement on its Conn.
type tracedConn struct {
	Conn
	db *DB
}

func (c tracedConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx, span := c.db.span(ctx, "store.read")
	n, err := c.Conn.Exec(ctx, query, args...)
	endSpan(span, err)
	return n, err
}

func (c tracedConn) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	ctx, span := c.db.span(ctx, "store.read")
	rows, err := c.Conn.Query(ctx, query, args...)
	endSpan(span, err)
	return rows, err
}

func (c tracedConn) QueryRow(ctx context.Context, query string, args ...any) Row {
	ctx, span := c.db.span(ctx, "store.read")
	row := c.Conn.QueryRow(ctx, query, args...)
	endSpan(span, nil) // the row's error comes out of Scan, later
	return row
}
