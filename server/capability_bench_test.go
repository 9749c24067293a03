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

// BenchmarkRequestReturn is one checkout cycle — RequestCapabilities then
// ReturnCapabilities — through the real handlers, TLS, HTTP/2, gRPC and the
// SQLite store. Serial: ns/op is the latency of one cycle; Parallel: the
// throughput of many devices at once (cycles/s = 1e9 / ns/op).
func BenchmarkRequestReturn(b *testing.B) {
	ctx := context.Background()
	s := testserver.Start(b)
	f := newCapFixture(b, s)
	limit := int32(10000)
	if _, err := s.Admin(testserver.GRPC, s.OperatorToken).UpdateTenant(ctx, connect.NewRequest(&v1.UpdateTenantRequest{TenantId: f.TenantID, ConcurrencyLimit: &limit})); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Admin(testserver.GRPC, f.AdminToken).ResizePool(ctx, connect.NewRequest(&v1.ResizePoolRequest{
		PoolId: f.PoolID, Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: 1_000_000}}})); err != nil {
		b.Fatal(err)
	}
	cycle := func(b *testing.B, cl interface {
		RequestCapabilities(context.Context, *connect.Request[v1.RequestCapabilitiesRequest]) (*connect.Response[v1.RequestCapabilitiesResponse], error)
		ReturnCapabilities(context.Context, *connect.Request[v1.ReturnCapabilitiesRequest]) (*connect.Response[v1.ReturnCapabilitiesResponse], error)
	}, instance string) {
		res, err := cl.RequestCapabilities(ctx, f.request(instance, caps("solver", 1)))
		if err != nil || !res.Msg.Granted {
			b.Fatalf("RequestCapabilities: %v, %v", res, err)
		}
		if _, err := cl.ReturnCapabilities(ctx, connect.NewRequest(&v1.ReturnCapabilitiesRequest{
			ContractId: f.ContractID, InstanceId: instance, LeaseId: res.Msg.Lease.Id})); err != nil {
			b.Fatalf("ReturnCapabilities: %v", err)
		}
	}
	b.Run("Serial", func(b *testing.B) {
		cl := s.Capability(testserver.GRPC, f.ContractToken)
		for b.Loop() {
			cycle(b, cl, "bench-serial")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
	})
	b.Run("Parallel", func(b *testing.B) {
		var n atomic.Int64
		b.SetParallelism(8) // 8 × GOMAXPROCS devices
		b.RunParallel(func(pb *testing.PB) {
			cl := s.Capability(testserver.GRPC, f.ContractToken)
			instance := fmt.Sprintf("bench-%d", n.Add(1))
			for pb.Next() {
				cycle(b, cl, instance)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
	})
}
