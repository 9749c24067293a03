package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store"
)

// TestLeaseShortcut: a whole grant of one feature and a whole return each
// run as one round trip when they can, and every case the shortcut cannot
// decide alone leaves nothing written and goes to the general path (done
// false), so that the store's answer is the general path's.
func TestLeaseShortcut(t *testing.T) {
	db := pgtest.Open(t)
	tid, pool, contract := poolWorld(t, db, 2)
	ctx := licensor.WithTenant(context.Background(), tid)
	s := db.Shortcut()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	us := now.UnixMicro()
	grant := func(lease, request string, units int64) store.Grant {
		return store.Grant{
			Tenant: tid, Pool: pool, Feature: "solver", Units: units, Queue: 1 << 62, Now: us, Expires: us + 60e6,
			Lease: lease, Contract: contract, Instance: "i-1", UnitsJSON: `{"solver":1}`,
			RequestID: request, Fingerprint: "fp-" + request, Answer: []byte(`{}`),
		}
	}
	ret := func(lease, instance string) func() (bool, error) {
		return func() (bool, error) {
			done, _, err := s.ReturnWhole(ctx, tid, licensor.LeaseReturn{LeaseID: lease, ContractID: contract, InstanceID: instance}, us+1)
			return done, err
		}
	}
	for _, c := range []struct {
		name     string
		run      func() (bool, error)
		wantDone bool
		wantCode string // of the error when done
		inUse    int64  // the pool's units in use after
		events   int    // usage events recorded after
	}{
		{"Grant", func() (bool, error) { return s.GrantWhole(ctx, grant("lea_1", "r1", 1)) }, true, "", 1, 1},
		{"RequestIDAnswered", func() (bool, error) { return s.GrantWhole(ctx, grant("lea_2", "r1", 1)) }, false, "", 1, 1},
		{"LeaseIDTaken", func() (bool, error) { return s.GrantWhole(ctx, grant("lea_1", "r2", 1)) }, false, "", 1, 1},
		{"BeyondSize", func() (bool, error) { return s.GrantWhole(ctx, grant("lea_3", "r3", 2)) }, false, "", 1, 1},
		{"ReturnOthersLease", ret("lea_1", "i-2"), false, "", 1, 1},
		{"Return", ret("lea_1", "i-1"), true, "", 0, 2},
		{"ReturnAgain", ret("lea_1", "i-1"), true, licensor.ENOTFOUND, 0, 2},
		{"GrantAfterReturn", func() (bool, error) { return s.GrantWhole(ctx, grant("lea_4", "r4", 2)) }, true, "", 2, 3},
	} {
		done, err := c.run()
		if done != c.wantDone || (done && licensor.ErrorCode(err) != c.wantCode && !(err == nil && c.wantCode == "")) {
			t.Errorf("%s: got done %v, error %v; want done %v, code %q", c.name, done, err, c.wantDone, c.wantCode)
		}
		if got := solverInUse(t, db, ctx, pool); got != c.inUse {
			t.Errorf("%s: units in use: got %d, want %d", c.name, got, c.inUse)
		}
		var events int
		if err := db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM usage_events WHERE tenant_id = $1`, tid).Scan(&events); err != nil {
			t.Fatal(err)
		}
		if events != c.events {
			t.Errorf("%s: usage events: got %d, want %d", c.name, events, c.events)
		}
	}
}

// poolWorld makes a tenant with a contract and a pool of solver=size.
func poolWorld(t *testing.T, db licensor.Store, size int64) (tid, pool, contract string) {
	t.Helper()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ten := &licensor.Tenant{ID: licensor.NewID(licensor.PrefixTenant), Name: "shortcut"}
	must("CreateTenant", db.CreateTenant(context.Background(), ten))
	ctx := licensor.WithTenant(context.Background(), ten.ID)
	cu := &licensor.Customer{ID: licensor.NewID(licensor.PrefixCustomer), Name: "Customer", Email: "ops@example.com", CreatedAt: t0}
	must("CreateCustomer", db.CreateCustomer(ctx, cu))
	pr := &licensor.Product{ID: licensor.NewID(licensor.PrefixProduct), Name: "Product", CreatedAt: t0}
	must("CreateProduct", db.CreateProduct(ctx, pr))
	c := &licensor.Contract{
		ID: licensor.NewID(licensor.PrefixContract), CustomerID: cu.ID, ProductID: pr.ID, Name: "Enterprise",
		StartsAt: t0, Features: []licensor.Entitlement{{Feature: "solver", Kind: licensor.FeatureCounted, Count: 50}}, CreatedAt: t0,
	}
	must("Validate contract", c.Validate())
	must("CreateContract", db.CreateContract(ctx, c))
	p := &licensor.Pool{
		ID: licensor.NewID(licensor.PrefixPool), CustomerID: cu.ID, Name: "main",
		Features: []licensor.PoolFeature{{Feature: "solver", MaxUnits: size}}, CreatedAt: t0,
	}
	must("Validate pool", p.Validate())
	must("CreatePool", db.CreatePool(ctx, p))
	return ten.ID, p.ID, c.ID
}

// solverInUse returns the units of solver in use in a pool of poolWorld's.
func solverInUse(t *testing.T, db licensor.Store, ctx context.Context, pool string) int64 {
	t.Helper()
	p, err := db.GetPool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := p.Feature("solver")
	return f.InUse
}
