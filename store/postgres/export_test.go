package postgres

import (
	"context"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// SetFeedPingEvery sets how often new feeds check an idle connection and
// returns a func that restores the default.
func SetFeedPingEvery(d time.Duration) func() {
	old := feedPingEvery
	feedPingEvery = d
	return func() { feedPingEvery = old }
}

// Sessions returns how many times the feed has started listening.
func (f *Feed) Sessions() int64 { return f.sessions.Load() }

// Pings returns how many idle checks of the listening connection passed.
func (f *Feed) Pings() int64 { return f.pings.Load() }

// RelaxedSetting returns synchronous_commit as the refresh connections see it.
func (db *DB) RelaxedSetting(ctx context.Context) (string, error) {
	var v string
	err := db.relaxed.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&v)
	return v, err
}

// Plan returns the lines of EXPLAIN (COSTS OFF) of q (with ? placeholders)
// run on one connection after setup (statements such as SET or seeding),
// for the plan tests.
func (db *DB) Plan(ctx context.Context, setup []string, q string, args ...any) ([]string, error) {
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Release()
	for _, s := range setup {
		if _, err := c.Exec(ctx, s); err != nil {
			return nil, err
		}
	}
	rows, err := c.Query(ctx, "EXPLAIN (COSTS OFF) "+store.Rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		out = append(out, line)
	}
	return out, rows.Err()
}

// WriteLease runs fn as a capability request's transaction runs
// (store.GroupWriter).
func (db *DB) WriteLease(ctx context.Context, fn func(ctx context.Context, tx store.Conn) error) error {
	return (*engine)(db).WriteGrouped(ctx, "test", fn)
}

// LockPool takes a pool's lock in tx as the store does (store.PoolLocker).
func (db *DB) LockPool(ctx context.Context, tx store.Conn, tid, poolID string) error {
	return (*engine)(db).LockPool(ctx, tx, tid, poolID)
}

// LockLeasePool takes a lease's pool's lock in tx as the store does.
func (db *DB) LockLeasePool(ctx context.Context, tx store.Conn, tid, id string) error {
	return (*engine)(db).LockLeasePool(ctx, tx, tid, id)
}

// RefreshBoth refreshes instance a with the single-row statement every
// engine shares (store.Checkin.Refresh) and instance b, otherwise the same
// check-in, through the combined statement (even for one row), and
// reports what each answered.
func (db *DB) RefreshBoth(ctx context.Context, in licensor.Checkin, a, b string) (okA, okB bool, err error) {
	mk := func(id string) (*store.Checkin, error) {
		c := in
		c.InstanceID = id
		return db.NewCheckin(ctx, c)
	}
	ca, err := mk(a)
	if err != nil {
		return false, false, err
	}
	cb, err := mk(b)
	if err != nil {
		return false, false, err
	}
	if okA, err = ca.Refresh(ctx, db.rconn); err != nil {
		return false, false, err
	}
	r := refresher{pool: db.relaxed, conn: db.rconn, minRows: 1}
	okB, err = r.refresh(cb)
	return okA, okB, err
}

// SetCombineRefreshes turns db's combined refreshes on or off, for
// benchmarks that compare them with one statement per refresh.
func (db *DB) SetCombineRefreshes(on bool) { db.refreshes.alone = !on }

// Shortcut is the engine's store.LeaseShortcut.
func (db *DB) Shortcut() store.LeaseShortcut { return (*engine)(db) }

// RefreshBatchQuery is the combined refresh's statement.
var RefreshBatchQuery = refreshBatchSQL + refreshBatchReturning

// SetGroupHooks sets the lease groups' test hooks: queued when a grant or
// return joins its pool's queue, starting when a group of n starts.
func (db *DB) SetGroupHooks(queued func(), starting func(n int)) {
	db.groups.queued, db.groups.starting = queued, starting
}

// SetGroupSplitHook sets the test hook called when a group of n wrote
// nothing as a whole and its requests run one by one.
func (db *DB) SetGroupSplitHook(split func(n int)) { db.groups.split = split }

// ForgetLeases empties the index of leases granted here, as if another
// server had granted them.
func (db *DB) ForgetLeases() {
	db.groups.mu.Lock()
	db.groups.index = leaseIndex{}
	db.groups.mu.Unlock()
}

// CheckinNew runs in as a new instance's one-batch check-in
// (checkin_new.go) and reports whether it was done there.
func (db *DB) CheckinNew(ctx context.Context, in licensor.Checkin) (*licensor.Instance, bool, error) {
	c, err := db.NewCheckin(ctx, in)
	if err != nil {
		return nil, false, err
	}
	return (*engine)(db).checkinNew(ctx, c, nil)
}

// SetLockWarnThresholds sets the transactions and mean wait that make a
// key's lock waits worth a warning, and returns a func that restores them.
func SetLockWarnThresholds(n uint64, mean time.Duration) func() {
	oldN, oldMean := lockWarnMinTx, lockWarnMeanWait
	lockWarnMinTx, lockWarnMeanWait = n, mean
	return func() { lockWarnMinTx, lockWarnMeanWait = oldN, oldMean }
}

// SetGroupLanes sets how many grouped transactions a store runs at once
// and returns a func that restores the default.
func SetGroupLanes(n int) func() {
	old := maxGroupLanes
	maxGroupLanes = n
	return func() { maxGroupLanes = old }
}

// AnalyzeIfGrown runs the young instances table's check once.
func (db *DB) AnalyzeIfGrown(ctx context.Context) (young, analyzed bool, err error) {
	return db.analyzeIfGrown(ctx)
}

// PoolWaitInWindow returns the transactions and the wait counted for one
// pool's lock in the warning's current window.
func (db *DB) PoolWaitInWindow(tenant, pool string) (n uint64, waited time.Duration) {
	w := &db.lockWaits
	w.mu.Lock()
	defer w.mu.Unlock()
	if t := w.keys[lockKey{lockKindPool, tenant, pool}]; t != nil {
		return t.n, t.waited
	}
	return 0, 0
}
