package server_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testlog"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/server"
)

// TestHandlerPanic: a call that panics (a bug) in the handler chain, in
// an interceptor inside the metrics or in one outside every other, is
// answered INTERNAL and logged with its stack, and the server goes on
// serving, whichever client stack calls: connect-go's gRPC and Connect,
// and grpc-go (served by grpc-go's transport, where nothing but the
// server recovers a panic).
func TestHandlerPanic(t *testing.T) {
	logger, logs := testlog.New(slog.LevelError)
	panicsOn := func(instance string) connect.Interceptor {
		return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				if r, ok := req.Any().(*v1.GetLicenseRequest); ok && r.InstanceId == instance {
					panic("a bug")
				}
				return next(ctx, req)
			}
		})
	}
	s := testserver.Start(t, testserver.Options{
		Logger: logger,
		Configure: func(c *server.Config) {
			c.InnerInterceptors = append(c.InnerInterceptors, panicsOn("inner"))
			c.OuterInterceptors = append([]connect.Interceptor{panicsOn("outer")}, c.OuterInterceptors...)
		},
	})
	f := s.NewFixture(t, testserver.FixtureOptions{})
	clients := map[string]licenseGetter{"grpc-go": grpcGoLicense(t, s, f.ContractToken)}
	for _, p := range testserver.Protocols {
		clients[string(p)] = s.License(p, f.ContractToken)
	}
	calls := 0
	for name, cl := range clients {
		for _, where := range []string{"inner", "outer"} {
			_, err := cl.GetLicense(t.Context(), connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: where, Host: "node-1"}))
			calls++
			if !isInternal(err) || strings.Contains(err.Error(), "a bug") {
				t.Errorf("%s, a panic %s: got %v, want INTERNAL that does not show the panic", name, where, err)
			}
			res, err := cl.GetLicense(t.Context(), connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "node-1", Host: "node-1"}))
			if err != nil || res == nil {
				t.Errorf("%s, the call after a panic %s: got error %v, want a license", name, where, err)
			}
		}
	}
	out := logs.String()
	if n := strings.Count(out, `msg="panic in handler"`); n != calls || strings.Count(out, "panic_test.go") < calls {
		t.Errorf("want %d 'panic in handler' lines, each with its stack; got %d; log:\n%s", calls, n, out)
	}
}

// isInternal reports whether err is INTERNAL, from connect-go or grpc-go.
func isInternal(err error) bool {
	return connect.CodeOf(err) == connect.CodeInternal || status.Code(err) == codes.Internal
}
