package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/internal/tracing"
)

func recorded(t *testing.T) (*tracing.Tracing, *tracetest.SpanRecorder) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tr, err := tracing.New(context.Background(), sdktrace.WithSpanProcessor(sr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, sr
}

func attr(s sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, a := range s.Attributes() {
		if a.Key == k {
			return a.Value.String()
		}
	}
	return ""
}

// Each RPC is a server span with its method and tenant, continuing the
// caller's trace; signing and the store are its children; a refused call's
// span carries the code. Both protocols.
func TestSpans(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			tr, sr := recorded(t)
			s := testserver.Start(t, testserver.Options{Tracing: tr})
			f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 20 * 24 * time.Hour})
			lic := s.License(p, f.ContractToken)
			ctx := context.Background()

			const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
			req := connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "node-1"})
			req.Header().Set("traceparent", traceparent)
			if _, err := lic.GetLicense(ctx, req); err != nil {
				t.Fatalf("GetLicense: %v", err)
			}
			if _, err := lic.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: "con_other", InstanceId: "node-1"})); connect.CodeOf(err) != connect.CodePermissionDenied {
				t.Fatalf("GetLicense of another contract: got %v, want permission_denied", err)
			}

			spans := sr.Ended()
			byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
			var rpcs []sdktrace.ReadOnlySpan
			for _, sp := range spans {
				byID[sp.SpanContext().SpanID()] = sp
				if sp.Name() == "licensor.v1.LicenseService/GetLicense" {
					rpcs = append(rpcs, sp)
				}
			}
			if len(rpcs) != 2 {
				t.Fatalf("GetLicense spans: got %d, want 2 (of %d spans)", len(rpcs), len(spans))
			}
			ok, refused := rpcs[0], rpcs[1]
			if got := ok.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
				t.Errorf("trace id: got %s, want the caller's", got)
			}
			if ok.SpanKind() != trace.SpanKindServer {
				t.Errorf("span kind: got %v, want server", ok.SpanKind())
			}
			for k, want := range map[attribute.Key]string{
				tracing.AttrTenant: f.TenantID, "rpc.method": "GetLicense", "rpc.service": "licensor.v1.LicenseService",
			} {
				if got := attr(ok, k); got != want {
					t.Errorf("attribute %s: got %q, want %q", k, got, want)
				}
			}
			if ok.Status().Code == codes.Error {
				t.Errorf("status of a served call: got %v", ok.Status())
			}
			if refused.Status().Code != codes.Error || attr(refused, "rpc.connect_rpc.error_code") != "permission_denied" {
				t.Errorf("refused call: got status %v, code %q; want error, permission_denied", refused.Status(), attr(refused, "rpc.connect_rpc.error_code"))
			}

			// sign.license is a child of the served call; a store span is
			// a child of an RPC span (the fixture's writes).
			var signed, stored bool
			for _, sp := range spans {
				parent, hasParent := byID[sp.Parent().SpanID()]
				switch {
				case sp.Name() == "sign.license" && sp.Parent().SpanID() == ok.SpanContext().SpanID():
					signed = true
				case len(sp.Name()) > 6 && sp.Name()[:6] == "store." && hasParent && parent.SpanKind() == trace.SpanKindServer:
					stored = true
				}
			}
			if !signed {
				t.Error("no sign.license span under the GetLicense span")
			}
			if !stored {
				t.Error("no store span under an RPC span")
			}
		})
	}
}

// A log line written with a traced context names the trace and the span.
func TestLogHandler(t *testing.T) {
	tr, _ := recorded(t)
	var buf bytes.Buffer
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx, span := tr.Provider.Tracer("test").Start(context.Background(), "op")
	log.InfoContext(ctx, "traced")
	span.End()
	log.Info("untraced")

	dec := json.NewDecoder(&buf)
	var traced, untraced map[string]any
	if err := dec.Decode(&traced); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&untraced); err != nil {
		t.Fatal(err)
	}
	if got, want := traced["trace_id"], span.SpanContext().TraceID().String(); got != want {
		t.Errorf("trace_id: got %v, want %s", got, want)
	}
	if got, want := traced["span_id"], span.SpanContext().SpanID().String(); got != want {
		t.Errorf("span_id: got %v, want %s", got, want)
	}
	if traced["component"] != "test" {
		t.Errorf("component: got %v, want the logger's attributes kept", traced["component"])
	}
	if _, has := untraced["trace_id"]; has {
		t.Errorf("untraced line: got trace_id %v, want none", untraced["trace_id"])
	}
}

func TestWanted(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		on       bool
		protocol string
		err      bool
	}{
		{"NothingSet", nil, false, "", false},
		{"Endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true, "http/protobuf", false},
		{"TracesEndpointGRPC", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, "grpc", false},
		{"ExporterOTLP", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, "http/protobuf", false},
		{"ExporterNone", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, false, "", false},
		{"SDKDisabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, false, "", false},
		{"ErrExporterZipkin", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, "", true},
		{"ErrProtocol", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, false, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			on, protocol, err := tracing.Wanted(func(k string) string { return tc.env[k] })
			if on != tc.on || protocol != tc.protocol || (err != nil) != tc.err {
				t.Errorf("got %v, %q, %v; want %v, %q, error %v", on, protocol, err, tc.on, tc.protocol, tc.err)
			}
		})
	}
}

// With nothing set, FromEnv is off and dials nothing.
func TestFromEnvOff(t *testing.T) {
	tr, err := tracing.FromEnv(context.Background(), func(string) string { return "" })
	if err != nil || tr.Enabled {
		t.Fatalf("got enabled %v, %v; want off", tr.Enabled, err)
	}
	if _, span := tr.Provider.Tracer("x").Start(context.Background(), "op"); span.IsRecording() {
		t.Error("off: a span records")
	}
}

// With an endpoint set, FromEnv builds the exporter without dialling.
func TestFromEnvOn(t *testing.T) {
	for _, proto := range []string{"http/protobuf", "grpc"} {
		env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": proto}
		tr, err := tracing.FromEnv(context.Background(), func(k string) string { return env[k] })
		if err != nil || !tr.Enabled {
			t.Fatalf("%s: got enabled %v, %v; want on", proto, tr != nil && tr.Enabled, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = tr.Shutdown(ctx) // nothing buffered: nothing to send
		cancel()
	}
}
