package tracing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/licensor/licensor/internal/buildinfo"
)

// Tracing is the process's tracer provider and how to flush it.
type Tracing struct {
	// Provider makes the tracers; a no-op one when tracing is off.
	Provider trace.TracerProvider
	// Enabled tells whether spans are recorded and exported.
	Enabled  bool
	shutdown func(context.Context) error
}

// Off is tracing turned off: a no-op provider.
func Off() *Tracing { return &Tracing{Provider: noop.NewTracerProvider()} }

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.shutdown == nil {
		return nil
	}
	return t.shutdown(ctx)
}

// Wanted tells from the environment whether traces are to be exported, and
// over which OTLP protocol. The rules are the OpenTelemetry SDK's:
// OTEL_SDK_DISABLED=true turns everything off; OTEL_TRACES_EXPORTER is
// "otlp" (on) or "none" (off), and any other exporter is refused; unset, an
// OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or ..._TRACES_ENDPOINT) turns
// tracing on. The protocol is OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" (the default) or "grpc".
func Wanted(getenv func(string) string) (on bool, protocol string, err error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false, "", nil
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return false, "", nil
	case "otlp":
		on = true
	case "":
		on = getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	default:
		return false, "", fmt.Errorf("OTEL_TRACES_EXPORTER=%q: this server exports traces over OTLP only (otlp or none)", exp)
	}
	if !on {
		return false, "", nil
	}
	protocol = getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch protocol {
	case "", "http/protobuf":
		return true, "http/protobuf", nil
	case "grpc":
		return true, "grpc", nil
	default:
		return false, "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: use http/protobuf or grpc", protocol)
	}
}

// FromEnv builds the tracer provider the environment asks for (see
// Wanted): an OTLP exporter that reads its endpoint, headers, TLS and
// timeout from the OTEL_EXPORTER_OTLP_* variables, a batch processor, the
// sampler of OTEL_TRACES_SAMPLER (parent-based always-on by default) and a
// resource named licensor with this build's version, overridden by
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. Nothing is dialled here:
// the exporter connects when it first exports.
func FromEnv(ctx context.Context, getenv func(string) string) (*Tracing, error) {
	on, protocol, err := Wanted(getenv)
	if err != nil || !on {
		return Off(), err
	}
	var exp sdktrace.SpanExporter
	if protocol == "grpc" {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	return New(ctx, sdktrace.WithBatcher(exp))
}

// New returns tracing on, with the span processors of opts (a test passes
// a tracetest.SpanRecorder) and Licensor's resource.
func New(ctx context.Context, opts ...sdktrace.TracerProviderOption) (*Tracing, error) {
	bi := buildinfo.Read()
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "licensor"), attribute.String("service.version", bi.Version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // last: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithResource(res)}, opts...)...)
	return &Tracing{Provider: tp, Enabled: true, shutdown: tp.Shutdown}, nil
}
