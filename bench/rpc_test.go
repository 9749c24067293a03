package bench

import (
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// A grpc-go error must read like a connect-go one: the status code decides
// refusals and retries, the metadata carries the server's retry hint.
func TestFromStatus(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		md       []metadata.MD
		code     connect.Code
		hint     time.Duration
		retrying bool
	}{
		{"RefusedWithHintInTrailer", status.Error(codes.ResourceExhausted, "tenant over its threshold"),
			[]metadata.MD{nil, metadata.Pairs("licensor-retry-after-ms", "1500")}, connect.CodeResourceExhausted, 1500 * time.Millisecond, true},
		{"RefusedWithRetryAfterHeader", status.Error(codes.ResourceExhausted, "busy"),
			[]metadata.MD{metadata.Pairs("retry-after", "2")}, connect.CodeResourceExhausted, 2 * time.Second, true},
		{"Unavailable", status.Error(codes.Unavailable, "connection refused"), nil, connect.CodeUnavailable, 0, true},
		{"NotFound", status.Error(codes.NotFound, "no such contract"), nil, connect.CodeNotFound, 0, false},
		{"PermissionDenied", status.Error(codes.PermissionDenied, "token revoked"), nil, connect.CodePermissionDenied, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fromStatus(tc.err, tc.md...)
			var ce *connect.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %T, want *connect.Error", err)
			}
			if ce.Code() != tc.code {
				t.Errorf("code: got %v, want %v", ce.Code(), tc.code)
			}
			if ce.Message() != status.Convert(tc.err).Message() {
				t.Errorf("message: got %q, want the server's %q", ce.Message(), status.Convert(tc.err).Message())
			}
			if got := retryHint(err); got != tc.hint {
				t.Errorf("retry hint: got %v, want %v", got, tc.hint)
			}
			if got := Retryable(err); got != tc.retrying {
				t.Errorf("retryable: got %v, want %v", got, tc.retrying)
			}
		})
	}
	plain := errors.New("dial: no route")
	if got := fromStatus(plain); got != plain {
		t.Errorf("a non-status error: got %v, want it unchanged", got)
	}
}
