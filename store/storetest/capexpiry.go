package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// Expired leases are freed by the reaper (ExpireLeases), not by every
// request; but a request is never denied while expired leases hold the
// units it needs: TakeCapabilities frees them, in its own transaction, when
// it finds the pool short.
func testExpiredUnitsAvailable(t *testing.T, open opener) {
	// events lists the pool's usage events from since on.
	events := func(t *testing.T, w *capWorld, since time.Time) string {
		t.Helper()
		evs, err := w.s.ListUsageEvents(w.ctx, licensor.UsageQuery{PoolID: w.pool.ID, Since: since, Until: at(24 * time.Hour)})
		must(t, "ListUsageEvents", err)
		var got []string
		for _, e := range evs {
			if !e.At.Before(since.Truncate(time.Microsecond)) {
				got = append(got, fmt.Sprintf("%s %s %d/%d", e.Feature, e.Kind, e.Units, e.InUse))
			}
		}
		return fmt.Sprint(got)
	}

	t.Run("Granted", func(t *testing.T) {
		// A pool of 10 solver, all held by a lease that has expired.
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		old, err := s.TakeCapabilities(w.ctx, w.take("a", t0, time.Minute, u("solver", 10)))
		must(t, "TakeCapabilities", err)
		eq(t, "first Granted", old.Granted, true)

		later := at(2 * time.Minute)
		res, err := s.TakeCapabilities(w.ctx, w.take("b", later, time.Minute, u("solver", 10)))
		must(t, "TakeCapabilities with the units held by an expired lease", err)
		eq(t, "Granted", res.Granted, true)
		eq(t, "Shortages", len(res.Shortages), 0)
		eq(t, "solver in use", w.inUse(t, "solver"), int64(10))
		_, err = s.GetLease(w.ctx, old.Lease.ID)
		wantCode(t, "GetLease of the expired lease", err, licensor.ENOTFOUND)
		eq(t, "events", events(t, w, later), "[solver expire 10/0 solver grant 10/10]")
	})

	t.Run("StillShort", func(t *testing.T) {
		// 6 solver held by an expired lease, 4 by a live one: a request for
		// 7 is short by 1 even after the expiry; the expiry stays, and the
		// shortage counts the freed units as available.
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		_, err := s.TakeCapabilities(w.ctx, w.take("a", t0, time.Minute, u("solver", 6)))
		must(t, "TakeCapabilities a", err)
		live, err := s.TakeCapabilities(w.ctx, w.take("b", t0, time.Hour, u("solver", 4)))
		must(t, "TakeCapabilities b", err)

		later := at(2 * time.Minute)
		res, err := s.TakeCapabilities(w.ctx, w.take("c", later, time.Minute, u("gpu", 1), u("solver", 7)))
		must(t, "TakeCapabilities c", err)
		eq(t, "Granted", res.Granted, false)
		if len(res.Shortages) != 1 {
			t.Fatalf("Shortages: got %v, want one", res.Shortages)
		}
		sh := res.Shortages[0]
		eq(t, "Shortage", fmt.Sprintf("%s %d %d %d", sh.Feature, sh.Requested, sh.Available, sh.Short), "solver 7 6 1")
		checkTime(t, "NextRelease", sh.NextRelease, live.Lease.ExpiresAt)
		eq(t, "solver in use", w.inUse(t, "solver"), int64(4))
		eq(t, "gpu in use", w.inUse(t, "gpu"), int64(0))
		eq(t, "leases", w.leases(t), 1)
		eq(t, "events", events(t, w, later), "[solver expire 6/4 solver deny 7/4]")
	})

	t.Run("Preview", func(t *testing.T) {
		// A preview gives the answer a request would get: granted.
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		_, err := s.TakeCapabilities(w.ctx, w.take("a", t0, time.Minute, u("gpu", 2), u("solver", 10)))
		must(t, "TakeCapabilities", err)
		pv := w.take("b", at(2*time.Minute), time.Minute, u("gpu", 2), u("solver", 10))
		pv.Preview = true
		res, err := s.TakeCapabilities(w.ctx, pv)
		must(t, "TakeCapabilities preview", err)
		eq(t, "preview Granted", res.Granted, true)
		eq(t, "preview Lease", res.Lease == nil, true)
		eq(t, "solver in use after the preview", w.inUse(t, "solver"), int64(0))
		eq(t, "gpu in use after the preview", w.inUse(t, "gpu"), int64(0))
	})

	t.Run("Partial", func(t *testing.T) {
		// 8 solver expired, 2 live: a partial request for 9 gets 8.
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		_, err := s.TakeCapabilities(w.ctx, w.take("a", t0, time.Minute, u("solver", 8)))
		must(t, "TakeCapabilities a", err)
		_, err = s.TakeCapabilities(w.ctx, w.take("b", t0, time.Hour, u("solver", 2)))
		must(t, "TakeCapabilities b", err)
		later := at(2 * time.Minute)
		pt := w.take("c", later, time.Minute, u("solver", 9))
		pt.AllowPartial = true
		res, err := s.TakeCapabilities(w.ctx, pt)
		must(t, "TakeCapabilities partial", err)
		eq(t, "Granted", res.Granted, true)
		eq(t, "units", fmt.Sprint(res.Lease.Units), "[{solver 8}]")
		eq(t, "solver in use", w.inUse(t, "solver"), int64(10))
		eq(t, "events", events(t, w, later), "[solver expire 8/2 solver grant 8/10 solver deny 9/10]")
	})
}
