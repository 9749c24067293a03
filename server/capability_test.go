package server_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

// capFixture is a fixture with a pool solver=10, gpu-export=2 (TTL 15m).
type capFixture struct {
	*testserver.Fixture
	s      *testserver.Server
	PoolID string
}

func newCapFixture(t testing.TB, s *testserver.Server) *capFixture {
	t.Helper()
	f := s.NewFixture(t, testserver.FixtureOptions{})
	res, err := s.Admin(testserver.GRPC, f.AdminToken).CreatePool(context.Background(), connect.NewRequest(&v1.CreatePoolRequest{
		CustomerId: f.CustomerID, Name: "floating",
		Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: 10}, {Feature: "gpu-export", MaxUnits: 2}},
	}))
	if err != nil {
		t.Fatalf("CreatePool: %v", err)
	}
	return &capFixture{Fixture: f, s: s, PoolID: res.Msg.Pool.Id}
}

// poolState is what a refused request must leave unchanged.
func (f *capFixture) poolState(t testing.TB) string {
	t.Helper()
	res, err := f.s.Admin(testserver.GRPC, f.AdminToken).GetPool(context.Background(), connect.NewRequest(&v1.GetPoolRequest{PoolId: f.PoolID}))
	if err != nil {
		t.Fatalf("GetPool: %v", err)
	}
	out := ""
	for _, pf := range res.Msg.Pool.Features {
		out += fmt.Sprintf("%s=%d/%d ", pf.Feature, pf.InUse, pf.MaxUnits)
	}
	return out + fmt.Sprintf("leases=%d", len(res.Msg.Leases))
}

func caps(kv ...any) []*v1.CapabilityUnits {
	var out []*v1.CapabilityUnits
	for i := 0; i < len(kv); i += 2 {
		out = append(out, &v1.CapabilityUnits{Feature: kv[i].(string), Units: int64(kv[i+1].(int))})
	}
	return out
}

func (f *capFixture) request(instance string, units []*v1.CapabilityUnits) *connect.Request[v1.RequestCapabilitiesRequest] {
	return connect.NewRequest(&v1.RequestCapabilitiesRequest{ContractId: f.ContractID, InstanceId: instance, Capabilities: units})
}

func wantConnectCode(t *testing.T, what string, err error, want connect.Code) {
	t.Helper()
	if got := connect.CodeOf(err); err == nil || got != want {
		t.Errorf("%s: got error %v (code %v), want code %v", what, err, got, want)
	}
}

func TestCapabilityFlow(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := newCapFixture(t, s)
			cl := s.Capability(p, f.ContractToken)

			res, err := cl.RequestCapabilities(ctx, f.request("node-1", caps("solver", 3, "gpu-export", 1)))
			if err != nil {
				t.Fatalf("RequestCapabilities: %v", err)
			}
			m := res.Msg
			if !m.Granted || m.Lease == nil || m.CapabilityToken == "" {
				t.Fatalf("got granted=%v lease=%v token=%q, want a grant with a lease and a token", m.Granted, m.Lease, m.CapabilityToken)
			}
			if got, want := m.Lease.ExpiresAt.AsTime(), s.Clock.Now().Add(licensor.DefaultLeaseTTL); !got.Equal(want) {
				t.Errorf("ExpiresAt: got %v, want %v", got, want)
			}
			// The capability document verifies offline against the JWKS.
			var cc licensor.CapabilityClaims
			if err := license.VerifyCapability(m.CapabilityToken, fetchJWKS(t, s, f.TenantID), &cc); err != nil {
				t.Fatalf("VerifyCapability: %v", err)
			}
			if cc.ID != m.Lease.Id || cc.Subject != "node-1" || cc.Issuer != f.TenantID || cc.Pool != f.PoolID ||
				cc.Units["solver"] != 3 || cc.Units["gpu-export"] != 1 || cc.Expiry != m.Lease.ExpiresAt.AsTime().Unix() {
				t.Errorf("capability claims: got %+v, want lease %s of node-1 with solver=3 gpu-export=1", cc, m.Lease.Id)
			}

			lf, err := cl.ListFeatures(ctx, connect.NewRequest(&v1.ListFeaturesRequest{ContractId: f.ContractID, InstanceId: "node-1"}))
			if err != nil {
				t.Fatalf("ListFeatures: %v", err)
			}
			if len(lf.Msg.Leases) != 1 || len(lf.Msg.Features) != 2 {
				t.Fatalf("ListFeatures: got %d leases and %d features, want 1 and 2", len(lf.Msg.Leases), len(lf.Msg.Features))
			}
			for _, pf := range lf.Msg.Features {
				if pf.Feature == "solver" && (pf.Free != 7 || pf.HeldByInstance != 3 || pf.InUse != 3) {
					t.Errorf("ListFeatures solver: got free=%d held=%d in use=%d, want 7, 3, 3", pf.Free, pf.HeldByInstance, pf.InUse)
				}
			}

			s.Clock.Advance(10 * time.Minute)
			rn, err := cl.RenewLease(ctx, connect.NewRequest(&v1.RenewLeaseRequest{ContractId: f.ContractID, InstanceId: "node-1", LeaseId: m.Lease.Id}))
			if err != nil {
				t.Fatalf("RenewLease: %v", err)
			}
			if got, want := rn.Msg.Lease.ExpiresAt.AsTime(), s.Clock.Now().Add(licensor.DefaultLeaseTTL); !got.Equal(want) {
				t.Errorf("ExpiresAt after renewal: got %v, want %v", got, want)
			}
			if rn.Msg.CapabilityToken == "" || rn.Msg.CapabilityToken == m.CapabilityToken {
				t.Errorf("RenewLease: got token %q, want a new one", rn.Msg.CapabilityToken)
			}

			ret, err := cl.ReturnCapabilities(ctx, connect.NewRequest(&v1.ReturnCapabilitiesRequest{
				ContractId: f.ContractID, InstanceId: "node-1", LeaseId: m.Lease.Id, Units: caps("solver", 2)}))
			if err != nil {
				t.Fatalf("ReturnCapabilities some: %v", err)
			}
			if ret.Msg.Lease == nil || len(ret.Msg.Lease.Units) != 2 || ret.Msg.Lease.Units[1].Units != 1 {
				t.Errorf("lease after returning 2 solver: got %v, want gpu-export=1 solver=1", ret.Msg.Lease)
			}
			ret, err = cl.ReturnCapabilities(ctx, connect.NewRequest(&v1.ReturnCapabilitiesRequest{ContractId: f.ContractID, InstanceId: "node-1", LeaseId: m.Lease.Id}))
			if err != nil {
				t.Fatalf("ReturnCapabilities all: %v", err)
			}
			if ret.Msg.Lease != nil {
				t.Errorf("lease after returning all: got %v, want none", ret.Msg.Lease)
			}
			if got, want := f.poolState(t), "gpu-export=0/2 solver=0/10 leases=0"; got != want {
				t.Errorf("pool: got %q, want %q", got, want)
			}
		})
	}
}

// A lease never outlives its contract: the grant near the contract's end
// is cut at it, and so is every renewal.
func TestCapabilityLeaseEndsWithContract(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 20 * time.Minute})
			pool, err := s.Admin(testserver.GRPC, f.AdminToken).CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{
				CustomerId: f.CustomerID, Name: "floating", Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: 10}},
			}))
			if err != nil {
				t.Fatalf("CreatePool: %v", err)
			}
			ends := s.Clock.Now().Add(20 * time.Minute)
			cf := &capFixture{Fixture: f, s: s, PoolID: pool.Msg.Pool.Id}
			cl := s.Capability(p, f.ContractToken)

			s.Clock.Advance(2 * time.Minute) // 15 min of TTL would still fit
			res, err := cl.RequestCapabilities(ctx, cf.request("node-1", caps("solver", 1)))
			if err != nil || !res.Msg.Granted {
				t.Fatalf("RequestCapabilities: %v (granted %v)", err, res != nil && res.Msg.Granted)
			}
			if got, want := res.Msg.Lease.ExpiresAt.AsTime(), s.Clock.Now().Add(licensor.DefaultLeaseTTL); !got.Equal(want) {
				t.Errorf("ExpiresAt of the grant: got %v, want %v (a whole TTL)", got, want)
			}
			s.Clock.Advance(10 * time.Minute) // now + 15 min is past the end
			rn, err := cl.RenewLease(ctx, connect.NewRequest(&v1.RenewLeaseRequest{ContractId: f.ContractID, InstanceId: "node-1", LeaseId: res.Msg.Lease.Id}))
			if err != nil {
				t.Fatalf("RenewLease: %v", err)
			}
			if got := rn.Msg.Lease.ExpiresAt.AsTime(); !got.Equal(ends) {
				t.Errorf("ExpiresAt after a renewal near the contract's end: got %v, want the end %v", got, ends)
			}
			late, err := cl.RequestCapabilities(ctx, cf.request("node-2", caps("solver", 1)))
			if err != nil || !late.Msg.Granted {
				t.Fatalf("RequestCapabilities near the end: %v", err)
			}
			if got := late.Msg.Lease.ExpiresAt.AsTime(); !got.Equal(ends) {
				t.Errorf("ExpiresAt of a grant near the contract's end: got %v, want the end %v", got, ends)
			}
		})
	}
}

func TestCapabilityDenialPreviewPartial(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := newCapFixture(t, s)
	cl := s.Capability(testserver.Connect, f.ContractToken)
	held, err := cl.RequestCapabilities(ctx, f.request("a", caps("solver", 8)))
	if err != nil || !held.Msg.Granted {
		t.Fatalf("RequestCapabilities: got %v, %v; want a grant", held, err)
	}

	t.Run("Denial", func(t *testing.T) {
		before := f.poolState(t)
		res, err := cl.RequestCapabilities(ctx, f.request("b", caps("solver", 3, "gpu-export", 1)))
		if err != nil {
			t.Fatalf("a denial is an answer, not an error: got %v", err)
		}
		m := res.Msg
		if m.Granted || m.Lease != nil || len(m.Shortages) != 1 {
			t.Fatalf("got granted=%v lease=%v shortages=%v, want a denial with one shortage", m.Granted, m.Lease, m.Shortages)
		}
		sh := m.Shortages[0]
		if sh.Feature != "solver" || sh.Requested != 3 || sh.Available != 2 || sh.Short != 1 || !sh.NextRelease.AsTime().Equal(held.Msg.Lease.ExpiresAt.AsTime()) {
			t.Errorf("shortage: got %v, want solver 3 requested, 2 available, 1 short, next release at %v", sh, held.Msg.Lease.ExpiresAt.AsTime())
		}
		if got := f.poolState(t); got != before {
			t.Errorf("pool after a denial: got %q, want %q", got, before)
		}
	})
	t.Run("Preview", func(t *testing.T) {
		before := f.poolState(t)
		req := f.request("b", caps("solver", 2))
		req.Msg.Preview = true
		res, err := cl.RequestCapabilities(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Msg.Granted || !res.Msg.Preview || res.Msg.Lease != nil || res.Msg.CapabilityToken != "" {
			t.Errorf("preview: got %v, want granted, preview, no lease, no token", res.Msg)
		}
		if got := f.poolState(t); got != before {
			t.Errorf("pool after a preview: got %q, want %q", got, before)
		}
	})
	t.Run("Partial", func(t *testing.T) {
		req := f.request("b", caps("solver", 5))
		req.Msg.AllowPartial = true
		res, err := cl.RequestCapabilities(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		m := res.Msg
		if !m.Granted || m.Lease == nil || m.Lease.Units[0].Units != 2 || len(m.Shortages) != 1 || m.Shortages[0].Short != 3 {
			t.Errorf("partial: got %v, want 2 of 5 solver granted and a shortage of 3", m)
		}
		if got, want := f.poolState(t), "gpu-export=0/2 solver=10/10 leases=2"; got != want {
			t.Errorf("pool: got %q, want %q", got, want)
		}
	})
}

func TestCapabilityBorrowAndExpiry(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := newCapFixture(t, s)
	cl := s.Capability(testserver.GRPC, f.ContractToken)

	breq := f.request("laptop", caps("solver", 1))
	breq.Msg.Borrow = durationpb.New(3 * 24 * time.Hour)
	b, err := cl.RequestCapabilities(ctx, breq)
	if err != nil || !b.Msg.Lease.GetBorrowed() {
		t.Fatalf("borrow: got %v, %v; want a borrowed lease", b, err)
	}
	if got, want := b.Msg.Lease.ExpiresAt.AsTime(), s.Clock.Now().Add(3*24*time.Hour); !got.Equal(want) {
		t.Errorf("borrowed ExpiresAt: got %v, want %v", got, want)
	}
	crashed, err := cl.RequestCapabilities(ctx, f.request("crashes", caps("solver", 4)))
	if err != nil || !crashed.Msg.Granted {
		t.Fatalf("RequestCapabilities: %v, %v", crashed, err)
	}

	// The crashed device never renews: after its TTL its units come back,
	// the borrowed lease stays.
	s.Clock.Advance(licensor.DefaultLeaseTTL)
	_, err = cl.RenewLease(ctx, connect.NewRequest(&v1.RenewLeaseRequest{ContractId: f.ContractID, InstanceId: "crashes", LeaseId: crashed.Msg.Lease.Id}))
	wantConnectCode(t, "renew an expired lease", err, connect.CodeFailedPrecondition)
	if got, want := f.poolState(t), "gpu-export=0/2 solver=1/10 leases=1"; got != want {
		t.Errorf("pool after the crashed lease expired: got %q, want %q", got, want)
	}
	s.Clock.Advance(2 * 24 * time.Hour)
	if n, err := s.Service.ReapLeases(ctx); err != nil || n != 0 {
		t.Errorf("ReapLeases during the borrow: got %d, %v; want 0 freed", n, err)
	}
	s.Clock.Advance(24 * time.Hour)
	if n, err := s.Service.ReapLeases(ctx); err != nil || n != 1 {
		t.Errorf("ReapLeases at the borrow's end: got %d, %v; want 1 freed", n, err)
	}
	if got, want := f.poolState(t), "gpu-export=0/2 solver=0/10 leases=0"; got != want {
		t.Errorf("pool after the borrow ended: got %q, want %q", got, want)
	}
}

func TestCapabilityIdempotentRetry(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := newCapFixture(t, s)
	for _, p := range testserver.Protocols {
		cl := s.Capability(p, f.ContractToken)
		req := f.request("node-"+string(p), caps("solver", 4))
		req.Msg.RequestId = "req-" + string(p)
		first, err := cl.RequestCapabilities(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		// A retry after a timeout: the same id gets the same answer.
		again, err := cl.RequestCapabilities(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if again.Msg.Lease.Id != first.Msg.Lease.Id || again.Msg.CapabilityToken != first.Msg.CapabilityToken {
			t.Errorf("%s: retry got lease %s, want %s and the same token", p, again.Msg.Lease.Id, first.Msg.Lease.Id)
		}
	}
	if got, want := f.poolState(t), "gpu-export=0/2 solver=8/10 leases=2"; got != want {
		t.Errorf("pool after retries: got %q, want %q", got, want)
	}
}

func TestCapabilityBadInput(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := newCapFixture(t, s)
	other := newCapFixture(t, s) // another tenant
	cl := s.Capability(testserver.Connect, f.ContractToken)
	held, err := cl.RequestCapabilities(ctx, f.request("a", caps("solver", 2)))
	if err != nil {
		t.Fatal(err)
	}
	leaseID := held.Msg.Lease.Id
	oreq := other.request("x", caps("solver", 1))
	otherLease, err := s.Capability(testserver.Connect, other.ContractToken).RequestCapabilities(ctx, oreq)
	if err != nil {
		t.Fatal(err)
	}
	idem := f.request("a", caps("solver", 1))
	idem.Msg.RequestId = "once"
	if _, err := cl.RequestCapabilities(ctx, idem); err != nil {
		t.Fatal(err)
	}
	borrow := func(d time.Duration) *connect.Request[v1.RequestCapabilitiesRequest] {
		r := f.request("a", caps("solver", 1))
		r.Msg.Borrow = durationpb.New(d)
		return r
	}
	request := func(r *connect.Request[v1.RequestCapabilitiesRequest]) func() error {
		return func() error { _, err := cl.RequestCapabilities(ctx, r); return err }
	}
	renew := func(instance, lease string) func() error {
		return func() error {
			_, err := cl.RenewLease(ctx, connect.NewRequest(&v1.RenewLeaseRequest{ContractId: f.ContractID, InstanceId: instance, LeaseId: lease}))
			return err
		}
	}
	giveBack := func(instance, lease string, units []*v1.CapabilityUnits) func() error {
		return func() error {
			_, err := cl.ReturnCapabilities(ctx, connect.NewRequest(&v1.ReturnCapabilitiesRequest{ContractId: f.ContractID, InstanceId: instance, LeaseId: lease, Units: units}))
			return err
		}
	}
	withPool := f.request("a", caps("solver", 1))
	withPool.Msg.PoolId = other.PoolID
	wrongContract := f.request("a", caps("solver", 1))
	wrongContract.Msg.ContractId = other.ContractID
	reused := f.request("a", caps("solver", 2))
	reused.Msg.RequestId = "once"

	cases := []struct {
		name string
		call func() error
		want connect.Code
	}{
		{"UnknownFeature", request(f.request("a", caps("teleport", 1))), connect.CodeInvalidArgument},
		{"BooleanFeatureNotInPool", request(f.request("a", caps("reporting", 1))), connect.CodeInvalidArgument},
		{"ZeroUnits", request(f.request("a", caps("solver", 0))), connect.CodeInvalidArgument},
		{"NegativeUnits", request(f.request("a", caps("solver", -3))), connect.CodeInvalidArgument},
		{"HugeUnits", request(f.request("a", []*v1.CapabilityUnits{{Feature: "solver", Units: 1 << 62}})), connect.CodeInvalidArgument},
		{"NoFeatures", request(f.request("a", nil)), connect.CodeInvalidArgument},
		{"DuplicateFeature", request(f.request("a", caps("solver", 1, "solver", 1))), connect.CodeInvalidArgument},
		{"BorrowBeyondMax", request(borrow(8 * 24 * time.Hour)), connect.CodeInvalidArgument},
		{"NegativeBorrow", request(borrow(-time.Hour)), connect.CodeInvalidArgument},
		{"AnotherTenantsPool", request(withPool), connect.CodeNotFound},
		{"AnotherContract", request(wrongContract), connect.CodePermissionDenied},
		{"RequestIDReused", request(reused), connect.CodeAlreadyExists},
		{"RenewAnotherInstancesLease", renew("b", leaseID), connect.CodeNotFound},
		{"RenewAnotherTenantsLease", renew("x", otherLease.Msg.Lease.Id), connect.CodeNotFound},
		{"RenewUnknownLease", renew("a", "lea_nope"), connect.CodeNotFound},
		{"ReturnAnotherInstancesLease", giveBack("b", leaseID, nil), connect.CodeNotFound},
		{"ReturnAnotherTenantsLease", giveBack("x", otherLease.Msg.Lease.Id, nil), connect.CodeNotFound},
		{"ReturnMoreThanHeld", giveBack("a", leaseID, caps("solver", 3)), connect.CodeInvalidArgument},
		{"ReturnFeatureNotHeld", giveBack("a", leaseID, caps("gpu-export", 1)), connect.CodeInvalidArgument},
		{"ReturnZeroUnits", giveBack("a", leaseID, caps("solver", 0)), connect.CodeInvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, otherBefore := f.poolState(t), other.poolState(t)
			err := tc.call()
			wantConnectCode(t, tc.name, err, tc.want)
			var ce *connect.Error
			if errors.As(err, &ce) && (ce.Message() == "" || ce.Message() == "internal error") {
				t.Errorf("message: got %q, want one a person can act on", ce.Message())
			}
			if got := f.poolState(t); got != before {
				t.Errorf("pool: got %q, want it unchanged: %q", got, before)
			}
			if got := other.poolState(t); got != otherBefore {
				t.Errorf("other tenant's pool: got %q, want it unchanged: %q", got, otherBefore)
			}
		})
	}

	t.Run("RenewExpiredLease", func(t *testing.T) {
		s.Clock.Advance(licensor.DefaultLeaseTTL)
		wantConnectCode(t, "renew", renew("a", leaseID)(), connect.CodeFailedPrecondition)
		if got, want := f.poolState(t), "gpu-export=0/2 solver=1/10 leases=1"; got != want {
			t.Errorf("pool: got %q, want %q (the late lease freed; the other expired one left to the reaper)", got, want)
		}
	})
}
