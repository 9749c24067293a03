package rpcerr_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/rpcerr"
)

// allCodes is every domain code of error.go: the table must carry each.
var allCodes = []string{
	licensor.EINVALID, licensor.ENOTFOUND, licensor.ECONFLICT, licensor.EUNAUTHORIZED, licensor.EFORBIDDEN,
	licensor.EEXHAUSTED, licensor.EPRECONDITION, licensor.EUNAVAILABLE, licensor.EINTERNAL,
}

// TestRoundTrip: every domain code goes out as one connect code, no two
// codes share one, and each comes back as itself, through the code alone
// (a proxy dropped the metadata) and through a whole encoded error.
func TestRoundTrip(t *testing.T) {
	if got, want := len(rpcerr.Codes()), len(allCodes); got != want {
		t.Fatalf("Codes: got %d codes, want %d", got, want)
	}
	seen := map[connect.Code]string{}
	for _, code := range allCodes {
		t.Run(code, func(t *testing.T) {
			c := rpcerr.ToConnect(code)
			if other, dup := seen[c]; dup {
				t.Fatalf("ToConnect(%s) = %v, the code of %s too", code, c, other)
			}
			seen[c] = code
			if !rpcerr.Known(code) {
				t.Errorf("Known(%s): got false, want true", code)
			}
			if got := rpcerr.FromConnect(c); got != code {
				t.Errorf("FromConnect(ToConnect(%s) = %v): got %s, want %s", code, c, got, code)
			}
			sent := rpcerr.Encode(&licensor.Error{Code: code, Message: "msg " + code, RetryAfter: 1500 * time.Millisecond})
			if sent.Code() != c {
				t.Errorf("Encode: got connect code %v, want %v", sent.Code(), c)
			}
			got := rpcerr.Decode(fmt.Errorf("call: %w", sent))
			if got.Code != code || got.Message != "msg "+code || got.RetryAfter != 1500*time.Millisecond {
				t.Errorf("Decode(Encode): got %s %q retry %v, want %s %q retry 1.5s", got.Code, got.Message, got.RetryAfter, code, "msg "+code)
			}
			if !rpcerr.FromServer(sent) {
				t.Errorf("FromServer(Encode(...)): got false, want true")
			}
		})
	}
}

// TestToConnect pins the table: clients in other languages read these.
func TestToConnect(t *testing.T) {
	for _, tc := range []struct {
		code string
		want connect.Code
	}{
		{licensor.EINVALID, connect.CodeInvalidArgument},
		{licensor.ENOTFOUND, connect.CodeNotFound},
		{licensor.ECONFLICT, connect.CodeAlreadyExists},
		{licensor.EUNAUTHORIZED, connect.CodeUnauthenticated},
		{licensor.EFORBIDDEN, connect.CodePermissionDenied},
		{licensor.EEXHAUSTED, connect.CodeResourceExhausted},
		{licensor.EPRECONDITION, connect.CodeFailedPrecondition},
		{licensor.EUNAVAILABLE, connect.CodeUnavailable},
		{licensor.EINTERNAL, connect.CodeInternal},
		{"no_such_code", connect.CodeInternal},
	} {
		t.Run(tc.code, func(t *testing.T) {
			if got := rpcerr.ToConnect(tc.code); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFromConnectOthers: the codes no domain code is sent as.
func TestFromConnectOthers(t *testing.T) {
	for _, tc := range []struct {
		code connect.Code
		want string
	}{
		{connect.CodeAborted, licensor.ECONFLICT},
		{connect.CodeDeadlineExceeded, licensor.EUNAVAILABLE},
		{connect.CodeUnknown, licensor.EUNAVAILABLE},
		{connect.CodeCanceled, licensor.EUNAVAILABLE},
		{connect.CodeUnimplemented, licensor.EINTERNAL},
		{connect.CodeDataLoss, licensor.EINTERNAL},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			if got := rpcerr.FromConnect(tc.code); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	withMeta := func(c connect.Code, kv ...string) error {
		e := connect.NewError(c, errors.New("server says"))
		for i := 0; i+1 < len(kv); i += 2 {
			e.Meta().Set(kv[i], kv[i+1])
		}
		return e
	}
	for _, tc := range []struct {
		name  string
		err   error
		code  string
		retry time.Duration
	}{
		{"HeaderWins", withMeta(connect.CodeAlreadyExists, rpcerr.HeaderErrorCode, licensor.ECONFLICT), licensor.ECONFLICT, 0},
		{"UnknownHeaderIgnored", withMeta(connect.CodeNotFound, rpcerr.HeaderErrorCode, "bogus"), licensor.ENOTFOUND, 0},
		{"NoHeader", withMeta(connect.CodeResourceExhausted), licensor.EEXHAUSTED, 0},
		{"RetryMs", withMeta(connect.CodeResourceExhausted, rpcerr.HeaderRetryAfterMs, "250", rpcerr.HeaderRetryAfter, "1"), licensor.EEXHAUSTED, 250 * time.Millisecond},
		{"RetrySeconds", withMeta(connect.CodeUnavailable, rpcerr.HeaderRetryAfter, " 30 "), licensor.EUNAVAILABLE, 30 * time.Second},
		{"RetryGarbage", withMeta(connect.CodeUnavailable, rpcerr.HeaderRetryAfterMs, "soon", rpcerr.HeaderRetryAfter, "-1"), licensor.EUNAVAILABLE, 0},
		{"Network", errors.New("dial tcp: connection refused"), licensor.EUNAVAILABLE, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rpcerr.Decode(tc.err)
			if got.Code != tc.code || got.RetryAfter != tc.retry {
				t.Errorf("got %s retry %v, want %s retry %v", got.Code, got.RetryAfter, tc.code, tc.retry)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("got an error that does not wrap the original")
			}
		})
	}
	if rpcerr.Decode(nil) != nil {
		t.Errorf("Decode(nil): got non-nil, want nil")
	}
}

// TestSetMeta: the seconds hint is rounded up, so that a client honouring
// only Retry-After never comes back early.
func TestSetMeta(t *testing.T) {
	for _, tc := range []struct {
		retry      time.Duration
		secs, msec string
	}{
		{0, "", ""},
		{1 * time.Millisecond, "1", "1"},
		{500 * time.Millisecond, "1", "500"},
		{time.Second, "1", "1000"},
		{1001 * time.Millisecond, "2", "1001"},
	} {
		t.Run(tc.retry.String(), func(t *testing.T) {
			h := http.Header{}
			rpcerr.SetMeta(h, licensor.EEXHAUSTED, tc.retry)
			if got := h.Get(rpcerr.HeaderErrorCode); got != licensor.EEXHAUSTED {
				t.Errorf("%s: got %q, want %q", rpcerr.HeaderErrorCode, got, licensor.EEXHAUSTED)
			}
			if got := h.Get(rpcerr.HeaderRetryAfter); got != tc.secs {
				t.Errorf("%s: got %q, want %q", rpcerr.HeaderRetryAfter, got, tc.secs)
			}
			if got := h.Get(rpcerr.HeaderRetryAfterMs); got != tc.msec {
				t.Errorf("%s: got %q, want %q", rpcerr.HeaderRetryAfterMs, got, tc.msec)
			}
		})
	}
}
