package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// capWorld is a tenant with a contract and a pool of solver=10, gpu=2.
type capWorld struct {
	s        licensor.Store
	ctx      context.Context
	contract *licensor.Contract
	pool     *licensor.Pool
}

func newCapWorld(t *testing.T, s licensor.Store, name string) *capWorld {
	t.Helper()
	ctx, _ := scope(t, s, name)
	c := newContract(t, s, ctx, 0, nil)
	p := &licensor.Pool{
		ID: licensor.NewID(licensor.PrefixPool), CustomerID: c.CustomerID, Name: "main",
		Features:  []licensor.PoolFeature{{Feature: "solver", MaxUnits: 10}, {Feature: "gpu", MaxUnits: 2}},
		CreatedAt: t0,
	}
	must(t, "Validate pool", p.Validate())
	must(t, "CreatePool", s.CreatePool(ctx, p))
	return &capWorld{s: s, ctx: ctx, contract: c, pool: p}
}

// take asks for units as instance at now, leased for ttl.
func (w *capWorld) take(instance string, now time.Time, ttl time.Duration, units ...licensor.Units) licensor.Take {
	return licensor.Take{
		PoolID: w.pool.ID, ContractID: w.contract.ID, InstanceID: instance, Units: units,
		LeaseID: licensor.NewID(licensor.PrefixLease), Now: now, ExpiresAt: now.Add(ttl),
	}
}

// inUse returns the units of feature in use in the pool.
func (w *capWorld) inUse(t *testing.T, feature string) int64 {
	t.Helper()
	p, err := w.s.GetPool(w.ctx, w.pool.ID)
	must(t, "GetPool", err)
	f, ok := p.Feature(feature)
	if !ok {
		t.Fatalf("GetPool: got no feature %q", feature)
	}
	return f.InUse
}

func (w *capWorld) leases(t *testing.T) int {
	t.Helper()
	ls, err := w.s.ListLeases(w.ctx, licensor.LeaseFilter{PoolID: w.pool.ID, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
	must(t, "ListLeases", err)
	return len(ls)
}

func u(feature string, n int64) licensor.Units { return licensor.Units{Feature: feature, Units: n} }

func testCapabilities(t *testing.T, open opener) {
	t.Run("Pool", func(t *testing.T) {
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		got, err := s.GetPool(w.ctx, w.pool.ID)
		must(t, "GetPool", err)
		eq(t, "CustomerID", got.CustomerID, w.contract.CustomerID)
		eq(t, "LeaseTTL", got.LeaseTTL, licensor.DefaultLeaseTTL)
		eq(t, "features", fmt.Sprint(got.Features), "[{gpu 2 0 0 0} {solver 10 0 0 0}]")
		checkTime(t, "CreatedAt", got.CreatedAt, t0)

		per := &licensor.Pool{CustomerID: w.contract.CustomerID, ContractID: w.contract.ID, Features: []licensor.PoolFeature{{Feature: "solver", MaxUnits: 1}}}
		must(t, "Validate", per.Validate())
		must(t, "CreatePool for a contract", s.CreatePool(w.ctx, per))
		other := newCustomer(t, s, w.ctx, "Other")
		must(t, "CreatePool of another customer", s.CreatePool(w.ctx, &licensor.Pool{CustomerID: other.ID, LeaseTTL: time.Minute,
			Features: []licensor.PoolFeature{{Feature: "solver", MaxUnits: 1}}}))
		ps, err := s.ListPools(w.ctx, licensor.PoolFilter{CustomerID: w.contract.CustomerID})
		must(t, "ListPools", err)
		eq(t, "pools of the customer", len(ps), 2)
		checkPaging(t, "ListPools", 1, sorted([]string{w.pool.ID, per.ID}), func(o licensor.ListOptions) ([]*licensor.Pool, error) {
			return s.ListPools(w.ctx, licensor.PoolFilter{CustomerID: w.contract.CustomerID, ListOptions: o})
		}, func(p *licensor.Pool) string { return p.ID }, func(p *licensor.Pool) string { return p.ID })
		eq(t, "ContractID", ps[0].ContractID+ps[1].ContractID, w.contract.ID)

		wantCode(t, "CreatePool of an unknown customer", s.CreatePool(w.ctx, &licensor.Pool{CustomerID: "cus_nope", LeaseTTL: time.Minute,
			Features: []licensor.PoolFeature{{Feature: "solver", MaxUnits: 1}}}), licensor.ENOTFOUND)
		wantCode(t, "CreatePool for an unknown contract", s.CreatePool(w.ctx, &licensor.Pool{CustomerID: other.ID, ContractID: "con_nope",
			LeaseTTL: time.Minute, Features: []licensor.PoolFeature{{Feature: "solver", MaxUnits: 1}}}), licensor.ENOTFOUND)

		// A feature listed twice is the request's fault, whatever else is
		// wrong with it, and stores nothing.
		twice := func() []licensor.PoolFeature {
			return []licensor.PoolFeature{{Feature: "solver", MaxUnits: 1}, {Feature: "solver", MaxUnits: 2}}
		}
		wantCode(t, "CreatePool with a feature twice", s.CreatePool(w.ctx, &licensor.Pool{CustomerID: other.ID, LeaseTTL: time.Minute,
			Features: twice()}), licensor.EINVALID)
		wantCode(t, "CreatePool of an unknown customer with a feature twice", s.CreatePool(w.ctx, &licensor.Pool{CustomerID: "cus_nope",
			LeaseTTL: time.Minute, Features: twice()}), licensor.EINVALID)
		_, err = s.ResizePool(w.ctx, licensor.PoolResize{PoolID: w.pool.ID, LeaseTTL: time.Hour, Features: twice()})
		wantCode(t, "ResizePool with a feature twice", err, licensor.EINVALID)
		ps, err = s.ListPools(w.ctx, licensor.PoolFilter{CustomerID: other.ID})
		must(t, "ListPools", err)
		eq(t, "pools of the other customer after the refusals", len(ps), 1)
		kept, err := s.GetPool(w.ctx, w.pool.ID)
		must(t, "GetPool", err)
		eq(t, "features after a refused resize", fmt.Sprint(kept.Features), "[{gpu 2 0 0 0} {solver 10 0 0 0}]")

		r, err := s.ResizePool(w.ctx, licensor.PoolResize{PoolID: w.pool.ID, LeaseTTL: time.Hour,
			Features: []licensor.PoolFeature{{Feature: "solver", MaxUnits: 20}, {Feature: "export", MaxUnits: 3}}})
		must(t, "ResizePool", err)
		eq(t, "features after resize", fmt.Sprint(r.Features), "[{export 3 0 0 0} {gpu 2 0 0 0} {solver 20 0 0 0}]")
		eq(t, "LeaseTTL after resize", r.LeaseTTL, time.Hour)
		_, err = s.ResizePool(w.ctx, licensor.PoolResize{PoolID: "pool_nope", LeaseTTL: time.Hour})
		wantCode(t, "ResizePool of an unknown pool", err, licensor.ENOTFOUND)
	})

	t.Run("GrantAllOrNothing", func(t *testing.T) {
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		first := w.take("a", t0, time.Hour, u("gpu", 1), u("solver", 6))
		res, err := s.TakeCapabilities(w.ctx, first)
		must(t, "TakeCapabilities", err)
		eq(t, "Granted", res.Granted, true)
		if res.Lease == nil {
			t.Fatal("Lease: got nil, want the lease")
		}
		eq(t, "Lease.ID", res.Lease.ID, first.LeaseID)
		eq(t, "Lease units", fmt.Sprint(res.Lease.Units), "[{gpu 1} {solver 6}]")
		checkTime(t, "ExpiresAt", res.Lease.ExpiresAt, at(time.Hour))
		eq(t, "solver in use", w.inUse(t, "solver"), int64(6))

		// 5 solver are short by 1 and the gpu is there: nothing is taken.
		res, err = s.TakeCapabilities(w.ctx, w.take("b", at(time.Minute), time.Hour, u("gpu", 1), u("solver", 5)))
		must(t, "TakeCapabilities short", err)
		eq(t, "Granted", res.Granted, false)
		if res.Lease != nil || len(res.Shortages) != 1 {
			t.Fatalf("got lease %v and shortages %v, want no lease and one shortage", res.Lease, res.Shortages)
		}
		sh := res.Shortages[0]
		eq(t, "Shortage", fmt.Sprintf("%s %d %d %d", sh.Feature, sh.Requested, sh.Available, sh.Short), "solver 5 4 1")
		checkTime(t, "NextRelease", sh.NextRelease, at(time.Hour))
		eq(t, "gpu in use after a denial", w.inUse(t, "gpu"), int64(1))
		eq(t, "solver in use after a denial", w.inUse(t, "solver"), int64(6))
		eq(t, "leases", w.leases(t), 1)

		// Preview: the same answer, nothing taken.
		pv := w.take("b", at(time.Minute), time.Hour, u("solver", 4))
		pv.Preview = true
		res, err = s.TakeCapabilities(w.ctx, pv)
		must(t, "TakeCapabilities preview", err)
		eq(t, "preview Granted", res.Granted, true)
		eq(t, "preview Lease", res.Lease == nil, true)
		eq(t, "solver in use after a preview", w.inUse(t, "solver"), int64(6))

		// Partial: 4 of 5 solver.
		pt := w.take("b", at(time.Minute), time.Hour, u("solver", 5))
		pt.AllowPartial = true
		res, err = s.TakeCapabilities(w.ctx, pt)
		must(t, "TakeCapabilities partial", err)
		eq(t, "partial Granted", res.Granted, true)
		eq(t, "partial units", fmt.Sprint(res.Lease.Units), "[{solver 4}]")
		eq(t, "partial shortages", len(res.Shortages), 1)
		eq(t, "solver in use after partial", w.inUse(t, "solver"), int64(10))

		_, err = s.TakeCapabilities(w.ctx, w.take("c", at(time.Minute), time.Hour, u("nope", 1)))
		wantCode(t, "unknown feature", err, licensor.EINVALID)
		eq(t, "leases after bad requests", w.leases(t), 2)
		bad := w.take("c", at(time.Minute), time.Hour, u("solver", 1))
		bad.PoolID = "pool_nope"
		_, err = s.TakeCapabilities(w.ctx, bad)
		wantCode(t, "unknown pool", err, licensor.ENOTFOUND)
	})

	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, open) })
	t.Run("IdempotentRace", func(t *testing.T) { testIdempotentRace(t, open) })

	t.Run("ReturnAndRenew", func(t *testing.T) {
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		res, err := s.TakeCapabilities(w.ctx, w.take("a", t0, 10*time.Minute, u("gpu", 2), u("solver", 5)))
		must(t, "TakeCapabilities", err)
		id := res.Lease.ID
		ret := func(instance string, now time.Time, units ...licensor.Units) (*licensor.Lease, error) {
			left, _, err := s.ReturnCapabilities(w.ctx, licensor.LeaseReturn{LeaseID: id, ContractID: w.contract.ID, InstanceID: instance, Units: units, Now: now})
			return left, err
		}
		_, err = ret("b", at(time.Minute), u("solver", 1))
		wantCode(t, "return another instance's lease", err, licensor.ENOTFOUND)
		_, err = ret("a", at(time.Minute), u("solver", 6))
		wantCode(t, "return more than held", err, licensor.EINVALID)
		_, err = ret("a", at(time.Minute), u("export", 1))
		wantCode(t, "return a feature not held", err, licensor.EINVALID)
		eq(t, "solver in use after bad returns", w.inUse(t, "solver"), int64(5))

		left, err := ret("a", at(time.Minute), u("solver", 2))
		must(t, "return some", err)
		eq(t, "units left", fmt.Sprint(left.Units), "[{gpu 2} {solver 3}]")
		eq(t, "solver in use", w.inUse(t, "solver"), int64(3))
		left, err = ret("a", at(time.Minute), u("gpu", 2))
		must(t, "return a whole feature", err)
		eq(t, "units left", fmt.Sprint(left.Units), "[{solver 3}]")

		_, err = s.RenewLease(w.ctx, licensor.LeaseRenewal{LeaseID: id, ContractID: w.contract.ID, InstanceID: "b", Now: at(5 * time.Minute)})
		wantCode(t, "renew another instance's lease", err, licensor.ENOTFOUND)
		// The contract's end caps a renewal, which never shortens a lease.
		rl, err := s.RenewLease(w.ctx, licensor.LeaseRenewal{LeaseID: id, ContractID: w.contract.ID, InstanceID: "a", Now: at(4 * time.Minute), NotAfter: at(7 * time.Minute)})
		must(t, "RenewLease capped before the lease's expiry", err)
		checkTime(t, "ExpiresAt after a renewal capped before it", rl.ExpiresAt, at(10*time.Minute))
		rl, err = s.RenewLease(w.ctx, licensor.LeaseRenewal{LeaseID: id, ContractID: w.contract.ID, InstanceID: "a", Now: at(4 * time.Minute), NotAfter: at(12 * time.Minute)})
		must(t, "RenewLease capped", err)
		checkTime(t, "ExpiresAt after a capped renewal", rl.ExpiresAt, at(12*time.Minute))
		rl, err = s.RenewLease(w.ctx, licensor.LeaseRenewal{LeaseID: id, ContractID: w.contract.ID, InstanceID: "a", Now: at(5 * time.Minute)})
		must(t, "RenewLease", err)
		checkTime(t, "ExpiresAt after renewal", rl.ExpiresAt, at(5*time.Minute+licensor.DefaultLeaseTTL))
		checkTime(t, "RenewedAt", rl.RenewedAt, at(5*time.Minute))

		late := at(5*time.Minute + licensor.DefaultLeaseTTL)
		_, err = s.RenewLease(w.ctx, licensor.LeaseRenewal{LeaseID: id, ContractID: w.contract.ID, InstanceID: "a", Now: late})
		wantCode(t, "renew an expired lease", err, licensor.EPRECONDITION)
		eq(t, "solver in use after the lease expired", w.inUse(t, "solver"), int64(0))
		_, err = ret("a", late)
		wantCode(t, "return a lease that is gone", err, licensor.ENOTFOUND)

		res, err = s.TakeCapabilities(w.ctx, w.take("a", late, time.Minute, u("solver", 10)))
		must(t, "TakeCapabilities", err)
		left, _, err = s.ReturnCapabilities(w.ctx, licensor.LeaseReturn{LeaseID: res.Lease.ID, ContractID: w.contract.ID, InstanceID: "a", Now: late})
		must(t, "return all", err)
		eq(t, "lease after returning all", left == nil, true)
		eq(t, "solver in use", w.inUse(t, "solver"), int64(0))
		_, err = s.GetLease(w.ctx, res.Lease.ID)
		wantCode(t, "GetLease after returning all", err, licensor.ENOTFOUND)
	})

	t.Run("Borrow", func(t *testing.T) {
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		b := w.take("laptop", t0, 7*24*time.Hour, u("solver", 1))
		b.Borrowed = true
		res, err := s.TakeCapabilities(w.ctx, b)
		must(t, "TakeCapabilities", err)
		eq(t, "Borrowed", res.Lease.Borrowed, true)
		rl, err := s.RenewLease(w.ctx, licensor.LeaseRenewal{LeaseID: res.Lease.ID, ContractID: w.contract.ID, InstanceID: "laptop", Now: at(time.Hour)})
		must(t, "RenewLease of a borrowed lease", err)
		checkTime(t, "ExpiresAt of a borrowed lease after renewal", rl.ExpiresAt, at(7*24*time.Hour))
		n, err := s.ExpireLeases(w.ctx, at(6*24*time.Hour), 0)
		must(t, "ExpireLeases", err)
		eq(t, "freed before the borrow ends", n, 0)
		n, err = s.ExpireLeases(w.ctx, at(7*24*time.Hour), 0)
		must(t, "ExpireLeases", err)
		eq(t, "freed when the borrow ends", n, 1)
		eq(t, "solver in use", w.inUse(t, "solver"), int64(0))
	})

	t.Run("ExpireOnce", func(t *testing.T) {
		// Several reapers at once never free a lease twice.
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		for i := range 10 {
			_, err := s.TakeCapabilities(w.ctx, w.take(fmt.Sprint("i", i), t0, time.Minute, u("solver", 1)))
			must(t, "TakeCapabilities", err)
		}
		var wg sync.WaitGroup
		freed := make([]int, 4)
		errs := make([]error, 4)
		for i := range freed {
			wg.Go(func() { freed[i], errs[i] = s.ExpireLeases(context.Background(), at(time.Hour), 3) })
		}
		wg.Wait()
		total := 0
		for i := range freed {
			must(t, "ExpireLeases", errs[i])
			total += freed[i]
		}
		for {
			n, err := s.ExpireLeases(context.Background(), at(time.Hour), 3)
			must(t, "ExpireLeases", err)
			if n == 0 {
				break
			}
			total += n
		}
		eq(t, "leases freed", total, 10)
		eq(t, "solver in use", w.inUse(t, "solver"), int64(0))
		eq(t, "leases", w.leases(t), 0)
	})

	t.Run("Race", func(t *testing.T) {
		const racers = 200
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		var wg sync.WaitGroup
		start := make(chan struct{})
		res := make([]*licensor.TakeResult, racers)
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				<-start
				res[i], errs[i] = s.TakeCapabilities(w.ctx, w.take(fmt.Sprint("r", i), t0, time.Minute, u("solver", 1)))
			})
		}
		close(start)
		wg.Wait()
		granted := 0
		for i := range racers {
			must(t, "TakeCapabilities", errs[i])
			if res[i].Granted {
				granted++
			}
		}
		eq(t, "granted", granted, 10)
		eq(t, "solver in use", w.inUse(t, "solver"), int64(10))
	})

	t.Run("ExpiredUnitsAvailable", func(t *testing.T) { testExpiredUnitsAvailable(t, open) })
	t.Run("UsageFeatures", func(t *testing.T) { testUsageFeatures(t, open) })

	t.Run("Usage", func(t *testing.T) {
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		res, err := s.TakeCapabilities(w.ctx, w.take("a", t0, time.Hour, u("solver", 4)))
		must(t, "grant", err)
		_, err = s.TakeCapabilities(w.ctx, w.take("b", at(time.Minute), time.Hour, u("solver", 7)))
		must(t, "deny", err)
		_, err = s.RenewLease(w.ctx, licensor.LeaseRenewal{LeaseID: res.Lease.ID, ContractID: w.contract.ID, InstanceID: "a", Now: at(2 * time.Minute)})
		must(t, "renew", err)
		_, _, err = s.ReturnCapabilities(w.ctx, licensor.LeaseReturn{LeaseID: res.Lease.ID, ContractID: w.contract.ID, InstanceID: "a", Units: []licensor.Units{u("solver", 1)}, Now: at(3 * time.Minute)})
		must(t, "return", err)
		_, err = s.ExpireLeases(w.ctx, at(3*time.Hour), 0)
		must(t, "expire", err)
		evs, err := s.ListUsageEvents(w.ctx, licensor.UsageQuery{PoolID: w.pool.ID, Since: at(time.Minute), Until: at(4 * time.Hour)})
		must(t, "ListUsageEvents", err)
		var got []string
		for _, e := range evs {
			got = append(got, fmt.Sprintf("%s %s %d/%d", e.Feature, e.Kind, e.Units, e.InUse))
		}
		eq(t, "events", fmt.Sprint(got), "[solver grant 4/4 solver deny 7/4 solver renew 4/4 solver return 1/3 solver expire 3/0]")
		_, err = s.ListUsageEvents(w.ctx, licensor.UsageQuery{PoolID: "pool_nope", Since: t0, Until: at(time.Hour)})
		wantCode(t, "ListUsageEvents of an unknown pool", err, licensor.ENOTFOUND)
	})

	t.Run("Isolation", func(t *testing.T) {
		s := open(t)
		a := newCapWorld(t, s, "Tenant A")
		b := newCapWorld(t, s, "Tenant B")
		res, err := s.TakeCapabilities(a.ctx, a.take("a", t0, time.Hour, u("solver", 2)))
		must(t, "TakeCapabilities", err)
		_, err = s.GetPool(b.ctx, a.pool.ID)
		wantCode(t, "GetPool of tenant A", err, licensor.ENOTFOUND)
		ps, err := s.ListPools(b.ctx, licensor.PoolFilter{})
		must(t, "ListPools", err)
		eq(t, "pools seen by B", len(ps), 1)
		_, err = s.ResizePool(b.ctx, licensor.PoolResize{PoolID: a.pool.ID, Features: []licensor.PoolFeature{{Feature: "solver", MaxUnits: 99}}})
		wantCode(t, "ResizePool of tenant A", err, licensor.ENOTFOUND)
		tk := a.take("a", t0, time.Hour, u("solver", 1))
		tk.ContractID = b.contract.ID
		_, err = s.TakeCapabilities(b.ctx, tk)
		wantCode(t, "TakeCapabilities from A's pool", err, licensor.ENOTFOUND)
		_, err = s.GetLease(b.ctx, res.Lease.ID)
		wantCode(t, "GetLease of tenant A", err, licensor.ENOTFOUND)
		ls, err := s.ListLeases(b.ctx, licensor.LeaseFilter{})
		must(t, "ListLeases", err)
		eq(t, "leases seen by B", len(ls), 0)
		_, _, err = s.ReturnCapabilities(b.ctx, licensor.LeaseReturn{LeaseID: res.Lease.ID, ContractID: a.contract.ID, InstanceID: "a", Now: t0})
		wantCode(t, "ReturnCapabilities of A's lease", err, licensor.ENOTFOUND)
		_, err = s.RenewLease(b.ctx, licensor.LeaseRenewal{LeaseID: res.Lease.ID, ContractID: a.contract.ID, InstanceID: "a", Now: t0})
		wantCode(t, "RenewLease of A's lease", err, licensor.ENOTFOUND)
		wantCode(t, "ReleaseLease of A's lease", s.ReleaseLease(b.ctx, res.Lease.ID, t0), licensor.ENOTFOUND)
		n, err := s.ExpireLeases(b.ctx, at(48*time.Hour), 0)
		must(t, "ExpireLeases scoped to B", err)
		eq(t, "leases B's scoped reaper freed", n, 0)
		_, err = s.ListUsageEvents(b.ctx, licensor.UsageQuery{PoolID: a.pool.ID, Since: t0, Until: at(time.Hour)})
		wantCode(t, "ListUsageEvents of A's pool", err, licensor.ENOTFOUND)
		eq(t, "A's solver in use", a.inUse(t, "solver"), int64(2))
		must(t, "ReleaseLease by A", s.ReleaseLease(a.ctx, res.Lease.ID, t0))
		eq(t, "A's solver in use after release", a.inUse(t, "solver"), int64(0))
	})

	t.Run("NoTenantScope", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		_, err := s.GetPool(ctx, "pool_x")
		wantCode(t, "GetPool", err, licensor.EINTERNAL)
		wantCode(t, "CreatePool", s.CreatePool(ctx, &licensor.Pool{CustomerID: "cus_x"}), licensor.EINTERNAL)
		_, err = s.TakeCapabilities(ctx, licensor.Take{PoolID: "pool_x", Units: []licensor.Units{u("solver", 1)}})
		wantCode(t, "TakeCapabilities", err, licensor.EINTERNAL)
		_, err = s.ListLeases(ctx, licensor.LeaseFilter{})
		wantCode(t, "ListLeases", err, licensor.EINTERNAL)
		_, err = s.ListUsageEvents(ctx, licensor.UsageQuery{PoolID: "pool_x"})
		wantCode(t, "ListUsageEvents", err, licensor.EINTERNAL)
	})
}
