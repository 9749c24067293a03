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

// The benchmarks below measure one kind of call each, on one server, so
// that the database's cost per call (wal-B/op, pg-stmts/op, pg-cpu-µs/op:
// see pgCost) is that call's alone:
//
//	LICENSOR_TEST_POSTGRES=postgres://... go test ./internal/clustertest -run '^$' -bench 'ClusterOp' -benchtime 3000x

// BenchmarkClusterOpRequest is a capability request (a take of one unit,
// with a request id) on one pool large enough never to run short.
func BenchmarkClusterOpRequest(b *testing.B) {
	cluster := startCluster(b, 1)
	f := newPoolFixture(b, cluster, 1_000_000_000)
	ctx := context.Background()
	var next, req atomic.Int64
	measure(b, "requests/s", func(pb *testing.PB) {
		cl := cluster[0].Capability(testserver.GRPC, f.ContractToken)
		instance := fmt.Sprintf("bench-%d", next.Add(1))
		for pb.Next() {
			res, err := cl.RequestCapabilities(ctx, connect.NewRequest(&v1.RequestCapabilitiesRequest{
				ContractId: f.ContractID, InstanceId: instance, RequestId: fmt.Sprintf("req-%d", req.Add(1)),
				Capabilities: []*v1.CapabilityUnits{{Feature: "solver", Units: 1}}}))
			if err != nil || !res.Msg.Granted {
				b.Errorf("RequestCapabilities: %v, %v", res, err)
				return
			}
		}
	})
}

// BenchmarkClusterOpReturn is the return of a whole lease; the leases are
// granted before the timer starts.
func BenchmarkClusterOpReturn(b *testing.B) {
	cluster := startCluster(b, 1)
	f := newPoolFixture(b, cluster, 1_000_000_000)
	ctx := context.Background()
	cl := cluster[0].Capability(testserver.GRPC, f.ContractToken)
	type held struct{ instance, lease string }
	leases := make([]held, b.N)
	for i := range leases {
		instance := fmt.Sprintf("bench-%d", i%16)
		res, err := cl.RequestCapabilities(ctx, connect.NewRequest(&v1.RequestCapabilitiesRequest{
			ContractId: f.ContractID, InstanceId: instance, Capabilities: []*v1.CapabilityUnits{{Feature: "solver", Units: 1}}}))
		if err != nil || !res.Msg.Granted {
			b.Fatalf("RequestCapabilities: %v, %v", res, err)
		}
		leases[i] = held{instance, res.Msg.Lease.Id}
	}
	var next atomic.Int64
	measure(b, "returns/s", func(pb *testing.PB) {
		cl := cluster[0].Capability(testserver.GRPC, f.ContractToken)
		for pb.Next() {
			h := leases[next.Add(1)-1]
			if _, err := cl.ReturnCapabilities(ctx, connect.NewRequest(&v1.ReturnCapabilitiesRequest{
				ContractId: f.ContractID, InstanceId: h.instance, LeaseId: h.lease})); err != nil {
				b.Errorf("ReturnCapabilities: %v", err)
				return
			}
		}
	})
}

// BenchmarkClusterOpGetLicenseNew is GetLicense of an instance the server
// has never seen: it inserts the instance and takes its seat.
func BenchmarkClusterOpGetLicenseNew(b *testing.B) {
	cluster := startCluster(b, 1)
	f := cluster[0].NewFixture(b, testserver.FixtureOptions{})
	raiseLimit(b, cluster[0], f.TenantID)
	ctx := context.Background()
	var req atomic.Int64
	measure(b, "licenses/s", func(pb *testing.PB) {
		lc := cluster[0].License(testserver.GRPC, f.ContractToken)
		for pb.Next() {
			if _, err := lc.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{
				ContractId: f.ContractID, InstanceId: fmt.Sprintf("new-%d", req.Add(1))})); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
