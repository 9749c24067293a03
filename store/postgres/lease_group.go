package postgres

import (
	"context"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// Grants and returns of one pool grouped. Every change to a pool's units
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
// No caller waits for a group to fill: a request whose pool has no
// transaction running runs at once, alone (the single-statement shortcut).
// A runner is a caller: when its group is answered it hands the pool to
// the first caller still queued, which takes the queue as the next group.
//
// A return is grouped by its lease's pool, which this server learns when
// it grants the lease (leaseIndex); for a lease granted elsewhere, or by
// the general path, it reads the pool first.
//
// New instances' first check-ins (checkin_new.go) are grouped the same
// way by their contract, whose row holds the seat counter: the contract's
// row lock, each one's statement in the order they came, COMMIT, one flush.

// maxGroupOps bounds one group's statements.
const maxGroupOps = 64

// groupKey is what a group's requests share: a pool, or (contract) a
// contract's row.
type groupKey struct {
	tenant, id string
	contract   bool
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
	leads   bool          // handed the pool or contract (guarded by opGroups.mu)
}

// opGroups is the grouping state of a store: the pools and contracts with
// a group running, their queues, and the index of leases granted here.
type opGroups struct {
	mu      sync.Mutex
	running map[groupKey]*[]*groupOp // a key's queue while its group runs
	index   leaseIndex
	// For tests: queued is called when an op has joined a queue, starting
	// when a group of n ops (1: alone) starts.
	queued   func()
	starting func(n int)
	// split, for tests, is called when a group of n wrote nothing as a
	// whole and its ops run one by one.
	split func(n int)
}

// leaseIndex maps leases granted by this server to their pools, bounded:
// two generations of at most indexGeneration entries, the older dropped
// whole when the newer fills (the return of a lease that outlives two
// generations reads its pool). A lease's pool never changes; a stale entry
// can only make a grouped return find nothing and go to the general path.
type leaseIndex struct {
	cur, old map[leaseKey]string
}

type leaseKey struct{ tenant, lease string }

const indexGeneration = 1 << 15

func (x *leaseIndex) add(k leaseKey, pool string) {
	if x.cur == nil || len(x.cur) >= indexGeneration {
		x.old, x.cur = x.cur, make(map[leaseKey]string, 1024)
	}
	x.cur[k] = pool
}

func (x *leaseIndex) pool(k leaseKey) (string, bool) {
	if p, ok := x.cur[k]; ok {
		return p, true
	}
	p, ok := x.old[k]
	return p, ok
}

func (x *leaseIndex) remove(k leaseKey) {
	delete(x.cur, k)
	delete(x.old, k)
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
		// The key is passed on once the group has committed, before its
		// flush: the next group's transaction then runs while this one's
		// commit is made durable, and the flush covers both.
		released := false
		release := func() {
			if !released {
				released = true
				e.release(op.key)
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

// enter queues op for its key (pool or contract) and returns the group its
// caller is to run now, op at its head: op alone when the key is idle
// here, else the queue when the key is handed to op's caller. nil once another caller's
// group has run op, or when ctx ended while op was still queued (it then
// leaves the queue, and writes nothing).
func (e *engine) enter(ctx context.Context, op *groupOp) []*groupOp {
	g := &e.groups
	g.mu.Lock()
	queue, busy := g.running[op.key]
	if !busy {
		// Those that come while op runs queue for the next group.
		if g.running == nil {
			g.running = make(map[groupKey]*[]*groupOp)
		}
		g.running[op.key] = new([]*groupOp)
		g.mu.Unlock()
		return []*groupOp{op}
	}
	op.wake = make(chan wakeKind, 1)
	*queue = append(*queue, op)
	queued := g.queued
	g.mu.Unlock()
	if queued != nil {
		queued()
	}
	var wake wakeKind
	select {
	case wake = <-op.wake:
	case <-ctx.Done():
		// The caller went away: leave the queue unless op is already in
		// a group or leads the next one, which it then waits for.
		g.mu.Lock()
		if i := slices.Index(*queue, op); i >= 0 && !op.leads {
			*queue = slices.Delete(*queue, i, i+1)
			g.mu.Unlock()
			return nil // op.out is outNone: the general path answers ctx's error
		}
		g.mu.Unlock()
		wake = <-op.wake
	}
	if wake == answered {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n := min(len(*queue), maxGroupOps)
	ops := make([]*groupOp, n)
	copy(ops, *queue)
	rest := copy(*queue, (*queue)[n:])
	clear((*queue)[rest:])
	*queue = (*queue)[:rest]
	return ops
}

// release passes the key to the first caller queued, or marks it idle.
func (e *engine) release(key groupKey) {
	g := &e.groups
	g.mu.Lock()
	defer g.mu.Unlock()
	queue := g.running[key]
	if len(*queue) == 0 {
		delete(g.running, key)
		return
	}
	(*queue)[0].leads = true
	(*queue)[0].wake <- runLead
}

// answer records what a group that ran wrote in the index and wakes its
// ops' callers (all but self's, which ran it).
func (e *engine) answer(ops []*groupOp, self *groupOp) {
	g := &e.groups
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, op := range ops {
		if op.out == outDone && op.err == nil {
			g.index.record(op)
		}
		if op != self {
			op.wake <- answered
		}
	}
}

// record notes what op wrote: a granted lease's pool, or a return.
func (x *leaseIndex) record(op *groupOp) {
	switch {
	case op.checkin != nil:
	case op.ret == nil:
		x.add(leaseKey{op.grant.Tenant, op.grant.Lease}, op.key.id)
	default:
		x.remove(leaseKey{op.key.tenant, op.ret.LeaseID})
	}
}

// runGroup runs ops, all of one pool (or contract), as one transaction
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
	lock, scan := batchLockPoolSQL, scanColumn
	if key.contract {
		// New instances in the order they came.
		lock, scan = lockContractSQL, scanInstance
	} else {
		// Returns first: the units they free are there for the grants.
		ops = slices.Concat(
			slices.DeleteFunc(slices.Clone(ops), func(op *groupOp) bool { return op.ret == nil }),
			slices.DeleteFunc(slices.Clone(ops), func(op *groupOp) bool { return op.ret != nil }))
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(lock, key.tenant, key.id)
	for _, op := range ops {
		q, args := op.statement()
		b.Queue(q, args...)
	}
	b.Queue("COMMIT")
	b.Queue(flushSQL)
	rows, _, err := e.sendTx(ctx, b, len(ops), scan, nil, committed)
	settle(ops, rows, err)
	if rows == nil && e.groups.split != nil {
		e.groups.split(len(ops))
	}
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

// settle sets each op's outcome from its statement's row (sendTx).
func settle(ops []*groupOp, rows []any, err error) {
	for i, op := range ops {
		switch {
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
