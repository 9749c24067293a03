package service

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

type capFixture struct {
	*fixture
	c    *licensor.Contract
	ctx  context.Context
	pool *licensor.Pool
}

// newCapFixture: a contract with a pool of solver=3, leases of 15 minutes.
func newCapFixture(t *testing.T) *capFixture {
	f := newFixture(t)
	c, ctx := f.contract(licensor.Contract{EndsAt: start.Add(30 * day), MaxBorrow: 2 * day})
	p, err := f.svc.CreatePool(f.admin, "", licensor.Pool{CustomerID: f.customer, ContractID: c.ID, Name: "floating",
		Features: []licensor.PoolFeature{{Feature: "solver", MaxUnits: 3}}, LeaseTTL: 15 * time.Minute})
	if err != nil {
		t.Fatalf("CreatePool: %v", err)
	}
	return &capFixture{fixture: f, c: c, ctx: ctx, pool: p}
}

func (f *capFixture) request(instance string, n int64, mod func(*CapabilityRequest)) (*CapabilityAnswer, error) {
	req := CapabilityRequest{ContractID: f.c.ID, InstanceID: instance, Units: []licensor.Units{{Feature: "solver", Units: n}}}
	if mod != nil {
		mod(&req)
	}
	return f.svc.RequestCapabilities(f.ctx, req)
}

func (f *capFixture) inUse(t *testing.T) int64 {
	t.Helper()
	_, fs, err := f.svc.ListCapabilityFeatures(f.ctx, f.c.ID, "node-1")
	if err != nil || len(fs) != 1 {
		t.Fatalf("ListCapabilityFeatures: got %v, %v; want one feature", fs, err)
	}
	return fs[0].InUse
}

// Request, preview and return: what a grant takes, what a preview and a
// denial do not, and what a return gives back.
func TestCapabilityRequestPreviewReturn(t *testing.T) {
	f := newCapFixture(t)
	now := f.clock.Now()
	first, err := f.request("node-1", 2, nil)
	if err != nil || !first.Granted || first.Lease == nil || first.Token == "" {
		t.Fatalf("request 2 of 3: got %+v, %v; want a signed lease", first, err)
	}
	if got := first.Lease.UnitsOf("solver"); got != 2 {
		t.Errorf("lease units: got %d, want 2", got)
	}
	if !first.Lease.ExpiresAt.Equal(now.Add(15 * time.Minute)) {
		t.Errorf("lease expiry: got %s, want now + the pool's TTL %s", first.Lease.ExpiresAt, now.Add(15*time.Minute))
	}
	for _, tc := range []struct {
		name    string
		n       int64
		mod     func(*CapabilityRequest)
		granted bool
		units   int64 // of the lease granted
		short   int64
		inUse   int64 // after the call
	}{
		{"PreviewFits", 1, func(r *CapabilityRequest) { r.Preview = true }, true, 0, 0, 2},
		{"PreviewShort", 2, func(r *CapabilityRequest) { r.Preview = true }, false, 0, 1, 2},
		{"DeniedShort", 2, nil, false, 0, 1, 2},
		{"PartialTakesWhatIsFreeAndSaysWhatIsShort", 2, func(r *CapabilityRequest) { r.AllowPartial = true }, true, 1, 1, 3},
		{"DeniedWhenFull", 1, nil, false, 0, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ans, err := f.request("node-2", tc.n, tc.mod)
			if err != nil {
				t.Fatalf("RequestCapabilities: %v", err)
			}
			if ans.Granted != tc.granted {
				t.Errorf("granted: got %v, want %v", ans.Granted, tc.granted)
			}
			if tc.units > 0 && (ans.Lease == nil || ans.Lease.UnitsOf("solver") != tc.units) {
				t.Errorf("lease: got %+v, want %d units", ans.Lease, tc.units)
			}
			var short int64
			for _, s := range ans.Shortages {
				short += s.Short
			}
			if short != tc.short {
				t.Errorf("shortage: got %d (%+v), want %d", short, ans.Shortages, tc.short)
			}
			if got := f.inUse(t); got != tc.inUse {
				t.Errorf("units in use: got %d, want %d", got, tc.inUse)
			}
		})
	}
	t.Run("ReturnSome", func(t *testing.T) {
		left, err := f.svc.ReturnCapabilities(f.ctx, f.c.ID, "node-1", first.Lease.ID, []licensor.Units{{Feature: "solver", Units: 1}})
		if err != nil || left == nil || left.UnitsOf("solver") != 1 {
			t.Fatalf("return 1 of 2: got %+v, %v; want 1 left", left, err)
		}
		if got := f.inUse(t); got != 2 {
			t.Errorf("units in use: got %d, want 2", got)
		}
	})
	t.Run("ReturnRest", func(t *testing.T) {
		left, err := f.svc.ReturnCapabilities(f.ctx, f.c.ID, "node-1", first.Lease.ID, nil)
		if err != nil || left != nil {
			t.Fatalf("return the rest: got %+v, %v; want nothing left", left, err)
		}
		if got := f.inUse(t); got != 1 {
			t.Errorf("units in use: got %d, want 1", got)
		}
	})
	t.Run("ReturnUnknownLease", func(t *testing.T) {
		_, err := f.svc.ReturnCapabilities(f.ctx, f.c.ID, "node-1", first.Lease.ID, nil)
		wantCode(t, "return of a returned lease", err, licensor.ENOTFOUND)
	})
}

// Leases run out on the clock: the reaper frees them, and a renewal of an
// expired lease is refused.
func TestCapabilityLeaseExpiry(t *testing.T) {
	f := newCapFixture(t)
	ans, err := f.request("node-1", 3, nil)
	if err != nil || !ans.Granted {
		t.Fatalf("request 3: got %+v, %v", ans, err)
	}
	f.clock.Advance(10 * time.Minute)
	renewed, _, err := f.svc.RenewLease(f.ctx, f.c.ID, "node-1", ans.Lease.ID)
	if err != nil || !renewed.ExpiresAt.Equal(f.clock.Now().Add(15*time.Minute)) {
		t.Fatalf("RenewLease: got %+v, %v; want it to expire 15m from now", renewed, err)
	}
	f.clock.Advance(15 * time.Minute)
	n, err := f.svc.ReapLeases(context.Background())
	if err != nil || n != 1 {
		t.Errorf("ReapLeases: got %d, %v; want 1", n, err)
	}
	_, _, err = f.svc.RenewLease(f.ctx, f.c.ID, "node-1", ans.Lease.ID)
	if code := licensor.ErrorCode(err); code != licensor.EPRECONDITION && code != licensor.ENOTFOUND {
		t.Errorf("RenewLease of an expired lease: got %v, want EPRECONDITION or ENOTFOUND", err)
	}
	again, err := f.request("node-2", 3, nil)
	if err != nil || !again.Granted {
		t.Errorf("request 3 after the reaping: got %+v, %v; want granted", again, err)
	}
}

// A borrow is bounded by the contract's maximum, and no lease outlives the
// contract; a contract not in force lends nothing.
func TestCapabilityBorrowAndContractEnd(t *testing.T) {
	f := newCapFixture(t)
	_, err := f.request("node-1", 1, func(r *CapabilityRequest) { r.Borrow = 3 * day })
	wantCode(t, "borrow past the contract's maximum", err, licensor.EINVALID)
	ans, err := f.request("node-1", 1, func(r *CapabilityRequest) { r.Borrow = 2 * day })
	if err != nil || !ans.Lease.Borrowed || !ans.Lease.ExpiresAt.Equal(f.clock.Now().Add(2*day)) {
		t.Fatalf("borrow 2d: got %+v, %v; want a borrowed lease for 2d", ans, err)
	}
	f.clock.Advance(29 * day) // a day before the contract's end
	ans, err = f.request("node-1", 1, func(r *CapabilityRequest) { r.Borrow = 2 * day })
	if err != nil || !ans.Lease.ExpiresAt.Equal(f.c.EndsAt) {
		t.Fatalf("borrow near the end: got %+v, %v; want it cut at the end %s", ans, err, f.c.EndsAt)
	}
	f.clock.Advance(day)
	_, err = f.request("node-1", 1, nil)
	wantCode(t, "request after the end", err, licensor.EFORBIDDEN)
}

// A return wakes the customer's queues (on every server) only when the
// store says requests may wait for the units; the PostgreSQL store says
// none did when it saw none under the pool's lock.
func TestReturnWakesQueuesOnlyWhenWaiting(t *testing.T) {
	f := newCapFixture(t)
	wake, unsubscribe := f.svc.Feed().Subscribe(f.tenantID, queueKey(f.customer))
	defer unsubscribe()
	for _, tc := range []struct {
		name        string
		noneWaiting bool
		wantWake    bool
	}{
		{"MayWait", false, true},
		{"NoneWaited", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.store.mu.Lock()
			f.store.noneWaiting = tc.noneWaiting
			f.store.mu.Unlock()
			ans, err := f.request("node-1", 1, nil)
			if err != nil || !ans.Granted {
				t.Fatalf("request: got %+v, %v", ans, err)
			}
			select {
			case <-wake: // not the return's
			default:
			}
			if _, err := f.svc.ReturnCapabilities(f.ctx, f.c.ID, "node-1", ans.Lease.ID, nil); err != nil {
				t.Fatalf("return: %v", err)
			}
			woken := false
			select {
			case <-wake:
				woken = true
			default:
			}
			if woken != tc.wantWake {
				t.Errorf("queues woken: got %v, want %v", woken, tc.wantWake)
			}
		})
	}
}
