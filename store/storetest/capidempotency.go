package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// A request id makes a capability request idempotent: a retry gets the
// first answer, whatever the pool can do now, and changes nothing.
func testIdempotency(t *testing.T, open opener) {
	s := open(t)
	w := newCapWorld(t, s, "Acme")
	tk := w.take("a", t0, time.Hour, u("solver", 3))
	tk.RequestID, tk.Fingerprint = "req-1", "solver=3"
	first, err := s.TakeCapabilities(w.ctx, tk)
	must(t, "TakeCapabilities", err)
	retry := tk
	retry.LeaseID = licensor.NewID(licensor.PrefixLease)
	again, err := s.TakeCapabilities(w.ctx, retry)
	must(t, "TakeCapabilities retry", err)
	eq(t, "Replayed", again.Replayed, true)
	eq(t, "lease of the retry", again.Lease.ID, first.Lease.ID)
	checkTime(t, "ExpiresAt of the retry", again.Lease.ExpiresAt, first.Lease.ExpiresAt)
	eq(t, "solver in use after a retry", w.inUse(t, "solver"), int64(3))
	other := tk
	other.Fingerprint = "solver=4"
	_, err = s.TakeCapabilities(w.ctx, other)
	wantCode(t, "same id, different request", err, licensor.ECONFLICT)
	eq(t, "leases", w.leases(t), 1)

	// A retry when the pool could grant it again, or could not grant it
	// any more, gets the first answer and changes nothing.
	full, err := s.TakeCapabilities(w.ctx, w.take("b", at(time.Minute), time.Hour, u("solver", 7)))
	must(t, "TakeCapabilities b", err)
	deny := w.take("c", at(2*time.Minute), time.Hour, u("solver", 5))
	deny.RequestID, deny.Fingerprint = "req-2", "solver=5"
	first, err = s.TakeCapabilities(w.ctx, deny)
	must(t, "TakeCapabilities c", err)
	eq(t, "c Granted", first.Granted, false)
	again, err = s.TakeCapabilities(w.ctx, retry)
	must(t, "TakeCapabilities retry of a grant, pool full", err)
	eq(t, "Replayed", again.Replayed, true)
	eq(t, "Granted", again.Granted, true)
	_, _, err = s.ReturnCapabilities(w.ctx, licensor.LeaseReturn{LeaseID: full.Lease.ID, ContractID: w.contract.ID, InstanceID: "b", Now: at(3 * time.Minute)})
	must(t, "ReturnCapabilities b", err)
	denyRetry := deny
	denyRetry.LeaseID, denyRetry.Now = licensor.NewID(licensor.PrefixLease), at(4*time.Minute)
	again, err = s.TakeCapabilities(w.ctx, denyRetry)
	must(t, "TakeCapabilities retry of a denial, pool free", err)
	eq(t, "Replayed", again.Replayed, true)
	eq(t, "Granted", again.Granted, false)
	eq(t, "solver in use after the retries", w.inUse(t, "solver"), int64(3))
	eq(t, "leases after the retries", w.leases(t), 1)
	evs, err := s.ListUsageEvents(w.ctx, licensor.UsageQuery{PoolID: w.pool.ID, Since: t0, Until: at(time.Hour)})
	must(t, "ListUsageEvents", err)
	eq(t, "usage events", len(evs), 4) // grant a, grant b, deny c, return b
}

// The same request sent many times at once (a client retrying on several
// servers) is granted once: every answer names the one lease.
func testIdempotentRace(t *testing.T, open opener) {
	const racers = 20
	s := open(t)
	w := newCapWorld(t, s, "Acme")
	var wg sync.WaitGroup
	start := make(chan struct{})
	res := make([]*licensor.TakeResult, racers)
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			tk := w.take("a", t0, time.Hour, u("solver", 2))
			tk.RequestID, tk.Fingerprint = "req-race", "solver=2"
			<-start
			res[i], errs[i] = s.TakeCapabilities(w.ctx, tk)
		})
	}
	close(start)
	wg.Wait()
	leases := map[string]bool{}
	replayed := 0
	for i := range racers {
		must(t, "TakeCapabilities", errs[i])
		if !res[i].Granted || res[i].Lease == nil {
			t.Fatalf("answer %d: got %+v, want the grant", i, res[i])
		}
		leases[res[i].Lease.ID] = true
		if res[i].Replayed {
			replayed++
		}
	}
	eq(t, "distinct leases in the answers", len(leases), 1)
	eq(t, "replayed answers", replayed, racers-1)
	eq(t, "solver in use", w.inUse(t, "solver"), int64(2))
	eq(t, "leases", w.leases(t), 1)
}
