package tracing

import (
	"context"
	"strings"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/licensor/licensor"
)

// ScopeName names Licensor's tracers.
const ScopeName = "github.com/licensor/licensor"

// Attribute keys of the spans.
const (
	AttrTenant    = attribute.Key("licensor.tenant")
	attrSystem    = attribute.Key("rpc.system")
	attrService   = attribute.Key("rpc.service")
	attrMethod    = attribute.Key("rpc.method")
	attrErrorCode = attribute.Key("rpc.connect_rpc.error_code")
)

var propagator = propagation.TraceContext{}

// Interceptor opens a server span per RPC, named by its procedure, that
// continues the caller's trace (a W3C traceparent header) and ends with
// the call's connect code. Install it outermost, so that the span covers
// authentication, the threshold and the error mapping, and so that a log
// line written on the way out carries the trace id.
func Interceptor(tp trace.TracerProvider) connect.Interceptor {
	return &interceptor{tracer: tp.Tracer(ScopeName)}
}

type interceptor struct{ tracer trace.Tracer }

func (i *interceptor) start(ctx context.Context, spec connect.Spec, peer connect.Peer, header propagation.TextMapCarrier) (context.Context, trace.Span) {
	ctx = propagator.Extract(ctx, header)
	service, method := split(spec.Procedure)
	return i.tracer.Start(ctx, strings.TrimPrefix(spec.Procedure, "/"),
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attrSystem.String(system(peer.Protocol)), attrService.String(service), attrMethod.String(method)))
}

func end(span trace.Span, err error) {
	if err != nil {
		code := connect.CodeOf(err)
		span.SetAttributes(attrErrorCode.String(code.String()))
		span.SetStatus(codes.Error, code.String())
	}
	span.End()
}

func (i *interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if !req.Spec().IsClient {
			var span trace.Span
			ctx, span = i.start(ctx, req.Spec(), req.Peer(), propagation.HeaderCarrier(req.Header()))
			res, err := next(ctx, req)
			end(span, err)
			return res, err
		}
		return next(ctx, req)
	}
}

func (i *interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, span := i.start(ctx, conn.Spec(), conn.Peer(), propagation.HeaderCarrier(conn.RequestHeader()))
		err := next(ctx, conn)
		end(span, err)
		return err
	}
}

// TenantInterceptor names the tenant on the RPC's span. Install it after
// authentication, which scopes the context to the tenant.
func TenantInterceptor() connect.Interceptor { return tenantInterceptor{} }

type tenantInterceptor struct{}

func tagTenant(ctx context.Context) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	id, ok := licensor.TenantFrom(ctx)
	if !ok {
		var a licensor.Actor
		if a, ok = licensor.ActorFrom(ctx); ok {
			id = a.TenantID
		}
	}
	if id != "" {
		span.SetAttributes(AttrTenant.String(id))
	}
}

func (tenantInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		tagTenant(ctx)
		return next(ctx, req)
	}
}

func (tenantInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (tenantInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		tagTenant(ctx)
		return next(ctx, conn)
	}
}

// split turns "/licensor.v1.LicenseService/GetLicense" into its service
// and method.
func split(p string) (string, string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

func system(protocol string) string {
	switch protocol {
	case connect.ProtocolGRPC, connect.ProtocolGRPCWeb:
		return "grpc"
	default:
		return "connect_rpc"
	}
}

// Child opens a span named name under ctx's span, for a step of a request
// (the store, signing). With no recording span in ctx it returns ctx and a
// no-op span without allocating.
func Child(ctx context.Context, tp trace.TracerProvider, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	return tp.Tracer(ScopeName).Start(ctx, name, trace.WithAttributes(attrs...))
}
