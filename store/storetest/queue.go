package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// waiter returns a waiter of w's pool for instance, joined at now and
// held until now+hold.
func (w *capWorld) waiter(instance string, now time.Time, hold time.Duration, units ...licensor.Units) *licensor.Waiter {
	return &licensor.Waiter{
		ID: licensor.NewID("wtr"), PoolID: w.pool.ID, ContractID: w.contract.ID, InstanceID: instance, Units: units,
		CreatedAt: now, Deadline: now.Add(hold), ExpiresAt: now.Add(hold),
	}
}

// serve returns a take of units for waiter wt at now.
func (w *capWorld) serve(wt *licensor.Waiter, now time.Time) licensor.Take {
	tk := w.take(wt.InstanceID, now, time.Hour, wt.Units...)
	tk.WaiterID, tk.WaiterSeq = wt.ID, wt.Seq
	return tk
}

func testQueue(t *testing.T, open opener) {
	t.Run("FirstComeFirstServed", func(t *testing.T) {
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		full, err := s.TakeCapabilities(w.ctx, w.take("holder", t0, time.Hour, u("solver", 10)))
		must(t, "TakeCapabilities all", err)
		eq(t, "Granted", full.Granted, true)

		a, b := w.waiter("a", t0, time.Hour, u("solver", 3)), w.waiter("b", t0, time.Hour, u("solver", 1))
		pos, err := s.EnqueueWaiter(w.ctx, a)
		must(t, "EnqueueWaiter a", err)
		eq(t, "position of a", pos, 1)
		pos, err = s.EnqueueWaiter(w.ctx, b)
		must(t, "EnqueueWaiter b", err)
		eq(t, "position of b", pos, 2)
		if b.Seq <= a.Seq {
			t.Errorf("Seq: got a=%d b=%d, want b after a", a.Seq, b.Seq)
		}
		_, err = s.EnqueueWaiter(w.ctx, b)
		wantCode(t, "EnqueueWaiter twice", err, licensor.ECONFLICT)

		// 2 units come back: a (3) does not fit, and b (1), which would,
		// may not pass a.
		_, _, err = s.ReturnCapabilities(w.ctx, licensor.LeaseReturn{LeaseID: full.Lease.ID, ContractID: w.contract.ID,
			InstanceID: "holder", Units: []licensor.Units{u("solver", 2)}, Now: at(time.Minute)})
		must(t, "ReturnCapabilities 2", err)
		res, err := s.TakeCapabilities(w.ctx, w.serve(b, at(time.Minute)))
		must(t, "TakeCapabilities b behind a", err)
		eq(t, "b Granted", res.Granted, false)
		eq(t, "b shortage", fmt.Sprint(res.Shortages[0].Queued, res.Shortages[0].Available, res.Shortages[0].Short), "true 0 1")
		res, err = s.TakeCapabilities(w.ctx, w.take("c", at(time.Minute), time.Hour, u("solver", 1)))
		must(t, "TakeCapabilities of no waiter", err)
		eq(t, "no waiter Granted", res.Granted, false)
		eq(t, "solver in use after denials", w.inUse(t, "solver"), int64(8))
		// The queue is the pool's: it holds back every feature.
		res, err = s.TakeCapabilities(w.ctx, w.take("c", at(time.Minute), time.Hour, u("gpu", 1)))
		must(t, "TakeCapabilities of another feature", err)
		eq(t, "another feature Granted", res.Granted, false)

		// Express passes the queue with what fits now.
		ex := w.take("c", at(time.Minute), time.Hour, u("solver", 1))
		ex.Express = true
		res, err = s.TakeCapabilities(w.ctx, ex)
		must(t, "TakeCapabilities express", err)
		eq(t, "express Granted", res.Granted, true)

		// One more back: a fits, is granted and leaves the queue.
		_, _, err = s.ReturnCapabilities(w.ctx, licensor.LeaseReturn{LeaseID: full.Lease.ID, ContractID: w.contract.ID,
			InstanceID: "holder", Units: []licensor.Units{u("solver", 2)}, Now: at(2 * time.Minute)})
		must(t, "ReturnCapabilities 2 more", err)
		res, err = s.TakeCapabilities(w.ctx, w.serve(a, at(2*time.Minute)))
		must(t, "TakeCapabilities a", err)
		eq(t, "a Granted", res.Granted, true)
		_, err = s.WaiterPosition(w.ctx, w.pool.ID, a.ID, at(2*time.Minute))
		wantCode(t, "WaiterPosition of a served waiter", err, licensor.ENOTFOUND)
		pos, err = s.WaiterPosition(w.ctx, w.pool.ID, b.ID, at(2*time.Minute))
		must(t, "WaiterPosition b", err)
		eq(t, "position of b after a", pos, 1)

		ls, err := s.QueueLengths(w.ctx, at(2*time.Minute))
		must(t, "QueueLengths", err)
		eq(t, "QueueLengths", fmt.Sprint(len(ls), ls[0].PoolID == w.pool.ID, ls[0].Waiting), "1 true 1")

		must(t, "LeaveQueue b", s.LeaveQueue(w.ctx, w.pool.ID, b.ID))
		must(t, "LeaveQueue b again", s.LeaveQueue(w.ctx, w.pool.ID, b.ID))
		res, err = s.TakeCapabilities(w.ctx, w.take("d", at(2*time.Minute), time.Hour, u("gpu", 1)))
		must(t, "TakeCapabilities with an empty queue", err)
		eq(t, "Granted with an empty queue", res.Granted, true)
	})

	t.Run("Lapse", func(t *testing.T) {
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		a := w.waiter("a", t0, time.Minute, u("gpu", 1))
		a.Deadline = at(10 * time.Minute)
		_, err := s.EnqueueWaiter(w.ctx, a)
		must(t, "EnqueueWaiter", err)
		res, err := s.TakeCapabilities(w.ctx, w.take("b", at(30*time.Second), time.Hour, u("gpu", 1)))
		must(t, "TakeCapabilities behind a live waiter", err)
		eq(t, "Granted behind a live waiter", res.Granted, false)

		// Lapsed (its server stalled), then renewed: its place again, but
		// never past its deadline.
		_, err = s.WaiterPosition(w.ctx, w.pool.ID, a.ID, at(90*time.Second))
		wantCode(t, "WaiterPosition of a lapsed waiter", err, licensor.ENOTFOUND)
		must(t, "RenewWaiter", s.RenewWaiter(w.ctx, w.pool.ID, a.ID, at(90*time.Second), at(time.Hour)))
		pos, err := s.WaiterPosition(w.ctx, w.pool.ID, a.ID, at(9*time.Minute))
		must(t, "WaiterPosition renewed", err)
		eq(t, "position", pos, 1)
		_, err = s.WaiterPosition(w.ctx, w.pool.ID, a.ID, at(10*time.Minute))
		wantCode(t, "WaiterPosition at its deadline", err, licensor.ENOTFOUND)
		wantCode(t, "RenewWaiter of a lapsed waiter", s.RenewWaiter(w.ctx, w.pool.ID, a.ID, at(10*time.Minute), at(time.Hour)), licensor.ENOTFOUND)

		// A lapsed waiter holds nothing back, and the reaper deletes it.
		res, err = s.TakeCapabilities(w.ctx, w.take("b", at(10*time.Minute), time.Hour, u("gpu", 1)))
		must(t, "TakeCapabilities past a lapsed waiter", err)
		eq(t, "Granted past a lapsed waiter", res.Granted, true)
		ls, err := s.QueueLengths(w.ctx, at(5*time.Minute))
		must(t, "QueueLengths before the reaper", err)
		eq(t, "queues before the reaper", len(ls), 1)
		_, err = s.ExpireLeases(w.ctx, at(10*time.Minute), 10)
		must(t, "ExpireLeases", err)
		ls, err = s.QueueLengths(w.ctx, at(5*time.Minute))
		must(t, "QueueLengths after the reaper", err)
		eq(t, "queues after the reaper", len(ls), 0)
	})

	t.Run("Express", func(t *testing.T) {
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		on := true
		p, err := s.ResizePool(w.ctx, licensor.PoolResize{PoolID: w.pool.ID, Express: &on})
		must(t, "ResizePool express", err)
		eq(t, "Express", p.Express, true)
		eq(t, "features kept", fmt.Sprint(p.Features), "[{gpu 2 0 0 0} {solver 10 0 0 0}]")
		p, err = s.GetPool(w.ctx, w.pool.ID)
		must(t, "GetPool", err)
		eq(t, "Express read back", p.Express, true)
		p, err = s.ResizePool(w.ctx, licensor.PoolResize{PoolID: w.pool.ID, LeaseTTL: time.Minute})
		must(t, "ResizePool TTL", err)
		eq(t, "Express kept", p.Express, true)
		off := false
		p, err = s.ResizePool(w.ctx, licensor.PoolResize{PoolID: w.pool.ID, Express: &off})
		must(t, "ResizePool express off", err)
		eq(t, "Express off", p.Express, false)
	})

	t.Run("Isolation", func(t *testing.T) {
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		other := newCapWorld(t, s, "Other")
		a := w.waiter("a", t0, time.Hour, u("gpu", 1))
		_, err := s.EnqueueWaiter(w.ctx, a)
		must(t, "EnqueueWaiter", err)
		_, err = s.WaiterPosition(other.ctx, w.pool.ID, a.ID, t0)
		wantCode(t, "WaiterPosition from another tenant", err, licensor.ENOTFOUND)
		wantCode(t, "RenewWaiter from another tenant", s.RenewWaiter(other.ctx, w.pool.ID, a.ID, t0, at(time.Hour)), licensor.ENOTFOUND)
		must(t, "LeaveQueue from another tenant", s.LeaveQueue(other.ctx, w.pool.ID, a.ID))
		_, err = s.WaiterPosition(w.ctx, w.pool.ID, a.ID, t0)
		must(t, "WaiterPosition after another tenant's LeaveQueue", err)
		theirs := other.waiter("x", t0, time.Hour, u("gpu", 1))
		theirs.PoolID = w.pool.ID
		_, err = s.EnqueueWaiter(other.ctx, theirs)
		wantCode(t, "EnqueueWaiter on another tenant's pool", err, licensor.ENOTFOUND)
		ls, err := s.QueueLengths(other.ctx, t0)
		must(t, "QueueLengths of another tenant", err)
		eq(t, "queues of another tenant", len(ls), 0)
		// The other tenant's pool has no queue: its grants go on.
		res, err := s.TakeCapabilities(other.ctx, other.take("x", t0, time.Hour, u("gpu", 1)))
		must(t, "TakeCapabilities of another tenant", err)
		eq(t, "Granted in another tenant", res.Granted, true)
	})
}
