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

// spanWorld is three pools of size, each of its own tenant and contract.
type spanWorld struct {
	ctx      []context.Context
	tenant   []string
	pool     []string
	contract []string
}

func newSpanWorld(t *testing.T, db *postgres.DB, size int64) *spanWorld {
	w := &spanWorld{}
	for range 3 {
		tid, pool, contract := poolWorld(t, db, size)
		w.ctx = append(w.ctx, licensor.WithTenant(context.Background(), tid))
		w.tenant, w.pool, w.contract = append(w.tenant, tid), append(w.pool, pool), append(w.contract, contract)
	}
	return w
}

// take requests one unit of pool p through db's general entry point.
func (w *spanWorld) take(db *postgres.DB, p int, request string) (*licensor.TakeResult, error) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	return db.TakeCapabilities(w.ctx[p], licensor.Take{
		PoolID: w.pool[p], ContractID: w.contract[p], InstanceID: "i-1",
		Units: []licensor.Units{{Feature: "solver", Units: 1}}, Now: t0, ExpiresAt: t0.Add(time.Hour),
		RequestID: request, Fingerprint: "solver=1",
	})
}

func (w *spanWorld) inUse(t *testing.T, db *postgres.DB, p int) int64 {
	t.Helper()
	return solverInUse(t, db, w.ctx[p], w.pool[p])
}

// TestLeaseGroupsAcrossPools: with the store's lanes taken, requests for
// other pools wait and go out as one transaction with those of the pool
// that held the lane, each decided as alone: one group of three pools
// (and three tenants), each pool's units counted in its own row. A
// replayed request id in such a group writes nothing and leaves the rest
// of the group alone; a lease id taken fails the group, whose requests
// then run alone.
func TestLeaseGroupsAcrossPools(t *testing.T) {
	defer postgres.SetGroupLanes(1)()
	db := pgtest.Open(t)
	w := newSpanWorld(t, db, 4)
	type res struct {
		granted bool
		err     error
	}
	call := func(p int, request string) func() res {
		return func() res {
			r, err := w.take(db, p, request)
			return res{r.Granted, err}
		}
	}
	// Pool 0 holds the one lane; pools 1 and 2 and pool 0 again queue.
	got := runHeld(t, db, call(0, "a"), call(1, "b"), call(2, "c"), call(0, "d"))
	for i, r := range got {
		if !r.granted || r.err != nil {
			t.Errorf("request %d: granted %v, error %v; want granted", i, r.granted, r.err)
		}
	}
	for p, want := range []int64{2, 1, 1} {
		if n := w.inUse(t, db, p); n != want {
			t.Errorf("pool %d: %d units in use, want %d", p, n, want)
		}
	}

	var mu sync.Mutex
	var split []int
	db.SetGroupSplitHook(func(n int) { mu.Lock(); split = append(split, n); mu.Unlock() })
	defer db.SetGroupSplitHook(nil)
	splits := func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(split)
	}
	// "b" was answered: replayed in a group of two pools, it writes
	// nothing and the general path gives its first answer.
	got = runHeld(t, db, call(2, "e"), call(1, "b"), call(0, "f"))
	if s := splits(); len(s) != 0 {
		t.Errorf("groups that wrote nothing: %v, want none", s)
	}
	for i, r := range got {
		if !r.granted || r.err != nil {
			t.Errorf("request %d: granted %v, error %v; want granted (the replay: its first answer)", i, r.granted, r.err)
		}
	}
	for p, want := range []int64{3, 1, 2} {
		if n := w.inUse(t, db, p); n != want {
			t.Errorf("pool %d after the replay: %d units in use, want %d", p, n, want)
		}
	}

	// A lease id taken fails its statement, and with it the group of two
	// pools: each then runs alone.
	var taken string
	if err := db.Pool().QueryRow(context.Background(), `SELECT id FROM leases WHERE tenant_id = $1`, w.tenant[1]).Scan(&taken); err != nil {
		t.Fatal(err)
	}
	us := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixMicro()
	shortcut := func(p int, lease string) func() res {
		return func() res {
			done, err := db.Shortcut().GrantWhole(w.ctx[p], store.Grant{Tenant: w.tenant[p], Pool: w.pool[p], Feature: "solver",
				Units: 1, Queue: 1 << 62, Now: us, Expires: us + 60e6, Lease: lease, Contract: w.contract[p], Instance: "i-1",
				UnitsJSON: `{"solver":1}`})
			return res{done, err}
		}
	}
	got = runHeld(t, db, shortcut(0, "lea_held"), shortcut(1, taken), shortcut(2, "lea_other"))
	if s := splits(); !slices.Equal(s, []int{2}) {
		t.Errorf("groups that wrote nothing: %v, want the group of 2", s)
	}
	if got[1].granted || got[1].err != nil || !got[2].granted || got[2].err != nil {
		t.Errorf("after the split: lease id taken %+v (want not done), other pool %+v (want granted)", got[1], got[2])
	}
	for p, want := range []int64{4, 1, 3} {
		if n := w.inUse(t, db, p); n != want {
			t.Errorf("pool %d after the split: %d units in use, want %d", p, n, want)
		}
	}
}

// TestCheckinNewGroupsAcrossContracts: new instances of several
// contracts that wait for the store's one lane go out as one transaction,
// each contract's seats counted in its own row.
func TestCheckinNewGroupsAcrossContracts(t *testing.T) {
	defer postgres.SetGroupLanes(1)()
	db := pgtest.Open(t)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var ctxs []context.Context
	var contracts []string
	for range 3 {
		ctx, c := seedContract(t, db, 1)
		ctxs, contracts = append(ctxs, ctx), append(contracts, c)
	}
	call := func(c int, id string) func() error {
		return func() error {
			_, err := db.Checkin(ctxs[c], licensor.Checkin{ContractID: contracts[c], InstanceID: id, TakesSeat: true,
				Now: now, LicenseID: "lic_" + id, LicenseExpiresAt: now.Add(time.Hour)})
			return err
		}
	}
	// Contract 0 holds the lane; 1 and 2 queue, and a second new instance
	// of contract 1, for which no seat is left: whichever of b and d
	// queued second is refused.
	errs := runHeld(t, db, call(0, "a"), call(1, "b"), call(2, "c"), call(1, "d"))
	for i, err := range []error{errs[0], errs[2]} {
		if err != nil {
			t.Errorf("check-in of contract %d: %v", 2*i, err)
		}
	}
	if codes := []string{licensor.ErrorCode(errs[1]), licensor.ErrorCode(errs[3])}; !slices.Contains(codes, "") || !slices.Contains(codes, licensor.EEXHAUSTED) {
		t.Errorf("contract 1's two new instances: %v and %v; want one licensed, one refused for no seat", errs[1], errs[3])
	}
	for i, c := range contracts {
		k, err := db.GetContract(ctxs[i], c)
		if err != nil {
			t.Fatal(err)
		}
		if k.SeatsUsed != 1 {
			t.Errorf("contract %d: %d seats used, want 1", i, k.SeatsUsed)
		}
	}
}

// TestLeaseGroupsAcrossPoolsConcurrent: two stores, one lane each, grant
// and return on three small pools at once, so their groups span pools in
// different orders: none waits for the other for ever (the locks are
// taken in one order), every grant is within its pool's size, and each
// pool's count, leases and events agree at the end.
func TestLeaseGroupsAcrossPoolsConcurrent(t *testing.T) {
	defer postgres.SetGroupLanes(1)()
	url, schema := pgtest.Schema(t)
	stores := []*postgres.DB{pgtest.OpenSchema(t, url, schema), pgtest.OpenSchema(t, url, schema)}
	w := newSpanWorld(t, stores[0], 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const callers, rounds = 12, 15
	granted := make([]int, 3)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			db := stores[c%2]
			for i := range rounds {
				p := (c + i) % 3
				r, err := w.take(db, p, fmt.Sprintf("r-%d-%d", c, i))
				if err != nil {
					t.Error(err)
					return
				}
				if !r.Granted {
					continue
				}
				if _, _, err := db.ReturnCapabilities(w.ctx[p], licensor.LeaseReturn{LeaseID: r.Lease.ID,
					ContractID: w.contract[p], InstanceID: "i-1", Now: time.Date(2030, 1, 2, 3, 4, 6, 0, time.UTC)}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				granted[p]++
				mu.Unlock()
			}
			if ctx.Err() != nil {
				t.Error("the callers did not finish within 60 s")
			}
		})
	}
	wg.Wait()
	for p := range 3 {
		if n := w.inUse(t, stores[1], p); n != 0 {
			t.Errorf("pool %d: %d units in use after every return, want 0", p, n)
		}
		leases, grants, returns, peak := tenantLeases(t, stores[0], w.tenant[p])
		if leases != 0 || grants != granted[p] || returns != granted[p] || peak > 3 {
			t.Errorf("pool %d: leases %d, grant events %d and return events %d (granted %d), peak in use %d (size 3)",
				p, leases, grants, returns, granted[p], peak)
		}
	}
	if granted[0]+granted[1]+granted[2] == 0 {
		t.Error("nothing was granted")
	}
}
