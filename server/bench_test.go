package server_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/server"
)

// BenchmarkGetLicense measures GetLicense end to end: a gRPC client over
// TLS 1.3 + HTTP/2 on loopback, the auth interceptor, the service, Ed25519
// signing and the SQLite check-in, with client and server sharing the
// machine. Instances are refreshed (the steady state of a fleet), spread
// over 1,000 instance ids. grpcgo-client/* call with a grpc-go client,
// served by grpc-go's transport or net/http's HTTP/2 server.
func BenchmarkGetLicense(b *testing.B) {
	for _, tc := range []struct {
		name   string
		p      testserver.Protocol
		tr     server.GRPCTransport
		grpcGo bool // a grpc-go client (connect-go's gRPC stays on net/http)
	}{
		{"grpc", testserver.GRPC, server.GRPCGo, false}, {"connect", testserver.Connect, server.GRPCGo, false},
		{"grpcgo-client/grpc-go", testserver.GRPC, server.GRPCGo, true}, {"grpcgo-client/net-http", testserver.GRPC, server.NetHTTP, true},
	} {
		p := tc.p
		b.Run(tc.name, func(b *testing.B) {
			s := testserver.Start(b, testserver.Options{Configure: func(c *server.Config) { c.GRPCTransport = tc.tr }})
			f := s.NewFixture(b, testserver.FixtureOptions{})
			var lc licenseGetter = s.License(p, f.ContractToken)
			if tc.grpcGo {
				lc = grpcGoLicense(b, s, f.ContractToken)
			}
			ctx := context.Background()
			for i := range 1000 {
				if _, err := lc.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: fmt.Sprintf("i-%d", i)})); err != nil {
					b.Fatal(err)
				}
			}
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			cpu := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := lc.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: fmt.Sprintf("i-%d", i%1000)})); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "licenses/s")
			// Client and server together: the client runs in this process.
			b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// grpcGoLicense is a GetLicense client on a grpc-go connection to s.
func grpcGoLicense(b testing.TB, s *testserver.Server, token string) licenseGetter {
	u, err := url.Parse(s.URL)
	if err != nil {
		b.Fatal(err)
	}
	cc, err := grpc.NewClient(u.Host, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: s.CAPool, MinVersion: tls.VersionTLS12})))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cc.Close() })
	return grpcGoGetter{cc: cc, token: token}
}

type licenseGetter interface {
	GetLicense(context.Context, *connect.Request[v1.GetLicenseRequest]) (*connect.Response[v1.GetLicenseResponse], error)
}

type grpcGoGetter struct {
	cc    *grpc.ClientConn
	token string
}

func (g grpcGoGetter) GetLicense(ctx context.Context, req *connect.Request[v1.GetLicenseRequest]) (*connect.Response[v1.GetLicenseResponse], error) {
	res := new(v1.GetLicenseResponse)
	if err := getLicenseGRPC(ctx, g.cc, g.token, req.Msg, grpc.WaitForReady(true)); err != nil {
		return nil, err
	}
	return connect.NewResponse(res), nil
}
