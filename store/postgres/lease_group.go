package postgres

import (
	"context"
	"slices"
	"sync"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// Grants and returns grouped. Every change to a pool's units
// holds the pool's lock until its transaction ends, so one pool's
// shortcuts (lease_shortcut.go) run one after the other however many
// arrive at once; run one transaction each, a busy pool spends most of
// PostgreSQL's work on what surrounds the statement — BEGIN, the lock and
// the wakeup of the next waiter, COMMIT, the flush — not on the rows. So
// on each server the shortcuts of one pool that arrive while one of its
// transactions runs wait, and go out together, as one transaction: BEGIN,
// the pool's lock, each one's statement (returns first, then grants in the
// order they came), COMMIT, one flush, in one round trip.
//
// Each statement decides its own request as it would alone; it sees the
// ones before it in the group, as it would have seen them committed. A
// request whose statement finds nothing to do (a shortage, a waiter ahead,
// a lease not in the pool) is answered by the general path afterwards, as
// when it runs alone. A statement that fails (a request id already
// answered, a lease id taken) fails the whole transaction, which then
// writes nothing: each request of the group then runs alone, and the one
// that failed goes on to the general path.
//
// Groups span pools (the queue: group_queue.go). A server runs at most
// maxGroupLanes grouped transactions of pools at once (and as many of
// contracts), each until its COMMIT; the requests that arrive while the
// lanes are taken wait, and the next group takes all of them whose pools
// have no transaction running here, whichever pools they are: its
// transaction takes their pools' locks in one statement, in one order for
// every server (so two groups never wait for each other), then runs their
// statements. One server serving several busy pools then sends as few
// transactions as for one pool; with a transaction per pool at a time it
// sent three times as many for three pools, and ran slower (BENCHMARKS.md,
// "PostgreSQL: one server per busy pool"). One pool never has two
// transactions running on one server, so its requests still go in the order
// they came. With one lane a server's grouped transactions of pools run one
// after the other until their COMMITs, while each one's flush overlaps the
// next; a group that waits for a pool's lock held elsewhere (a pool served
// by several servers) makes this server's other pools' requests wait with
// it, in its group or the next.
//
// No caller waits for a group to fill: a request whose pool has no
// transaction running runs at once, alone (the single-statement shortcut),
// while a lane is free. A runner is a caller: when its group has
// committed it hands the lane to the first caller still queued whose pool
// is free, which takes the queue as the next group.
//
// A return is grouped by its lease's pool, which this server learns when it
// grants the lease (leaseIndex, lease_index.go); for a lease granted
// elsewhere, or by the general path, it reads the pool first.
//
// New instances' first check-ins (checkin_new.go) are grouped the same
// way by their contract, whose row holds the seat counter: the contracts'
// row locks, each one's statement in the order they came, COMMIT, one
// flush. A group holds pools' requests or contracts' check-ins, not both.

// maxGroupOps bounds one group's statements.
const maxGroupOps = 64

// maxGroupLanes bounds the grouped transactions of each kind (pools,
// contracts) a server runs at once, each until its COMMIT (the flushes
// that follow overlap). One: measured against two and against a lane per
// pool, one server serving three busy pools ran 3,783–3,787 cycles a
// second against 3,091–3,217 and 2,024–3,050. A variable for tests.
var maxGroupLanes = 1

// groupKey is what a group's requests share: a pool, or (contract) a
// contract's row.
type groupKey struct {
	tenant, id string
	contract   bool
}

// lane is the kind of k's groups, which have lanes of their own: 0 for
// pools, 1 for contracts.
func (k groupKey) lane() int {
	if k.contract {
		return 1
	}
	return 0
}

// groupOutcome is what a grouped request's statement did.
type groupOutcome uint8

const (
	outNone  groupOutcome = iota // it wrote nothing: the general path decides
	outDone                      // it wrote and the group committed (or its outcome is unknown: err)
	outAlone                     // the group failed as a whole, so nothing was written: run alone
)

// groupOp is one grouped request: a grant (ret and checkin nil), a
// return, or a new instance's check-in.
type groupOp struct {
	key     groupKey
	grant   store.Grant
	ret     *licensor.LeaseReturn
	now     int64 // the return's time
	checkin *store.Checkin
	inst    *licensor.Instance // what the check-in's statement inserted
	// Set by the runner before wake:
	out     groupOutcome
	waiting bool // of a return: as store.LeaseShortcut.ReturnWhole's
	err     error
	wake    chan wakeKind // nil for the caller that runs its own group
	leads   bool          // handed a lane, its key reserved (guarded by opGroups.mu)
}

// opGroups is the grouping state of a store: the lanes taken, the pools and
// contracts with a transaction running, the queue, and the index of leases
// granted here.
type opGroups struct {
	mu       sync.Mutex
	lanes    [2]int                // grouped transactions running until their COMMIT, by kind (lane)
	inFlight map[groupKey]struct{} // their keys, and those of leads not yet started
	queue    []*groupOp            // waiting for a lane or for their key, in arrival order
	index    leaseIndex
	// For tests: queued is called when an op has joined a queue, starting
	// when a group of n ops (1: alone) starts.
	queued   func()
	starting func(n int)
	// split, for tests, is called when a group of n wrote nothing as a
	// whole and its ops run one by one.
	split func(n int)
}

// GrantWhole runs g alone when its pool is idle on this server, else with
// the others of its pool that wait (store.LeaseShortcut).
func (e *engine) GrantWhole(ctx context.Context, g store.Grant) (bool, error) {
	return e.run(ctx, &groupOp{key: groupKey{tenant: g.Tenant, id: g.Pool}, grant: g})
}

// leasePoolSQL finds a lease's pool, which never changes: no lock needed.
const leasePoolSQL = `SELECT pool_id FROM leases WHERE tenant_id = $1 AND id = $2`

// ReturnWhole runs r with the others of its lease's pool that wait
// (store.LeaseShortcut). The pool is the index's when this server granted
// the lease, else read first: behind a balancer that spreads calls over
// servers, most returns reach a server that did not grant the lease.
func (e *engine) ReturnWhole(ctx context.Context, tid string, r licensor.LeaseReturn, now int64) (done, waiting bool, err error) {
	e.groups.mu.Lock()
	pool, known := e.groups.index.pool(leaseKey{tid, r.LeaseID})
	e.groups.mu.Unlock()
	if !known {
		if err := e.async.QueryRow(ctx, leasePoolSQL, tid, r.LeaseID).Scan(&pool); err != nil {
			// No such lease (the general path says so), or the read
			// failed: the return runs alone, which decides either.
			return e.returnAlone(ctx, tid, r, now, nil)
		}
	}
	op := &groupOp{key: groupKey{tenant: tid, id: pool}, ret: &r, now: now}
	done, err = e.run(ctx, op)
	return done, op.waiting, err
}

// run runs op: as the head of the next group of its key, or in a group
// another caller runs, or alone after its group failed as a whole.
func (e *engine) run(ctx context.Context, op *groupOp) (bool, error) {
	if ops := e.enter(ctx, op); ops != nil {
		// The lane and the keys are passed on once the group has
		// committed, before its flush: the next group's transaction then
		// runs while this one's commit is made durable, and the flush
		// covers both.
		released := false
		release := func() {
			if !released {
				released = true
				e.release(ops)
			}
		}
		func() {
			// Deferred, so that a panic leaves no key held and no caller
			// waiting.
			defer func() {
				release()
				e.answer(ops, op)
			}()
			e.runGroup(ctx, ops, release)
		}()
	}
	if op.out != outAlone {
		return op.done()
	}
	done, err := e.runAlone(ctx, op, nil)
	if done && err == nil {
		e.groups.mu.Lock()
		e.groups.index.record(op)
		e.groups.mu.Unlock()
	}
	return done, err
}

// runAlone runs op as a transaction of its own; committed, if not nil, is
// called once it has committed.
func (e *engine) runAlone(ctx context.Context, op *groupOp, committed func()) (done bool, err error) {
	if op.checkin != nil {
		op.inst, done, err = e.checkinNew(ctx, op.checkin, committed)
		return done, err
	}
	if op.ret == nil {
		return e.grantAlone(ctx, op.grant, committed)
	}
	done, op.waiting, err = e.returnAlone(ctx, op.key.tenant, *op.ret, op.now, committed)
	return done, err
}

// done is the caller's answer for a grouped op that ran.
func (op *groupOp) done() (bool, error) {
	if op.out == outDone {
		return true, op.err
	}
	return false, nil
}

// runGroup runs ops, of pools or of contracts, as one transaction
// and sets each one's outcome; committed is called once the transaction
// has committed. A group of one is the shortcut alone.
func (e *engine) runGroup(ctx context.Context, ops []*groupOp, committed func()) {
	if e.groups.starting != nil {
		e.groups.starting(len(ops))
	}
	if len(ops) == 1 {
		// Its caller's own: under its caller's context.
		op := ops[0]
		var done bool
		if done, op.err = e.runAlone(ctx, op, committed); done {
			op.out = outDone
		}
		return
	}
	// A group serves many callers: it runs under none of their contexts.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
	defer cancel()
	key := ops[0].key
	lock, scan := stmt{batchLockPoolSQL, []any{key.tenant, key.id}}, scanColumn
	if tenants, ids := groupKeys(ops); len(ids) > 1 {
		lock = stmt{batchLockPoolsSQL, []any{tenants, ids}}
		if key.contract {
			lock.sql = lockContractsSQL
		}
	} else if key.contract {
		lock.sql = lockContractSQL
	}
	if key.contract {
		// New instances in the order they came.
		scan = scanInstance
	} else {
		// Returns first: the units they free are there for the grants.
		ops = slices.Concat(
			slices.DeleteFunc(slices.Clone(ops), func(op *groupOp) bool { return op.ret == nil }),
			slices.DeleteFunc(slices.Clone(ops), func(op *groupOp) bool { return op.ret != nil }))
	}
	tx := txShape{lock: lock, flush: stmt{sql: flushSQL}}
	for _, op := range ops {
		q, args := op.statement()
		tx.stmts = append(tx.stmts, stmt{q, args})
	}
	rows, _, err := e.sendTx(ctx, tx, scan, nil, committed)
	settle(ops, rows, err)
	if e.groups.split != nil && slices.ContainsFunc(ops, func(op *groupOp) bool { return op.out == outAlone }) {
		e.groups.split(len(ops))
	}
}

// groupKeys returns the distinct keys of ops, as tenants and ids.
func groupKeys(ops []*groupOp) (tenants, ids []string) {
	seen := make(map[groupKey]bool, 4)
	for _, op := range ops {
		if !seen[op.key] {
			seen[op.key] = true
			tenants, ids = append(tenants, op.key.tenant), append(ids, op.key.id)
		}
	}
	return tenants, ids
}

// statement is op's data-modifying statement in a group and its
// arguments: one row when it wrote.
func (op *groupOp) statement() (string, []any) {
	switch {
	case op.checkin != nil:
		return newInstanceStatement(op.checkin)
	case op.ret == nil:
		return grantStatement(op.grant)
	}
	r := op.ret
	return returnInPoolSQL, []any{op.key.tenant, r.LeaseID, r.ContractID, r.InstanceID, op.now, string(licensor.UsageReturn), op.key.id}
}

// settle sets each op's outcome from its statement's row (sendTx). When
// the group's results were lost, each grant and return is answered with
// that error, since running it alone could do it twice; a new instance
// runs alone, which finds it if the group created it.
func settle(ops []*groupOp, rows []any, err error) {
	for i, op := range ops {
		switch {
		case rows == nil && err != nil && op.checkin == nil:
			op.out, op.err = outDone, err
		case rows == nil:
			op.out = outAlone
		case rows[i] != nil:
			op.out, op.err = outDone, err
			op.waiting, _ = rows[i].(bool)
			op.inst, _ = rows[i].(*licensor.Instance)
		default:
			op.out = outNone
		}
	}
}
