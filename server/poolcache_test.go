package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/service"
)

// The service caches which pool serves a contract (service/poolcache.go).
// A pool created or resized through this server shows on the very next
// request; through another server sharing the database (here: the store
// directly), within the cache TTL.
func TestPoolCacheResize(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := newCapFixture(t, s)
	cl := s.Capability(testserver.GRPC, f.ContractToken)
	adm := s.Admin(testserver.GRPC, f.AdminToken)

	// Fill the cache: a lease of the shared pool with its TTL (15 minutes).
	res, err := cl.RequestCapabilities(ctx, f.request("node-1", caps("solver", 1)))
	if err != nil || !res.Msg.Granted {
		t.Fatalf("RequestCapabilities: got %v, %v; want a grant", res, err)
	}
	if got := res.Msg.Lease.ExpiresAt.AsTime().Sub(s.Clock.Now()); got != 15*time.Minute {
		t.Fatalf("lease TTL: got %s, want 15m", got)
	}
	_, err = cl.RequestCapabilities(ctx, f.request("node-1", caps("viz", 1)))
	wantConnectCode(t, "a feature the pool does not have", err, connect.CodeInvalidArgument)

	t.Run("ResizedHere", func(t *testing.T) {
		if _, err := adm.CreateFeature(ctx, connect.NewRequest(&v1.CreateFeatureRequest{ProductId: f.ProductID, Name: "viz", Kind: "counted"})); err != nil {
			t.Fatalf("CreateFeature: %v", err)
		}
		if _, err := adm.ResizePool(ctx, connect.NewRequest(&v1.ResizePoolRequest{PoolId: f.PoolID,
			Features: []*v1.PoolFeatureLimit{{Feature: "viz", MaxUnits: 3}}, LeaseTtl: durationpb.New(time.Hour)})); err != nil {
			t.Fatalf("ResizePool: %v", err)
		}
		res, err := cl.RequestCapabilities(ctx, f.request("node-1", caps("viz", 1)))
		if err != nil || !res.Msg.Granted {
			t.Fatalf("RequestCapabilities of the new feature right after the resize: got %v, %v; want a grant", res, err)
		}
		if got := res.Msg.Lease.ExpiresAt.AsTime().Sub(s.Clock.Now()); got != time.Hour {
			t.Errorf("lease TTL right after the resize: got %s, want 1h", got)
		}
	})

	t.Run("NewPoolHere", func(t *testing.T) {
		// A pool of the contract's own takes precedence over the customer's.
		own, err := adm.CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{CustomerId: f.CustomerID, ContractId: f.ContractID,
			Name: "own", Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: 1}}}))
		if err != nil {
			t.Fatalf("CreatePool: %v", err)
		}
		res, err := cl.RequestCapabilities(ctx, f.request("node-2", caps("solver", 1)))
		if err != nil || !res.Msg.Granted {
			t.Fatalf("RequestCapabilities right after CreatePool: got %v, %v; want a grant", res, err)
		}
		if got, want := res.Msg.Lease.PoolId, own.Msg.Pool.Id; got != want {
			t.Errorf("pool of the lease: got %s, want the new pool %s", got, want)
		}
		// Units are never decided from the cache: the new pool's one unit
		// is taken, so the next request is denied.
		res, err = cl.RequestCapabilities(ctx, f.request("node-3", caps("solver", 1)))
		if err != nil || res.Msg.Granted {
			t.Errorf("RequestCapabilities of a full pool: got %v, %v; want a denial", res, err)
		}
	})

	t.Run("ResizedElsewhereWithinTTL", func(t *testing.T) {
		tctx := licensor.WithTenant(ctx, f.TenantID)
		ps, err := s.Store.ListPools(tctx, licensor.PoolFilter{CustomerID: f.CustomerID, ListOptions: licensor.ListOptions{Limit: 10}})
		if err != nil {
			t.Fatal(err)
		}
		var own string
		for _, p := range ps {
			if p.ContractID == f.ContractID {
				own = p.ID
			}
		}
		if _, err := s.Store.ResizePool(tctx, licensor.PoolResize{PoolID: own, Features: []licensor.PoolFeature{{Feature: "cad", MaxUnits: 1}}}); err != nil {
			t.Fatal(err)
		}
		s.Clock.Advance(service.DefaultCacheTTL)
		res, err := cl.RequestCapabilities(ctx, f.request("node-4", caps("cad", 1)))
		if err != nil || !res.Msg.Granted {
			t.Fatalf("RequestCapabilities of a feature added elsewhere, after the TTL: got %v, %v; want a grant", res, err)
		}
	})
}
