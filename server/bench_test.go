package server_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// BenchmarkGetLicense measures GetLicense end to end: a gRPC client over
// TLS 1.3 + HTTP/2 on loopback, the auth interceptor, the service, Ed25519
// signing and the SQLite check-in, with client and server sharing the
// machine. Instances are refreshed (the steady state of a fleet), spread
// over 1,000 instance ids.
func BenchmarkGetLicense(b *testing.B) {
	for _, p := range []testserver.Protocol{testserver.GRPC, testserver.Connect} {
		b.Run(string(p), func(b *testing.B) {
			s := testserver.Start(b)
			f := s.NewFixture(b, testserver.FixtureOptions{})
			lc := s.License(p, f.ContractToken)
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
