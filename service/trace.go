package service

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// signSpan opens a child span of the request's span around a signature
// (Config.TracerProvider), or returns nil when tracing is off or the
// request is not traced. End it with endSpan.
func (s *Service) signSpan(ctx context.Context, name string) trace.Span {
	if s.tracer == nil {
		return nil
	}
	if !trace.SpanFromContext(ctx).IsRecording() {
		return nil
	}
	_, span := s.tracer.Start(ctx, name)
	return span
}

func endSpan(span trace.Span) {
	if span != nil {
		span.End()
	}
}
