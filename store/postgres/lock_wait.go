package postgres

import (
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lock waits. A pool's grants and returns, and a contract's new instances,
// each hold the pool's (or the contract row's) lock until their transaction
// commits, so they run one after the other on every server. One server
// groups its own (lease_group.go), and its next group waits for nothing;
// several servers serving one pool send their groups at the same time, and
// each waits in PostgreSQL for the others' to commit, with smaller groups
// than one server would send: the same load then costs more, not less (see
// docs/deploy.md, "Several servers and one busy pool").
//
// So each batched transaction (the shortcut alone, a group, a new
// instance's check-in) measures in PostgreSQL how long it waited for its
// lock: from the start of its transaction to the lock taken. The totals
// by kind are exported as metrics (LockWaits), and once a minute the key
// whose transactions waited the longest in that minute is logged when they
// waited long enough to matter, naming the tenant and the pool or
// contract, so an operator can see which contract's calls to keep on one
// server.

// lockWaitWindow is how often the worst key may be logged.
const lockWaitWindow = time.Minute

// Log thresholds: the key's transactions in the window, and their mean
// wait, that make the key worth a warning. Variables for tests.
var (
	lockWarnMinTx    = uint64(100)
	lockWarnMeanWait = time.Millisecond
)

// maxLockKeys bounds the keys tracked in one window; the rest of the
// window's keys count in the totals only.
const maxLockKeys = 4096

// Lock kinds, as the lock statements name them.
const (
	lockKindPool     = "pool"
	lockKindContract = "contract"
)

// waitedSQL is how long, in microseconds, the transaction has run: in a
// batch that sends BEGIN and then the lock, how long it waited for the lock.
const waitedSQL = `(extract(epoch FROM clock_timestamp() - now()) * 1000000)::bigint`

// The batched paths' locks (sendTx): each takes its lock (lockPoolSQL,
// lockLeasePoolSQL, the contract's row lock) in a subquery, so that the
// wait is read after it, and returns what it locked — the kind, the
// tenant, the pool or contract — and the wait; no row when there was
// nothing to lock (no such lease, no such contract).
const (
	batchLockPoolSQL = `SELECT 'pool', $1::text, $2::text, ` + waitedSQL + `
	FROM (SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))) AS l`
	batchLockLeasePoolSQL = `SELECT 'pool', l.tenant_id, l.pool_id, ` + waitedSQL + `
	FROM (SELECT tenant_id, pool_id, pg_advisory_xact_lock(hashtext(tenant_id), hashtext(pool_id))
		FROM leases WHERE tenant_id = $1 AND id = $2) AS l`
	// lockContractSQL takes the contract's row lock, as the general path's
	// conditional UPDATE does.
	lockContractSQL = `SELECT 'contract', c.tenant_id, c.id, ` + waitedSQL + `
	FROM (SELECT tenant_id, id FROM contracts WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE) AS c`

	// A group of several pools or contracts (lease_group.go) takes their
	// locks in one statement, in the order of the pools' lock keys (the
	// contracts' ids), the same on every server, so that two groups never
	// wait for each other: the innermost subquery sorts, and the locks are
	// taken one row at a time over its sorted rows. $1 and $2 are the
	// tenants and the ids; each row's time is the transaction's when its
	// lock was taken (readLock counts each lock's wait from the previous).
	batchLockPoolsSQL = `SELECT 'pool', l.t, l.p, ` + waitedSQL + `
	FROM (SELECT s.t, s.p, pg_advisory_xact_lock(s.h1, s.h2)
		FROM (SELECT DISTINCT k.t, k.p, hashtext(k.t) AS h1, hashtext(k.p) AS h2
			FROM unnest($1::text[], $2::text[]) AS k(t, p) ORDER BY h1, h2, k.t, k.p) AS s) AS l`
	lockContractsSQL = `SELECT 'contract', c.tenant_id, c.id, ` + waitedSQL + `
	FROM (SELECT tenant_id, id FROM contracts WHERE (tenant_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
		ORDER BY tenant_id, id FOR NO KEY UPDATE) AS c`
)

// LockWait is what the batched transactions of one kind of lock (pool or
// contract) waited for it on this store since it opened.
type LockWait struct {
	Kind         string // "pool" or "contract"
	Transactions uint64
	Waited       time.Duration
}

type lockKey struct{ kind, tenant, id string }

type lockTally struct {
	n      uint64
	waited time.Duration
}

// lockWaits is a store's lock-wait accounting.
type lockWaits struct {
	mu     sync.Mutex
	totals map[string]*lockTally  // by kind
	keys   map[lockKey]*lockTally // this window's
	start  time.Time              // of this window
}

// record adds one transaction's wait for the lock of key and, when a
// window has ended, logs its worst key if it is worth it.
func (w *lockWaits) record(key lockKey, waited time.Duration, now time.Time, log *slog.Logger) {
	if waited < 0 {
		waited = 0
	}
	w.mu.Lock()
	if w.totals == nil {
		w.totals = make(map[string]*lockTally, 2)
		w.keys = make(map[lockKey]*lockTally)
		w.start = now
	}
	t := w.totals[key.kind]
	if t == nil {
		t = &lockTally{}
		w.totals[key.kind] = t
	}
	t.n++
	t.waited += waited
	k := w.keys[key]
	if k == nil && len(w.keys) < maxLockKeys {
		k = &lockTally{}
		w.keys[key] = k
	}
	if k != nil {
		k.n++
		k.waited += waited
	}
	var worst lockKey
	var wt lockTally
	if now.Sub(w.start) >= lockWaitWindow {
		// The key that waited longest of those worth a warning.
		for key, t := range w.keys {
			if t.n >= lockWarnMinTx && t.waited/time.Duration(t.n) >= lockWarnMeanWait && t.waited > wt.waited {
				worst, wt = key, *t
			}
		}
		clear(w.keys)
		w.start = now
	}
	w.mu.Unlock()
	if wt.n > 0 {
		log.Warn("transactions waited for a lock held by other transactions, most likely another server's: send this contract's calls to one server (see docs/deploy.md, \"Several servers and one busy pool\")",
			"lock", worst.kind, "tenant", worst.tenant, "id", worst.id,
			"transactions", wt.n, "mean_wait", wt.waited/time.Duration(wt.n), "window", lockWaitWindow)
	}
}

// LockWaits returns what this store's batched transactions waited for
// pools' and contracts' locks since it opened: the transactions that took
// one, and their total wait. The mean wait stays near zero while one
// server serves each pool and each contract's new instances; it grows
// when several servers serve one busy pool (docs/deploy.md).
func (db *DB) LockWaits() []LockWait {
	w := &db.lockWaits
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]LockWait, 0, 2)
	for _, kind := range []string{lockKindPool, lockKindContract} {
		lw := LockWait{Kind: kind}
		if t := w.totals[kind]; t != nil {
			lw.Transactions, lw.Waited = t.n, t.waited
		}
		out = append(out, lw)
	}
	return out
}

// readLock reads a batch's lock statement (batchLockPoolSQL and the like)
// and records each row's wait: the rows, or the error that ended the
// statement or its reading.
func (e *engine) readLock(br pgx.BatchResults) (locked int64, err error) {
	rows, err := br.Query()
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var before int64 // the transaction's time when the previous lock was taken
	for rows.Next() {
		var key lockKey
		var at int64
		if err := rows.Scan(&key.kind, &key.tenant, &key.id, &at); err != nil {
			return 0, err
		}
		locked++
		// A group's locks are taken one after another: each waited from
		// the previous one on.
		e.lockWaits.record(key, time.Duration(at-before)*time.Microsecond, e.now(), e.log)
		before = at
	}
	rows.Close()
	return locked, rows.Err()
}
