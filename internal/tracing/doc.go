// Package tracing is Licensor's OpenTelemetry tracing: the tracer provider
// built from the standard OTEL_* environment variables (off unless one of
// them asks for traces), the connect interceptors that open a span per RPC
// and name its tenant, and the slog handler that writes the trace and span
// ids into each log line written in a traced request.
//
// It must never make tracing a cost when it is off: with no OTEL_* variable
// set, FromEnv returns a no-op provider and internal/app installs none of
// the interceptors.
package tracing
