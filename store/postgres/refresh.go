package postgres

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// Refreshes combined. A license refresh of an instance that needs no seat
// taken is one UPDATE (store's checkinRefreshSQL). Run one at a time, a
// busy server spends most of PostgreSQL's work on the statement, not the
// row: a round trip, parse, plan, executor start-up and a commit each. So
// the refreshes that arrive while one is running are sent together, as
// one UPDATE … FROM unnest(…) over all their rows (refreshBatchSQL): each
// row is decided by the same conditions as a single refresh, and each
// caller gets its own row back.
//
// No caller waits for a batch to fill: a refresh that finds a runner free
// runs at once, alone; only those that arrive while maxRunners batches are
// running queue, and the next batch takes them all (at most maxBatchRows,
// and one row per instance: a second refresh of the same instance waits
// for the next batch, so their order holds). A runner is a caller: when
// its own refresh is answered it hands the runner's slot to the first
// caller still queued, so no goroutine is kept and no caller runs batches
// for others for longer than its own.

const (
	maxRunners   = 4
	maxBatchRows = 256
	// batchTimeout bounds one combined statement: it serves many callers,
	// so it does not run under any one caller's context.
	batchTimeout = 30 * time.Second
)

// refreshBatchSQL is store's checkinRefreshSQL for many rows at once,
// with its ?11 (only an instance that needs nothing taken) always true.
// The arrays are the rows' values, n their index in the batch.
const refreshBatchSQL = `UPDATE instances AS i SET
		clone_suspected_at = CASE WHEN v.win > 0 AND v.now - i.last_seen_at < v.win
			AND ((v.host <> '' AND i.host <> '' AND i.host <> v.host)
				OR (v.fp <> '' AND i.fingerprint <> '' AND i.fingerprint <> v.fp))
			THEN v.now ELSE i.clone_suspected_at END,
		fingerprint = CASE WHEN v.fp <> '' THEN v.fp ELSE i.fingerprint END,
		host = v.host, last_seen_at = v.now, environment = v.env, remote_addr = v.addr,
		license_id = v.lid, license_expires_at = v.exp, last_seen_hour = v.now_hour, license_expires_hour = v.exp_hour
	FROM unnest($1::int[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[],
		$8::bigint[], $9::text[], $10::text[], $11::text[], $12::boolean[], $13::text[], $14::bigint[], $15::bigint[])
		AS v(n, win, host, now, env, addr, lid, exp, tenant, contract, inst, takes, fp, now_hour, exp_hour)
	WHERE i.tenant_id = v.tenant AND i.contract_id = v.contract AND i.instance_id = v.inst
		AND (i.seat OR (i.nonprod AND NOT v.takes))
	RETURNING v.n, `

// refreshBatchReturning is InstanceCols of the updated row.
var refreshBatchReturning = func() string {
	cols := strings.Split(store.InstanceCols, ",")
	for i, c := range cols {
		cols[i] = "i." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

type refreshCall struct {
	c  *store.Checkin
	ok bool
	// Guarded by refresher.mu:
	err     error
	done    bool          // answered
	leading bool          // its caller holds a runner's slot
	wake    chan wakeKind // runLead, then or instead answered
}

type wakeKind uint8

const (
	answered wakeKind = iota
	runLead
)

type instanceKey [3]string

type refresher struct {
	pool querier    // the combined statement's connections
	conn store.Conn // the same, for a refresh that runs alone
	// minRows is the smallest batch sent as one combined statement; a
	// smaller one runs the single-row refresh for each of its calls,
	// which PostgreSQL runs more cheaply for one row.
	minRows int
	// alone runs every refresh as the single-row statement at once, on
	// its caller's goroutine: only for benchmarks that compare the two.
	alone bool

	mu       sync.Mutex
	queue    []*refreshCall
	inFlight map[instanceKey]struct{} // instances in a running batch
	runners  int
}

// refresh runs c as a refresh, combined with others running at the same
// time: false when the instance does not exist or needs something taken
// (the caller then runs its transaction), as store.Checkin.Refresh.
func (r *refresher) refresh(c *store.Checkin) (bool, error) {
	if r.alone {
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		defer cancel()
		return c.Refresh(ctx, r.conn)
	}
	call := &refreshCall{c: c, wake: make(chan wakeKind, 2)}
	r.mu.Lock()
	r.queue = append(r.queue, call)
	if r.runners < maxRunners {
		r.runners++
		call.leading = true
	}
	lead := call.leading
	r.mu.Unlock()
	for {
		if !lead {
			if <-call.wake == answered {
				return call.ok, call.err
			}
			lead = true // handed a runner's slot
		}
		r.mu.Lock()
		if call.done {
			r.handOff()
			r.mu.Unlock()
			return call.ok, call.err
		}
		batch := r.take()
		if len(batch) == 0 {
			// What is queued waits for instances in running batches
			// (its own refresh among them, or queued behind one): the
			// runners of those batches go on with the queue.
			call.leading, lead = false, false
			r.runners--
			r.mu.Unlock()
			continue
		}
		r.mu.Unlock()
		r.run(batch)
	}
}

// handOff passes a finished runner's slot to the first queued caller that
// holds none, or gives it up. r.mu is held.
func (r *refresher) handOff() {
	for _, next := range r.queue {
		if !next.leading {
			next.leading = true
			next.wake <- runLead
			return
		}
	}
	r.runners--
}

// take removes the next batch from the queue: at most maxBatchRows calls,
// one per instance, none of an instance in a running batch (two batches
// never wait for each other's row locks, and one instance's refreshes
// land in the order they came). r.mu is held.
func (r *refresher) take() []*refreshCall {
	if r.inFlight == nil {
		r.inFlight = make(map[instanceKey]struct{})
	}
	var batch []*refreshCall
	rest := r.queue[:0]
	for _, call := range r.queue {
		k := instanceKey{call.c.Tenant, call.c.ContractID, call.c.InstanceID}
		if _, busy := r.inFlight[k]; busy || len(batch) == maxBatchRows {
			rest = append(rest, call)
			continue
		}
		r.inFlight[k] = struct{}{}
		batch = append(batch, call)
	}
	clear(r.queue[len(rest):])
	r.queue = rest
	return batch
}

// run sends batch as one statement and answers each of its calls.
func (r *refresher) run(batch []*refreshCall) {
	n := len(batch)
	if n < r.minRows {
		r.runAlone(batch)
		return
	}
	var (
		idx                                              = make([]int32, n)
		win, now, exp                                    = make([]int64, n), make([]int64, n), make([]int64, n)
		host, env, addr, lid, tenant, contract, inst, fp = make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		takes            = make([]bool, n)
		nowHour, expHour = make([]int64, n), make([]int64, n)
	)
	for k, call := range batch {
		c := call.c
		idx[k], win[k], host[k], now[k], env[k], addr[k], lid[k] = int32(k), c.Window, c.Host, c.Now, c.Environment, c.RemoteAddr, c.LicenseID
		exp[k], tenant[k], contract[k], inst[k], takes[k], fp[k] = store.Micros(c.LicenseExpiresAt), c.Tenant, c.ContractID, c.InstanceID, c.TakesSeat, c.Fingerprint
		nowHour[k], expHour[k] = store.HourOf(now[k]), store.HourOf(exp[k])
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	found := make([]*licensor.Instance, n)
	err := func() error {
		rows, err := r.pool.Query(ctx, refreshBatchSQL+refreshBatchReturning,
			idx, win, host, now, env, addr, lid, exp, tenant, contract, inst, takes, fp, nowHour, expHour)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k int32
			inst, err := store.ScanInstance(prefixed{rows, &k})
			if err != nil {
				return err
			}
			if k >= 0 && int(k) < n {
				found[k] = inst
			}
		}
		return rows.Err()
	}()
	for k, call := range batch {
		call.err = err
		if err == nil && found[k] != nil {
			call.c.Instance, call.ok = found[k], true
		}
	}
	r.answer(batch)
}

// runAlone runs each call of batch as the single-row refresh.
func (r *refresher) runAlone(batch []*refreshCall) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	for _, call := range batch {
		call.ok, call.err = call.c.Refresh(ctx, r.conn)
	}
	r.answer(batch)
}

// answer wakes the callers of a batch that ran.
func (r *refresher) answer(batch []*refreshCall) {
	r.mu.Lock()
	for _, call := range batch {
		delete(r.inFlight, instanceKey{call.c.Tenant, call.c.ContractID, call.c.InstanceID})
		call.done = true
		call.wake <- answered
	}
	r.mu.Unlock()
}

// prefixed scans a row whose first column is the batch index into k and
// the rest into the caller's destinations.
type prefixed struct {
	rows pgx.Rows
	k    *int32
}

func (p prefixed) Scan(dest ...any) error {
	return p.rows.Scan(append([]any{p.k}, dest...)...)
}
