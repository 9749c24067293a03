package clustertest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// The cluster benchmarks run the whole stack — gRPC over TLS 1.3 + HTTP/2
// on loopback, the interceptors, the service and the PostgreSQL store — on
// one and on three in-process servers sharing one database, with
// 8 × GOMAXPROCS client goroutines spread round-robin over the servers
// (a load balancer). Client, servers and PostgreSQL share the machine, so
// three servers add no CPU: the numbers show what sharing the database
// costs and that the work spreads, not a scale-out factor.
//
//	LICENSOR_TEST_POSTGRES=postgres://... go test ./internal/clustertest -run '^$' -bench Cluster -benchtime 5s

func BenchmarkClusterGetLicense(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			cluster := startCluster(b, n)
			f := cluster[0].NewFixture(b, testserver.FixtureOptions{})
			raiseLimit(b, cluster[0], f.TenantID)
			ctx := context.Background()
			// Refreshes of known instances: a fleet's steady state.
			warm := cluster[0].License(testserver.GRPC, f.ContractToken)
			for i := range 1000 {
				if _, err := warm.GetLicense(ctx,
					connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: fmt.Sprintf("i-%d", i)})); err != nil {
					b.Fatal(err)
				}
			}
			var next, req atomic.Int64
			measure(b, "licenses/s", func(pb *testing.PB) {
				lc := cluster[int(next.Add(1))%n].License(testserver.GRPC, f.ContractToken)
				for pb.Next() {
					i := req.Add(1)
					if _, err := lc.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: fmt.Sprintf("i-%d", i%1000)})); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkClusterRequestReturn is one checkout cycle (RequestCapabilities
// then ReturnCapabilities) of many devices on one pool, each request with
// a request id of its own, as the client library sends.
func BenchmarkClusterRequestReturn(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) { benchCycles(b, n, 0) })
	}
}

// BenchmarkClusterRequestReturnSpread is BenchmarkClusterRequestReturn on
// three servers with each return sent to another server than its request,
// as a balancer that spreads calls over servers does: the server that
// takes the return did not grant the lease.
func BenchmarkClusterRequestReturnSpread(b *testing.B) { benchCycles(b, 3, 1) }

// BenchmarkClusterRequestReturnPools is BenchmarkClusterRequestReturn on
// one server with its devices spread over three pools (of three tenants):
// one server serving several busy pools.
func BenchmarkClusterRequestReturnPools(b *testing.B) { benchCycles(b, 1, 0, 3) }

// benchCycles runs checkout cycles on n servers, device i requesting from
// server i mod n and returning to server i+shift mod n, on one pool or
// (pools) on pool i mod pools of as many.
func benchCycles(b *testing.B, n, shift int, pools ...int) {
	cluster := startCluster(b, n)
	fixtures := []*poolFixture{newPoolFixture(b, cluster, 1_000_000)}
	for len(pools) > 0 && len(fixtures) < pools[0] {
		fixtures = append(fixtures, newPoolFixture(b, cluster, 1_000_000))
	}
	ctx := context.Background()
	var next, req atomic.Int64
	measure(b, "cycles/s", func(pb *testing.PB) {
		i := int(next.Add(1))
		f := fixtures[i%len(fixtures)]
		take := cluster[i%n].Capability(testserver.GRPC, f.ContractToken)
		give := cluster[(i+shift)%n].Capability(testserver.GRPC, f.ContractToken)
		instance := fmt.Sprintf("bench-%d", i)
		for pb.Next() {
			res, err := take.RequestCapabilities(ctx, connect.NewRequest(&v1.RequestCapabilitiesRequest{
				ContractId: f.ContractID, InstanceId: instance, RequestId: fmt.Sprintf("req-%d", req.Add(1)),
				Capabilities: []*v1.CapabilityUnits{{Feature: "solver", Units: 1}}}))
			if err != nil || !res.Msg.Granted {
				b.Errorf("RequestCapabilities: %v, %v", res, err)
				return
			}
			if _, err := give.ReturnCapabilities(ctx, connect.NewRequest(&v1.ReturnCapabilitiesRequest{
				ContractId: f.ContractID, InstanceId: instance, LeaseId: res.Msg.Lease.Id})); err != nil {
				b.Errorf("ReturnCapabilities: %v", err)
				return
			}
		}
	})
}

// measure runs body on 16 goroutines (8 per CPU of the VM's 2) with the
// timer and the database's cost counted around it, and reports the rate
// as unit.
func measure(b *testing.B, unit string, body func(pb *testing.PB)) {
	b.SetParallelism(8)
	cost := newPGCost(b)
	cost.start(b)
	b.ResetTimer()
	b.RunParallel(body)
	b.StopTimer()
	cost.report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// raiseLimit lifts the tenant's concurrency limit out of the benchmark's
// way.
func raiseLimit(b *testing.B, s *testserver.Server, tenantID string) {
	limit := int32(10000)
	if _, err := s.Admin(testserver.GRPC, s.OperatorToken).UpdateTenant(context.Background(),
		connect.NewRequest(&v1.UpdateTenantRequest{TenantId: tenantID, ConcurrencyLimit: &limit})); err != nil {
		b.Fatal(err)
	}
}
