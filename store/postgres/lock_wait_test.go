package postgres_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/internal/testlog"
	"github.com/licensor/licensor/store"
	"github.com/licensor/licensor/store/postgres"
)

// TestLockWaits: a grant whose pool's lock another transaction holds
// waits for it, and the store counts that wait — at least as long as the
// test saw the grant blocked — in LockWaits and, once the minute is over,
// names the pool in a warning. Transactions that find their lock free
// count with no wait worth a warning.
func TestLockWaits(t *testing.T) {
	db, clock, advance, logs := clockedStore(t)
	tid, pool, contract := poolWorld(t, db, 10)
	s := db.Shortcut()
	us := clock.UnixMicro()
	grant := func(lease string) store.Grant {
		return store.Grant{Tenant: tid, Pool: pool, Feature: "solver", Units: 1, Queue: 1 << 62, Now: us, Expires: us + 60e6,
			Lease: lease, Contract: contract, Instance: "i-1", UnitsJSON: `{"solver":1}`}
	}
	if done, err := s.GrantWhole(context.Background(), grant("lea_free")); !done || err != nil {
		t.Fatalf("grant with the lock free: done %v, error %v", done, err)
	}
	before := poolWaits(db)
	if before.Transactions != 1 {
		t.Fatalf("after one grant: %d transactions counted, want 1", before.Transactions)
	}

	// Another transaction holds the pool's lock, as another server's would.
	ctx := context.Background()
	release := holdPoolLock(t, db, tid, pool)
	type result struct {
		done bool
		err  error
	}
	res := make(chan result, 1)
	go func() {
		done, err := s.GrantWhole(ctx, grant("lea_waits"))
		res <- result{done, err}
	}()
	awaitLockWaiter(t, db, tid, pool)
	seen := time.Now()
	advance(time.Minute) // a minute passes on the store's clock while it waits
	release()
	blocked := time.Since(seen)
	if r := <-res; !r.done || r.err != nil {
		t.Fatalf("grant after the lock was released: done %v, error %v", r.done, r.err)
	}
	after := poolWaits(db)
	if after.Transactions != 2 {
		t.Errorf("after two grants: %d transactions counted, want 2", after.Transactions)
	}
	if waited := after.Waited - before.Waited; waited < blocked {
		t.Errorf("the waiting grant counted %v of wait; it was blocked for at least %v", waited, blocked)
	}
	for _, lw := range db.LockWaits() {
		if lw.Kind == "contract" && lw.Transactions != 0 {
			t.Errorf("contract locks: %d transactions counted, want none", lw.Transactions)
		}
	}
	if out := logs(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "id="+pool) || !strings.Contains(out, "lock=pool") {
		t.Errorf("no warning naming the pool after its transactions waited; log:\n%s", out)
	}

	// A return whose lease's pool this store does not know finds it with
	// its lock, and is counted under that pool.
	db.ForgetLeases()
	done, _, err := s.ReturnWhole(ctx, tid, licensor.LeaseReturn{LeaseID: "lea_waits", ContractID: contract, InstanceID: "i-1"}, us+1)
	if !done || err != nil {
		t.Fatalf("return: done %v, error %v", done, err)
	}
	if got := poolWaits(db).Transactions; got != 3 {
		t.Errorf("after the return: %d transactions counted, want 3", got)
	}

	// A new instance's check-in takes its contract's row lock.
	cctx, c := seedContract(t, db, 1)
	if _, done, err := db.CheckinNew(cctx, licensor.Checkin{ContractID: c, InstanceID: "new", TakesSeat: true,
		Environment: "production", Now: clock, LicenseID: "lic_new", LicenseExpiresAt: clock.Add(time.Hour)}); !done || err != nil {
		t.Fatalf("new instance: done %v, error %v", done, err)
	}
	for _, lw := range db.LockWaits() {
		if lw.Kind == "contract" && lw.Transactions != 1 {
			t.Errorf("after a new instance: %d contract-lock transactions counted, want 1", lw.Transactions)
		}
	}
}

func poolWaits(db *postgres.DB) postgres.LockWait {
	for _, lw := range db.LockWaits() {
		if lw.Kind == "pool" {
			return lw
		}
	}
	return postgres.LockWait{}
}

// TestLockWaitsPerLockOfAGroup: a group of two pools waits for the lock
// of the one that sorts first, held elsewhere; the wait is counted for
// that pool, and the other, taken right after, is not charged with it.
func TestLockWaitsPerLockOfAGroup(t *testing.T) {
	defer postgres.SetGroupLanes(1)()
	db, _, advance, logs := clockedStore(t)
	w := newSpanWorld(t, db, 5)
	// first is the pool of 0 and 1 whose lock a group takes first.
	var first int
	if err := db.Pool().QueryRow(context.Background(), `SELECT CASE WHEN (hashtext($1), hashtext($2), $1, $2) < (hashtext($3), hashtext($4), $3, $4)
		THEN 0 ELSE 1 END`, w.tenant[0], w.pool[0], w.tenant[1], w.pool[1]).Scan(&first); err != nil {
		t.Fatal(err)
	}
	second := 1 - first
	release := holdPoolLock(t, db, w.tenant[first], w.pool[first])
	take := func(p int, request string) func() error {
		return func() error { _, err := w.take(db, p, request); return err }
	}
	done := make(chan []error, 1)
	// Pool 2 holds the lane; the grants of the other two then go as one
	// group, which waits for first's lock.
	go func() { done <- runHeld(t, db, take(2, "held"), take(first, "a"), take(second, "b")) }()
	// Held until the group has waited well beyond the warning's mean, so
	// that no transaction slowed by a busy machine (pool 2's) can outdo it.
	defer postgres.SetLockWarnThresholds(1, 2*time.Millisecond)()
	awaitLockWaited(t, db, w.tenant[first], w.pool[first], 5*time.Millisecond)
	release()
	for i, err := range <-done {
		if err != nil {
			t.Errorf("grant %d: %v", i, err)
		}
	}
	_, waitedFirst := db.PoolWaitInWindow(w.tenant[first], w.pool[first])
	_, waitedSecond := db.PoolWaitInWindow(w.tenant[second], w.pool[second])
	if waitedFirst < 5*time.Millisecond || waitedSecond >= waitedFirst/2 {
		t.Errorf("waits counted: %v for the held pool, %v for the one locked after it; want at least 5ms, and less than half of that",
			waitedFirst, waitedSecond)
	}
	// A minute later the next transaction ends the warning's window.
	advance(time.Minute)
	if err := take(2, "later")(); err != nil {
		t.Fatal(err)
	}
	if out := logs(); !strings.Contains(out, "id="+w.pool[first]) || strings.Contains(out, "id="+w.pool[second]) {
		t.Errorf("the warning should name the held pool %s and not %s; log:\n%s", w.pool[first], w.pool[second], out)
	}
}

// clockedStore opens a store whose clock the test moves (advance) and
// whose log it reads (logs), with warnings of any lock wait.
func clockedStore(t *testing.T) (db *postgres.DB, start time.Time, advance func(time.Duration), logs func() string) {
	t.Helper()
	var mu sync.Mutex
	start = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := start
	t.Cleanup(postgres.SetLockWarnThresholds(1, time.Microsecond))
	logger, buf := testlog.New(slog.LevelInfo)
	db = pgtest.Open(t, postgres.WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }), postgres.WithLogger(logger))
	advance = func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	return db, start, advance, buf.String
}

// holdPoolLock takes a pool's lock in a transaction of its own, as
// another server's would, and returns the func that commits it.
func holdPoolLock(t *testing.T, db *postgres.DB, tenant, pool string) (release func()) {
	t.Helper()
	ctx := context.Background()
	holder, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Rollback(ctx) })
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, tenant, pool); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := holder.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// awaitLockWaited returns once a transaction waiting for the pool's lock
// began at least d ago (PostgreSQL's clock), so that the wait it records
// (from its start to the lock) will be at least d.
func awaitLockWaited(t *testing.T, db *postgres.DB, tenant, pool string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waited time.Duration
		if err := db.Pool().QueryRow(context.Background(), `SELECT coalesce(max(clock_timestamp() - a.xact_start), '0')
			FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND NOT l.granted AND l.classid = hashtext($1)::oid AND l.objid = hashtext($2)::oid`,
			tenant, pool).Scan(&waited); err != nil {
			t.Fatal(err)
		}
		if waited >= d {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing waited %v for the pool's lock", d)
		}
	}
}

// awaitLockWaiter returns once a transaction waits for the pool's lock.
func awaitLockWaiter(t *testing.T, db *postgres.DB, tenant, pool string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND classid = hashtext($1)::oid AND objid = hashtext($2)::oid`, tenant, pool).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing waited for the pool's lock")
		}
	}
}
