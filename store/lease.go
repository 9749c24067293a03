package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/licensor/licensor"
)

// leaseCols are the columns scanLease reads. A lease's units are a column
// of its row (formatUnits).
const leaseCols = `tenant_id, id, pool_id, contract_id, instance_id, borrowed, created_at, renewed_at, expires_at, units, overage`

// poolReapBatch bounds how many expired leases a request frees in its own
// transaction when it finds its pool short; the reaper frees the rest.
const poolReapBatch = 256

// TakeCapabilities executes one capability request in one write
// transaction that holds the pool's lock (where the engine needs one):
// takeCapabilities takes each feature's units with a conditional UPDATE
// (in_use + n <= max_units), all or nothing unless partial grants are
// allowed, and frees the pool's expired leases only if it finds the pool
// short. Denials and grants are recorded as usage events, and the answer
// is kept under the request id in the same transaction: a request whose id
// already has an answer finds out there, at the end, is rolled back, and
// gets that answer. The same request id arriving at two servers at once is
// answered once; the other waits (for the pool's lock, or for the first
// insert of the id to commit) and gets the replay.
//
// An engine with a LeaseShortcut runs the commonest request (one feature,
// granted whole) there first, and this transaction only when the shortcut
// could not decide it alone.
func (db *DB) TakeCapabilities(ctx context.Context, t licensor.Take) (*licensor.TakeResult, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if len(t.Units) == 0 {
		return nil, licensor.Errorf(licensor.EINVALID, "ask for at least one feature, e.g. solver=1")
	}
	now := Micros(db.stamp(t.Now))
	expires := Micros(t.ExpiresAt)
	if s, ok := db.eng.(LeaseShortcut); ok && shortcutTake(t) {
		if res, done, err := db.takeShortcut(ctx, s, tid, t, now, expires); done {
			return res, err
		}
	}
	var res *licensor.TakeResult
	idempotent := t.RequestID != "" && !t.Preview
	err = db.writeGrouped(ctx, "TakeCapabilities", func(ctx context.Context, tx Conn) error {
		res = nil
		if err := db.lockPool(ctx, tx, tid, t.PoolID); err != nil {
			return err
		}
		ptx := poolTx{db: db, tx: tx, tid: tid, poolID: t.PoolID, now: now, queue: queueBound(t)}
		if t.Reservations {
			others, err := reservedForOthers(ctx, tx, tid, t.PoolID, t.InstanceID, now)
			if err != nil {
				return err
			}
			ptx.others = others
		}
		tk, err := takeCapabilities(ctx, ptx, t)
		if err != nil {
			return err
		}
		res = &tk.Result
		if t.Preview {
			return nil
		}
		// The lease, the events and the answer go in one round trip where
		// the engine can: the pool's lock is held until commit.
		stmts := make([]Stmt, 0, 2+len(tk.Granted)+len(res.Shortages))
		leaseID := t.LeaseID
		if leaseID == "" {
			leaseID = licensor.NewID(licensor.PrefixLease)
		}
		if res.Granted {
			l := &licensor.Lease{
				ID: leaseID, TenantID: tid, PoolID: t.PoolID, ContractID: t.ContractID, InstanceID: t.InstanceID,
				Units: tk.Granted, Overage: tk.Overage, Borrowed: t.Borrowed,
				CreatedAt: FromMicros(now), RenewedAt: FromMicros(now), ExpiresAt: FromMicros(expires),
			}
			stmts = append(stmts, Stmt{`INSERT INTO leases (` + leaseCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				[]any{tid, l.ID, l.PoolID, l.ContractID, l.InstanceID, l.Borrowed, now, now, expires, formatUnits(l.Units), formatUnits(l.Overage)}})
			for i, u := range tk.Granted {
				ev := leaseEvent{Kind: licensor.UsageGrant, Pool: l.PoolID, Feature: u.Feature, Units: u.Units, At: now,
					Lease: l.ID, Contract: l.ContractID, Instance: l.InstanceID}
				stmts = append(stmts, ev.insertStmt(tid, tk.InUse[i]))
			}
			res.Lease = l
			if t.WaiterID != "" {
				stmts = append(stmts, Stmt{`DELETE FROM capability_waiters WHERE tenant_id = ? AND pool_id = ? AND id = ?`,
					[]any{tid, t.PoolID, t.WaiterID}})
			}
		}
		for i, sh := range res.Shortages {
			ev := leaseEvent{Kind: licensor.UsageDeny, Pool: t.PoolID, Feature: sh.Feature, Units: sh.Requested, At: now,
				Contract: t.ContractID, Instance: t.InstanceID}
			stmts = append(stmts, ev.insertStmt(tid, tk.Levels[i]))
		}
		if idempotent {
			// Keep the answer, unless the request id already has one: then
			// this is a retry, and everything above is undone (the error
			// rolls it back) and the first answer read instead. Checking
			// here rather than first saves a read per request.
			answer, err := json.Marshal(res)
			if err != nil {
				return err
			}
			stmts = append(stmts, Stmt{`INSERT INTO capability_requests
				(tenant_id, contract_id, instance_id, request_id, fingerprint, answer, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT DO NOTHING`,
				[]any{tid, t.ContractID, t.InstanceID, t.RequestID, t.Fingerprint, answer, now}})
		}
		if len(stmts) == 0 {
			return nil
		}
		affected, failed, err := ExecStmts(ctx, tx, stmts)
		if err != nil && failed == 0 && res.Granted {
			return db.translate(err, Messages{
				PrimaryKey: fmt.Sprintf("lease %s already exists", leaseID),
				ForeignKey: fmt.Sprintf("contract %s not found", t.ContractID),
			})
		}
		if err != nil {
			return err
		}
		if idempotent && affected[len(stmts)-1] == 0 {
			return errReplay
		}
		return nil
	})
	if err != nil && idempotent {
		// A request id that has an answer gets it back, whatever this
		// attempt ran into: its error undid all it did. The answer has
		// committed (a group commit answers after its commit; an INSERT …
		// ON CONFLICT waits for a concurrent one to commit before it
		// finds the conflict).
		if r, rerr := db.replayRequest(ctx, tid, t); rerr != nil || r != nil {
			return r, rerr
		}
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// errReplay rolls back a request whose request id already has an answer.
var errReplay = errors.New("request id already answered")

// replayRequest returns the stored answer to an earlier request with t's
// request id, nil if there is none, or ECONFLICT if that request asked for
// something else.
func (db *DB) replayRequest(ctx context.Context, tid string, t licensor.Take) (*licensor.TakeResult, error) {
	var fp string
	var answer []byte
	err := db.read().QueryRow(ctx, `SELECT fingerprint, answer FROM capability_requests
		WHERE tenant_id = ? AND contract_id = ? AND instance_id = ? AND request_id = ?`,
		tid, t.ContractID, t.InstanceID, t.RequestID).Scan(&fp, &answer)
	switch {
	case NoRows(err):
		return nil, nil
	case err != nil:
		return nil, db.Final("TakeCapabilities", err)
	}
	return replay(t, fp, answer)
}

// poolTx is a capability request's transaction on one pool, as
// takeCapabilities needs it.
type poolTx struct {
	db          *DB
	tx          Conn
	tid, poolID string
	now         int64
	queue       int64 // the seqs of live waiters a grant must not pass are below it
	// others is, per feature, the unused units reserved for other
	// instances, which the take must leave free.
	others map[string]int64
}

// queueBound is the seq below which a live waiter holds a take back.
func queueBound(t licensor.Take) int64 {
	switch {
	case t.Express:
		return 0
	case t.WaiterSeq > 0:
		return t.WaiterSeq
	}
	return math.MaxInt64
}

var _ takeTx = poolTx{}

func (p poolTx) exec(ctx context.Context, q string) error {
	_, err := p.tx.Exec(ctx, q)
	return err
}

func (p poolTx) Savepoint(ctx context.Context) error  { return p.exec(ctx, p.db.d.Savepoint("take")) }
func (p poolTx) RollbackTo(ctx context.Context) error { return p.exec(ctx, p.db.d.RollbackTo("take")) }
func (p poolTx) Release(ctx context.Context) error    { return p.exec(ctx, p.db.d.Release("take")) }

// TakeUnits takes n units with the limit (size plus overdraft) and the
// pool's queue in the UPDATE's condition: there is no window between a
// check and the write. A live waiter with a seq below the take's queue
// bound holds the units back (an index probe that finds nothing while no
// one waits).
func (p poolTx) TakeUnits(ctx context.Context, feature string, n int64) (int64, int64, bool, error) {
	var inUse, maxUnits int64
	err := p.tx.QueryRow(ctx, `UPDATE pool_features SET in_use = in_use + ?1
		WHERE tenant_id = ?2 AND pool_id = ?3 AND feature = ?4 AND in_use + ?1 <= max_units + overdraft - ?7
		AND NOT EXISTS (SELECT 1 FROM capability_waiters w
			WHERE w.tenant_id = ?2 AND w.pool_id = ?3 AND w.seq < ?5 AND w.expires_at > ?6)
		RETURNING in_use, max_units`, n, p.tid, p.poolID, feature, p.queue, p.now, p.others[feature]).Scan(&inUse, &maxUnits)
	if NoRows(err) {
		return 0, 0, false, nil
	}
	return inUse, min(n, max(0, inUse-maxUnits)), err == nil, err
}

func (p poolTx) Level(ctx context.Context, feature string) (int64, int64, bool, error) {
	var maxUnits, inUse int64
	err := p.tx.QueryRow(ctx, `SELECT max_units + overdraft - ?, in_use FROM pool_features WHERE tenant_id = ? AND pool_id = ? AND feature = ?`,
		p.others[feature], p.tid, p.poolID, feature).Scan(&maxUnits, &inUse)
	if NoRows(err) {
		return 0, 0, false, nil
	}
	return maxUnits, inUse, err == nil, err
}

// Missing reads the pool: only a request for a feature not found does.
func (p poolTx) Missing(ctx context.Context, feature string) error {
	ok, err := Exists(ctx, p.tx, `SELECT 1 FROM pools WHERE tenant_id = ? AND id = ?`, p.tid, p.poolID)
	switch {
	case err != nil:
		return err
	case !ok:
		return licensor.Errorf(licensor.ENOTFOUND, "pool %s not found", p.poolID)
	}
	return licensor.Errorf(licensor.EINVALID, "feature %q is not in pool %s", feature, p.poolID)
}

// NextRelease finds the first lease, in expiry order, whose units name the
// feature. (replace() finds the key in both engines, without LIKE's
// wildcards.)
func (p poolTx) NextRelease(ctx context.Context, feature string) (time.Time, error) {
	var next int64
	err := p.tx.QueryRow(ctx, `SELECT expires_at FROM leases
		WHERE tenant_id = ? AND pool_id = ? AND replace(units, ?, '') <> units ORDER BY expires_at LIMIT 1`,
		p.tid, p.poolID, unitsKey(feature)).Scan(&next)
	if NoRows(err) {
		return time.Time{}, nil
	}
	return FromMicros(next), err
}

func (p poolTx) ExpirePool(ctx context.Context) error {
	_, err := expirePool(ctx, p.tx, p.tid, p.poolID, p.now, poolReapBatch)
	return err
}

// expirePool frees up to limit of a pool's leases that expired at or
// before now, and returns how many; the caller holds the pool's lock
// where the engine needs one.
func expirePool(ctx context.Context, tx Conn, tid, poolID string, now int64, limit int) (int, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM leases WHERE tenant_id = ? AND pool_id = ? AND expires_at <= ?
		ORDER BY expires_at LIMIT ?`, tid, poolID, now, limit)
	if err != nil {
		return 0, err
	}
	ids, err := All(rows, scanText)
	rows.Close()
	if err != nil {
		return 0, err
	}
	return expireLeases(ctx, leaseTx{tx: tx, tid: tid}, ids, now)
}

func scanText(s Scanner) (string, error) {
	var v string
	err := s.Scan(&v)
	return v, err
}
