package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	grpcgzip "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/rpcerr"
	"github.com/licensor/licensor/server"
)

// Test procedures mounted beside the API: an error with details and a
// retry hint, and a server stream whose second message waits for the
// client to have read the first (so each must be sent as it is flushed).
const (
	failProc   = "/licensor.test.Probe/Fail"
	streamProc = "/licensor.test.Probe/Stream"
)

func mountProbe(g *guarded) (next chan struct{}) {
	next = make(chan struct{}, 1)
	var opts []connect.HandlerOption // outside the API: no token
	g.srv.Handle(failProc, connect.NewUnaryHandler(failProc,
		func(context.Context, *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
			ce := connect.NewError(connect.CodeResourceExhausted, errors.New("busy: try again soon"))
			d, _ := connect.NewErrorDetail(durationpb.New(1500 * time.Millisecond))
			ce.AddDetail(d)
			rpcerr.SetMeta(ce.Meta(), licensor.EEXHAUSTED, 1500*time.Millisecond)
			return nil, ce
		}, opts...))
	g.srv.Handle(streamProc, connect.NewServerStreamHandler(streamProc,
		func(ctx context.Context, req *connect.Request[wrapperspb.StringValue], st *connect.ServerStream[wrapperspb.StringValue]) error {
			for i := range 3 {
				if i > 0 {
					select {
					case <-next:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				if err := st.Send(wrapperspb.String(fmt.Sprintf("%s %d", req.Msg.GetValue(), i))); err != nil {
					return err
				}
			}
			return nil
		}, opts...))
	return next
}

// outcome is what a client saw of a call, compared across protocols.
type outcome struct {
	code     int
	msg      string
	errCode  string // Licensor-Error-Code
	retryMs  string
	details  int
	messages string // a stream's messages, joined
}

func connectOutcome(err error, msgs string) outcome {
	o := outcome{messages: msgs}
	if err == nil {
		return o
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return outcome{code: int(connect.CodeUnknown), msg: err.Error()}
	}
	return outcome{code: int(ce.Code()), msg: ce.Message(), errCode: ce.Meta().Get(rpcerr.HeaderErrorCode),
		retryMs: ce.Meta().Get(rpcerr.HeaderRetryAfterMs), details: len(ce.Details()), messages: msgs}
}

func grpcOutcome(err error, tr metadata.MD, msgs string) outcome {
	o := outcome{messages: msgs}
	if err == nil {
		return o
	}
	st := status.Convert(err)
	get := func(k string) string {
		if v := tr.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	return outcome{code: int(st.Code()), msg: st.Message(), errCode: get(rpcerr.HeaderErrorCode),
		retryMs: get(rpcerr.HeaderRetryAfterMs), details: len(st.Details()), messages: msgs}
}

// Every kind of call answers the same over gRPC through grpc-go's
// transport (grpc-go and connect clients), over gRPC through net/http, and
// over Connect and gRPC-Web on the same port.
func TestGRPCTransportParity(t *testing.T) {
	limits := server.Limits{MaxMessageBytes: 4096}
	ggo := startGuarded(t, limits)
	nh := startGuardedWith(t, limits, server.NetHTTP)
	f := ggo.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 50})
	fn := nh.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 50})
	type call func(t *testing.T, g *guarded, fx *testserver.Fixture, next chan struct{}) outcome
	getLicense := func(token, host string, gz bool) call {
		return func(t *testing.T, g *guarded, fx *testserver.Fixture, _ chan struct{}) outcome {
			token := token
			if token == "" {
				token = fx.ContractToken
			}
			req := &v1.GetLicenseRequest{ContractId: fx.ContractID, InstanceId: "parity", Host: host}
			if g.client == "grpc-go" {
				var tr metadata.MD
				opts := []grpc.CallOption{grpc.Trailer(&tr)}
				if gz {
					opts = append(opts, grpc.UseCompressor(grpcgzip.Name))
				}
				return grpcOutcome(getLicenseGRPC(context.Background(), g.grpcConn(t), token, req, opts...), tr, "")
			}
			var opts []connect.ClientOption
			if gz {
				opts = append(opts, connect.WithSendGzip())
			}
			_, err := g.license(g.proto, token, opts...).GetLicense(context.Background(), connect.NewRequest(req))
			return connectOutcome(err, "")
		}
	}
	fail := func(t *testing.T, g *guarded, _ *testserver.Fixture, _ chan struct{}) outcome {
		if g.client == "grpc-go" {
			var tr metadata.MD
			err := g.grpcConn(t).Invoke(context.Background(), failProc, wrapperspb.String("x"), new(wrapperspb.StringValue), grpc.Trailer(&tr))
			return grpcOutcome(err, tr, "")
		}
		c := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](g.httpClient(), g.url+failProc, testserver.ClientOptions(g.proto, "")...)
		_, err := c.CallUnary(context.Background(), connect.NewRequest(wrapperspb.String("x")))
		return connectOutcome(err, "")
	}
	stream := func(t *testing.T, g *guarded, _ *testserver.Fixture, next chan struct{}) outcome {
		var got []string
		for len(next) > 0 {
			<-next // the last message's go-ahead of the previous call
		}
		goOn := func() {
			select {
			case next <- struct{}{}:
			default:
			}
		}
		if g.client == "grpc-go" {
			desc := &grpc.StreamDesc{ServerStreams: true}
			s, err := g.grpcConn(t).NewStream(context.Background(), desc, streamProc)
			if err != nil {
				return grpcOutcome(err, nil, "")
			}
			if err := s.SendMsg(wrapperspb.String("m")); err != nil {
				return grpcOutcome(err, nil, "")
			}
			_ = s.CloseSend()
			for {
				m := new(wrapperspb.StringValue)
				if err := s.RecvMsg(m); err != nil {
					if err.Error() == "EOF" {
						err = nil
					}
					return grpcOutcome(err, s.Trailer(), strings.Join(got, ","))
				}
				got = append(got, m.GetValue())
				goOn()
			}
		}
		c := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](g.httpClient(), g.url+streamProc, testserver.ClientOptions(g.proto, "")...)
		s, err := c.CallServerStream(context.Background(), connect.NewRequest(wrapperspb.String("m")))
		if err != nil {
			return connectOutcome(err, "")
		}
		for s.Receive() {
			got = append(got, s.Msg().GetValue())
			goOn()
		}
		return connectOutcome(s.Err(), strings.Join(got, ","))
	}
	cases := []struct {
		name string
		call call
		want outcome
	}{
		{"Unary", getLicense("", "node", false), outcome{}},
		{"Gzip", getLicense("", "node", true), outcome{}},
		{"Unauthenticated", getLicense("lic_not-a-token", "node", false), outcome{code: int(connect.CodeUnauthenticated), errCode: licensor.EUNAUTHORIZED}},
		{"Oversized", getLicense("", strings.Repeat("a", 8<<10), false), outcome{code: int(connect.CodeInvalidArgument), errCode: licensor.EINVALID}},
		{"ErrorDetails", fail, outcome{code: int(connect.CodeResourceExhausted), msg: "busy: try again soon", errCode: licensor.EEXHAUSTED, retryMs: "1500", details: 1}},
		{"ServerStream", stream, outcome{messages: "m 0,m 1,m 2"}},
	}
	clients := []struct{ name, client string }{
		{"GRPCGoClient", "grpc-go"}, {"ConnectGRPC", string(testserver.GRPC)},
		{"GRPCWeb", string(testserver.GRPCWeb)}, {"Connect", string(testserver.Connect)},
	}
	nextGo, nextNH := mountProbe(ggo), mountProbe(nh)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := tc.call(t, nh.as("grpc-go"), fn, nextNH)
			if ref.code != tc.want.code || ref.errCode != tc.want.errCode || ref.retryMs != tc.want.retryMs ||
				ref.details != tc.want.details || ref.messages != tc.want.messages || (tc.want.msg != "" && ref.msg != tc.want.msg) {
				t.Fatalf("gRPC on net/http: got %+v, want %+v", ref, tc.want)
			}
			for _, c := range clients {
				if got := tc.call(t, ggo.as(c.client), f, nextGo); got != ref {
					t.Errorf("%s: got %+v, want %+v (gRPC on net/http)", c.name, got, ref)
				}
			}
		})
	}
	if n := server.GRPCGoConns(ggo.srv); n == 0 {
		t.Error("grpc-go transport served no connection")
	}
	if n := server.GRPCGoConns(nh.srv); n != 0 {
		t.Errorf("net-http server: grpc-go served %d connections, want 0", n)
	}
}

// A gRPC connection whose calls never authenticate is closed by the idle
// limit, as any other.
func TestGRPCGoUnauthenticatedIdleClosed(t *testing.T) {
	g := startGuarded(t, server.Limits{UnauthIdle: 100 * time.Millisecond})
	cc := g.grpcConn(t)
	err := getLicenseGRPC(context.Background(), cc, "lic_not-a-token", &v1.GetLicenseRequest{ContractId: "c", InstanceId: "i"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("call: got %v, want unauthenticated", err)
	}
	if server.GRPCGoConns(g.srv) != 1 {
		t.Fatalf("grpc-go connections: got %d, want 1", server.GRPCGoConns(g.srv))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for st := cc.GetState(); st == connectivity.Ready; st = cc.GetState() {
		if !cc.WaitForStateChange(ctx, st) {
			t.Fatal("connection still open")
		}
	}
	if got := g.metric(t, "licensor_connections_unauthenticated_idle_closed_total"); got != 1 {
		t.Errorf("unauthenticated idle closes: got %v, want 1", got)
	}
}

// startGuardedWith is startGuarded with another gRPC transport.
func startGuardedWith(t *testing.T, limits server.Limits, tr server.GRPCTransport) *guarded {
	t.Helper()
	return startGuardedConfig(t, server.Config{Limits: limits, GRPCTransport: tr})
}

// as is g seen by one kind of client: "grpc-go" or a testserver.Protocol.
func (g *guarded) as(client string) *guarded {
	c := *g
	c.client, c.proto = client, testserver.Protocol(client)
	return &c
}
