package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store"
	"github.com/licensor/licensor/store/postgres"
)

// groupRig holds a pool's first group (a grant run alone) until the test
// has queued what it wants grouped behind it, and records the size of
// every group that starts.
type groupRig struct {
	t       *testing.T
	queued  chan struct{}
	held    chan struct{} // the held group has started
	release chan struct{}
	mu      sync.Mutex
	sizes   []int
	holding bool
}

func newGroupRig(t *testing.T, db *postgres.DB) *groupRig {
	r := &groupRig{t: t, queued: make(chan struct{}, 64), held: make(chan struct{}), release: make(chan struct{})}
	db.SetGroupHooks(func() {
		select {
		case r.queued <- struct{}{}:
		default: // nobody counts (more than the buffer)
		}
	}, func(n int) {
		r.mu.Lock()
		r.sizes = append(r.sizes, n)
		hold := r.holding
		r.holding = false
		r.mu.Unlock()
		if hold {
			close(r.held)
			<-r.release
		}
	})
	t.Cleanup(func() { db.SetGroupHooks(nil, nil) })
	return r
}

// hold makes the next group to start wait until let.
func (r *groupRig) hold() {
	r.mu.Lock()
	r.holding = true
	r.mu.Unlock()
}

// await waits until n ops have joined a queue.
func (r *groupRig) await(n int) {
	for range n {
		select {
		case <-r.queued:
		case <-time.After(10 * time.Second):
			r.t.Fatal("an op never joined its pool's queue")
		}
	}
}

func (r *groupRig) let() { close(r.release) }

func (r *groupRig) groups() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sizes)
}

// runHeld starts the calls at once, the first held as its key's group,
// the rest queued behind it, checks that they then ran as one group, and
// returns their results in order.
func runHeld[T any](t *testing.T, db *postgres.DB, calls ...func() T) []T {
	t.Helper()
	rig := newGroupRig(t, db)
	rig.hold()
	out := make([]T, len(calls))
	var wg sync.WaitGroup
	wg.Go(func() { out[0] = calls[0]() })
	<-rig.held
	for i, call := range calls[1:] {
		wg.Go(func() { out[i+1] = call() })
	}
	rig.await(len(calls) - 1)
	rig.let()
	wg.Wait()
	if got, want := rig.groups(), []int{1, len(calls) - 1}; !slices.Equal(got, want) {
		t.Errorf("groups started: got sizes %v, want %v", got, want)
	}
	return out
}

type shortcutResult struct {
	done, waiting bool
	err           error
}

// TestLeaseGroups: grants and returns of one pool that arrive while one
// of its transactions runs go out together as one transaction, each
// decided as it would be alone; a statement that fails sends every
// request of its group to run alone, and only the failing one goes on to
// the general path.
func TestLeaseGroups(t *testing.T) {
	db := pgtest.Open(t)
	tid, pool, contract := poolWorld(t, db, 10)
	ctx := licensor.WithTenant(context.Background(), tid)
	s := db.Shortcut()
	us := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixMicro()
	grant := func(lease, request string) store.Grant {
		return store.Grant{
			Tenant: tid, Pool: pool, Feature: "solver", Units: 1, Queue: 1 << 62, Now: us, Expires: us + 60e6,
			Lease: lease, Contract: contract, Instance: "i-1", UnitsJSON: `{"solver":1}`,
			RequestID: request, Fingerprint: "fp-" + request, Answer: []byte(`{}`),
		}
	}
	ret := func(lease string) licensor.LeaseReturn {
		return licensor.LeaseReturn{LeaseID: lease, ContractID: contract, InstanceID: "i-1"}
	}
	inUse := func() int64 { t.Helper(); return solverInUse(t, db, ctx, pool) }
	run := func(calls ...func() shortcutResult) []shortcutResult {
		t.Helper()
		return runHeld(t, db, calls...)
	}
	g := func(lease, request string) func() shortcutResult {
		return func() shortcutResult {
			done, err := s.GrantWhole(ctx, grant(lease, request))
			return shortcutResult{done: done, err: err}
		}
	}
	r := func(lease string) func() shortcutResult {
		return func() shortcutResult {
			done, waiting, err := s.ReturnWhole(ctx, tid, ret(lease), us+1)
			return shortcutResult{done, waiting, err}
		}
	}
	want := func(what string, got shortcutResult, done, waiting bool) {
		t.Helper()
		if got.done != done || got.err != nil || (done && got.waiting != waiting) {
			t.Errorf("%s: got %+v, want done %v, waiting %v, no error", what, got, done, waiting)
		}
	}

	if done, err := s.GrantWhole(ctx, grant("lea_dup", "dup")); !done || err != nil {
		t.Fatalf("first grant: %v, %v", done, err)
	}
	t.Run("GrantsTogether", func(t *testing.T) {
		out := run(g("lea_a", "a"), g("lea_b", "b"), g("lea_c", "c"), g("lea_d", "d"))
		for i, o := range out {
			want(fmt.Sprint("grant ", i), o, true, false)
		}
		if got := inUse(); got != 5 {
			t.Errorf("units in use: got %d, want 5", got)
		}
	})
	splits := func() func() []int {
		var mu sync.Mutex
		var sizes []int
		db.SetGroupSplitHook(func(n int) { mu.Lock(); sizes = append(sizes, n); mu.Unlock() })
		return func() []int {
			db.SetGroupSplitHook(nil)
			mu.Lock()
			defer mu.Unlock()
			return sizes
		}
	}
	t.Run("OneFailsAlone", func(t *testing.T) {
		// A lease id taken fails its statement: the group writes
		// nothing, its other grants run alone and are granted, the
		// failing one is left to the general path.
		split := splits()
		out := run(g("lea_e", "e"), g("lea_f", "f"), g("lea_a", "taken"), g("lea_g", "g"))
		if got := split(); !slices.Equal(got, []int{3}) {
			t.Errorf("groups that wrote nothing: %v, want the group of 3", got)
		}
		want("grant e", out[0], true, false)
		want("grant f", out[1], true, false)
		want("lease id taken", out[2], false, false)
		want("grant g", out[3], true, false)
		if got := inUse(); got != 8 {
			t.Errorf("units in use: got %d, want 8", got)
		}
	})
	t.Run("ReplayWritesNothing", func(t *testing.T) {
		// A replayed request id writes nothing, without failing its
		// group: the general path replays its answer.
		split := splits()
		out := run(r("lea_g"), g("lea_e2", "e2"), g("lea_dup2", "dup"))
		if got := split(); len(got) != 0 {
			t.Errorf("groups that wrote nothing: %v, want none", got)
		}
		want("return g", out[0], true, false)
		want("grant e2", out[1], true, false)
		want("replayed request id", out[2], false, false)
		if got := inUse(); got != 8 {
			t.Errorf("units in use: got %d, want 8", got)
		}
	})
	t.Run("ReturnsFirst", func(t *testing.T) {
		// 9 of 10 in use once h is granted: the group's two returns go
		// first, whenever they came, and free units for all its grants.
		out := run(g("lea_h", "h"), g("lea_i", "i"), g("lea_j", "j"), g("lea_k", "k"), r("lea_a"), r("lea_b"))
		for i, o := range out {
			want(fmt.Sprint("op ", i), o, true, false)
		}
		if got := inUse(); got != 10 {
			t.Errorf("units in use: got %d, want 10", got)
		}
	})
	t.Run("ReturnsSeeWaiters", func(t *testing.T) {
		w := &licensor.Waiter{
			ID: "wtr_1", PoolID: pool, ContractID: contract, InstanceID: "i-2", Units: []licensor.Units{{Feature: "solver", Units: 1}},
			CreatedAt: time.UnixMicro(us), Deadline: time.UnixMicro(us + 60e6), ExpiresAt: time.UnixMicro(us + 60e6),
		}
		if _, err := db.EnqueueWaiter(ctx, w); err != nil {
			t.Fatal(err)
		}
		// The waiter holds back the held grant; both returns see it.
		out := run(g("lea_l", "l"), r("lea_c"), r("lea_d"))
		want("grant behind a waiter", out[0], false, false)
		want("return c", out[1], true, true)
		want("return d", out[2], true, true)
		if got := inUse(); got != 8 {
			t.Errorf("units in use: got %d, want 8", got)
		}
	})
	t.Run("ReturnsOfLeasesGrantedElsewhere", func(t *testing.T) {
		// Leases this server did not grant (as if another had): their
		// returns read the pool, then group like the others; a lease that
		// does not exist is not found.
		db.ForgetLeases()
		out := run(g("lea_n", "n"), r("lea_e"), r("lea_f"))
		want("grant n", out[0], false, false) // the waiter still holds it back
		want("return e", out[1], true, true)
		want("return f", out[2], true, true)
		if got := r("lea_none")(); !got.done || licensor.ErrorCode(got.err) != licensor.ENOTFOUND {
			t.Errorf("return of no lease: got %+v, want done with ENOTFOUND", got)
		}
		if got := inUse(); got != 6 {
			t.Errorf("units in use: got %d, want 6", got)
		}
	})
	t.Run("CallerGoneWhileQueued", func(t *testing.T) {
		// A request whose caller goes away while it waits for its pool
		// leaves the queue at once and writes nothing.
		rig := newGroupRig(t, db)
		rig.hold()
		held := make(chan shortcutResult, 1)
		go func() { held <- g("lea_o", "o")() }()
		<-rig.held
		gone, cancel := context.WithCancel(ctx)
		left := make(chan shortcutResult, 1)
		go func() {
			done, err := s.GrantWhole(gone, grant("lea_p", "p"))
			left <- shortcutResult{done: done, err: err}
		}()
		rig.await(1)
		cancel()
		select {
		case got := <-left:
			if got.done || got.err != nil {
				t.Errorf("grant whose caller went away: got %+v, want it left to the general path", got)
			}
		case <-time.After(10 * time.Second):
			rig.let()
			t.Fatal("a grant whose caller went away still waits for its pool")
		}
		rig.let()
		want("held grant", <-held, false, false) // the waiter still holds it back
		if got := rig.groups(); !slices.Equal(got, []int{1}) {
			t.Errorf("groups started: got sizes %v, want [1]", got)
		}
		if got := inUse(); got != 6 {
			t.Errorf("units in use: got %d, want 6", got)
		}
	})
	var events int
	if err := db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM usage_events WHERE tenant_id = $1`, tid).Scan(&events); err != nil {
		t.Fatal(err)
	}
	// Thirteen grants (dup, a–k, e2) and seven returns (a–g): one event each.
	if events != 20 {
		t.Errorf("usage events: got %d, want 20", events)
	}
}

// TestLeaseGroupsConcurrent: many callers grant and return on one small
// pool at once, so groups form; every grant is within the pool's size,
// and the pool's count, its leases and its events agree at the end.
func TestLeaseGroupsConcurrent(t *testing.T) {
	db := pgtest.Open(t)
	tid, pool, contract := poolWorld(t, db, 5)
	ctx := licensor.WithTenant(context.Background(), tid)
	rig := newGroupRig(t, db)
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	const callers, rounds = 16, 20
	var mu sync.Mutex
	granted, returned := 0, 0
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range rounds {
				res, err := db.TakeCapabilities(ctx, licensor.Take{
					PoolID: pool, ContractID: contract, InstanceID: fmt.Sprint("i-", c),
					Units: []licensor.Units{{Feature: "solver", Units: 1}}, Now: t0, ExpiresAt: t0.Add(time.Hour),
					RequestID: fmt.Sprintf("r-%d-%d", c, i), Fingerprint: "solver=1",
				})
				if err != nil {
					t.Error(err)
					return
				}
				if !res.Granted {
					continue
				}
				_, _, err = db.ReturnCapabilities(ctx, licensor.LeaseReturn{LeaseID: res.Lease.ID, ContractID: contract, InstanceID: fmt.Sprint("i-", c), Now: t0})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				granted++
				returned++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if got := solverInUse(t, db, ctx, pool); got != 0 {
		t.Errorf("units in use after every return: got %d, want 0", got)
	}
	leases, grants, returns, peak := tenantLeases(t, db, tid)
	if leases != 0 || grants != granted || returns != returned || peak > 5 {
		t.Errorf("leases %d, grant events %d (granted %d), return events %d (returned %d), peak in use %d (size 5)",
			leases, grants, granted, returns, returned, peak)
	}
	grouped := 0
	for _, n := range rig.groups() {
		if n > 1 {
			grouped++
		}
	}
	t.Logf("%d grants; %d groups of more than one of %d", granted, grouped, len(rig.groups()))
	if granted == 0 {
		t.Error("nothing was granted")
	}
}

// tenantLeases reads a tenant's leases, its grant and return events, and
// the most units in use any event recorded.
func tenantLeases(t *testing.T, db *postgres.DB, tid string) (leases, grants, returns, peak int) {
	t.Helper()
	q := `SELECT (SELECT count(*) FROM leases WHERE tenant_id = $1),
		(SELECT count(*) FROM usage_events WHERE tenant_id = $1 AND kind = 'grant'),
		(SELECT count(*) FROM usage_events WHERE tenant_id = $1 AND kind = 'return'),
		(SELECT coalesce(max(in_use), 0) FROM usage_events WHERE tenant_id = $1)`
	if err := db.Pool().QueryRow(context.Background(), q, tid).Scan(&leases, &grants, &returns, &peak); err != nil {
		t.Fatal(err)
	}
	return leases, grants, returns, peak
}
