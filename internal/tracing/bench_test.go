package tracing_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/trace/noop"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/tracing"
)

// The interceptor's cost per call around a handler that does nothing:
// "no-op provider" is what an interceptor would cost with tracing off (the
// server installs none then), "recording" a sampled span with no exporter.
//
//	go test -run '^$' -bench Interceptor -benchtime 200000x ./internal/tracing/
func BenchmarkInterceptor(b *testing.B) {
	handler := func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) { return nil, nil }
	req := connect.NewRequest(&v1.GetLicenseRequest{})
	rec, err := tracing.New(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		fn   connect.UnaryFunc
	}{
		{"none", handler},
		{"noop-provider", tracing.Interceptor(noop.NewTracerProvider()).WrapUnary(tracing.TenantInterceptor().WrapUnary(handler))},
		{"recording", tracing.Interceptor(rec.Provider).WrapUnary(tracing.TenantInterceptor().WrapUnary(handler))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, _ = bc.fn(ctx, req)
			}
		})
	}
}
