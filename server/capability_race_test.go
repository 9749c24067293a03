package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/service"
)

// TestCapabilityRace: 200 concurrent clients race for 10 units; exactly 10
// win. Half the winners return their lease, the other half crash and their
// leases expire; then the pool is whole again. 50 rounds go through the
// service (the handler's whole use case, minus the RPC stack, to keep the
// test fast on 2 cores), and one more through the full API over TLS.
func TestCapabilityRace(t *testing.T) {
	const racers, units, rounds = 200, 10, 50
	ctx := context.Background()
	s := testserver.Start(t)
	f := newCapFixture(t, s)
	if _, err := s.Admin(testserver.GRPC, f.AdminToken).ResizePool(ctx, connect.NewRequest(&v1.ResizePoolRequest{
		PoolId: f.PoolID, Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: units}}})); err != nil {
		t.Fatal(err)
	}
	// 200 racers at once: above the default threshold of 60, which only
	// the operator may raise.
	limit := int32(1000)
	if _, err := s.Admin(testserver.GRPC, s.OperatorToken).UpdateTenant(ctx, connect.NewRequest(&v1.UpdateTenantRequest{
		TenantId: f.TenantID, ConcurrencyLimit: &limit, ConcurrencyCeiling: &limit})); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Service.Authenticate(ctx, f.ContractToken)
	if err != nil {
		t.Fatal(err)
	}
	actx := licensor.WithActor(ctx, tok)

	// round races racers requests through request and returns the leases
	// granted.
	round := func(t *testing.T, r int, request func(i int) (*v1.Lease, error)) []*v1.Lease {
		var wg sync.WaitGroup
		start := make(chan struct{})
		leases := make([]*v1.Lease, racers)
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				<-start
				leases[i], errs[i] = request(i)
			})
		}
		close(start)
		wg.Wait()
		var won []*v1.Lease
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("round %d: racer %d: got error %v, want a grant or a denial", r, i, errs[i])
			}
			if leases[i] != nil {
				won = append(won, leases[i])
			}
		}
		if len(won) != units {
			t.Fatalf("round %d: got %d grants, want exactly %d", r, len(won), units)
		}
		if got, want := f.poolState(t), fmt.Sprintf("gpu-export=0/2 solver=%d/%d leases=%d", units, units, units); got != want {
			t.Fatalf("round %d: pool: got %q, want %q", r, got, want)
		}
		return won
	}
	// settle returns half the leases and lets the rest expire.
	settle := func(t *testing.T, r int, won []*v1.Lease) {
		for _, l := range won[:units/2] {
			if _, err := s.Service.ReturnCapabilities(actx, f.ContractID, l.InstanceId, l.Id, nil); err != nil {
				t.Fatalf("round %d: return: %v", r, err)
			}
		}
		s.Clock.Advance(licensor.DefaultLeaseTTL)
		if n, err := s.Service.ReapLeases(ctx); err != nil || n != units-units/2 {
			t.Fatalf("round %d: ReapLeases: got %d, %v; want %d freed", r, n, err, units-units/2)
		}
		if got, want := f.poolState(t), fmt.Sprintf("gpu-export=0/2 solver=0/%d leases=0", units); got != want {
			t.Fatalf("round %d: pool after returns and expiries: got %q, want %q", r, got, want)
		}
	}

	for r := range rounds {
		won := round(t, r, func(i int) (*v1.Lease, error) {
			ans, err := s.Service.RequestCapabilities(actx, service.CapabilityRequest{
				ContractID: f.ContractID, InstanceID: fmt.Sprintf("r%d-%d", r, i), Units: []licensor.Units{{Feature: "solver", Units: 1}},
			})
			if err != nil || ans.Lease == nil {
				return nil, err
			}
			return &v1.Lease{Id: ans.Lease.ID, InstanceId: ans.Lease.InstanceID}, nil
		})
		settle(t, r, won)
	}

	t.Run("FullAPI", func(t *testing.T) {
		// Eight HTTP/2 connections, alternately gRPC and Connect.
		var cls [8]interface {
			RequestCapabilities(context.Context, *connect.Request[v1.RequestCapabilitiesRequest]) (*connect.Response[v1.RequestCapabilitiesResponse], error)
		}
		for i := range cls {
			cls[i] = s.Capability(testserver.Protocols[i%2], f.ContractToken)
		}
		won := round(t, rounds, func(i int) (*v1.Lease, error) {
			res, err := cls[i%8].RequestCapabilities(ctx, f.request(fmt.Sprintf("api-%d", i), caps("solver", 1)))
			if err != nil {
				return nil, err
			}
			return res.Msg.Lease, nil
		})
		settle(t, rounds, won)
	})
}
