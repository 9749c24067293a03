package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store/internal/lease"
)

// A lease's units are a column of its row (migration 0005, store/internal/lease).
const leaseCols = `tenant_id, id, pool_id, contract_id, instance_id, borrowed, created_at, renewed_at, expires_at, units`

// poolReapBatch bounds how many expired leases a request frees in its own
// transaction when it finds its pool short; the reaper frees the rest.
const poolReapBatch = 256

// TakeCapabilities executes one capability request in one transaction
// that holds the pool's lock (lockPool): lease.Take takes each feature's
// units with a conditional UPDATE (in_use + n <= max_units), all or nothing
// unless partial grants are allowed, and frees the pool's expired leases
// only if it finds the pool short. Denials and grants are recorded as
// usage events, and the answer is kept under the request id in the same
// transaction: a request whose id already has an answer finds out there,
// at the end, is rolled back, and gets that answer. The same request id
// arriving at two servers at once is answered once; the other waits (for
// the pool's lock, or for the first insert of the id to commit) and gets
// the replay.
func (db *DB) TakeCapabilities(ctx context.Context, t licensor.Take) (*licensor.TakeResult, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if len(t.Units) == 0 {
		return nil, licensor.Errorf(licensor.EINVALID, "ask for at least one feature, e.g. solver=1")
	}
	now := micros(db.stamp(t.Now))
	expires := micros(norm(t.ExpiresAt))
	var res *licensor.TakeResult
	idempotent := t.RequestID != "" && !t.Preview
	err = db.tx(ctx, "TakeCapabilities", func(tx pgx.Tx) error {
		res = nil
		if err := lockPool(ctx, tx, tid, t.PoolID); err != nil {
			return err
		}
		tk, err := lease.Take(ctx, poolTx{tx: tx, tid: tid, poolID: t.PoolID, now: now}, t)
		if err != nil {
			return err
		}
		res = &tk.Result
		if t.Preview {
			return nil
		}
		// The lease, the events and the answer go in one round trip: the
		// pool's lock is held until commit.
		b := &pgx.Batch{}
		leaseID := t.LeaseID
		if leaseID == "" {
			leaseID = licensor.NewID(licensor.PrefixLease)
		}
		if res.Granted {
			l := &licensor.Lease{
				ID: leaseID, TenantID: tid, PoolID: t.PoolID, ContractID: t.ContractID, InstanceID: t.InstanceID,
				Units: tk.Granted, Borrowed: t.Borrowed,
				CreatedAt: fromMicros(now), RenewedAt: fromMicros(now), ExpiresAt: fromMicros(expires),
			}
			b.Queue(`INSERT INTO leases (`+leaseCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				tid, l.ID, l.PoolID, l.ContractID, l.InstanceID, l.Borrowed, now, now, expires, lease.FormatUnits(l.Units))
			for i, u := range tk.Granted {
				ev := usageEvent{Kind: licensor.UsageGrant, Pool: l.PoolID, Feature: u.Feature, Units: u.Units, At: now,
					Lease: l.ID, Contract: l.ContractID, Instance: l.InstanceID}
				ev.queue(b, tid, tk.InUse[i])
			}
			res.Lease = l
		}
		for i, sh := range res.Shortages {
			ev := usageEvent{Kind: licensor.UsageDeny, Pool: t.PoolID, Feature: sh.Feature, Units: sh.Requested, At: now,
				Contract: t.ContractID, Instance: t.InstanceID}
			ev.queue(b, tid, tk.Levels[i])
		}
		if idempotent {
			// Keep the answer, unless the request id already has one: then
			// this is a retry, and everything above is undone (the error
			// rolls the transaction back) and the first answer read instead.
			// Checking here rather than first saves a round trip per request.
			answer, err := json.Marshal(res)
			if err != nil {
				return err
			}
			b.Queue(`INSERT INTO capability_requests
				(tenant_id, contract_id, instance_id, request_id, fingerprint, answer, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT DO NOTHING`,
				tid, t.ContractID, t.InstanceID, t.RequestID, t.Fingerprint, answer, now)
		}
		if b.Len() == 0 {
			return nil
		}
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		for i := range b.Len() {
			tag, err := br.Exec()
			if err != nil {
				return constraints{
					primaryKey: fmt.Sprintf("lease %s already exists", leaseID),
					foreignKey: fmt.Sprintf("contract %s not found", t.ContractID),
				}.translate(err)
			}
			if idempotent && i == b.Len()-1 && tag.RowsAffected() == 0 {
				return errReplay
			}
		}
		return br.Close()
	})
	if err != nil && idempotent {
		// A request id that has an answer gets it back, whatever this
		// attempt ran into: its error rolled back all it did. The answer
		// has committed (an INSERT … ON CONFLICT waits for a concurrent
		// one to commit before it finds the conflict).
		if r, rerr := replayRequest(ctx, db.pool, tid, t); rerr != nil || r != nil {
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
func replayRequest(ctx context.Context, q querier, tid string, t licensor.Take) (*licensor.TakeResult, error) {
	var fp string
	var answer []byte
	err := q.QueryRow(ctx, `SELECT fingerprint, answer FROM capability_requests
		WHERE tenant_id = $1 AND contract_id = $2 AND instance_id = $3 AND request_id = $4`,
		tid, t.ContractID, t.InstanceID, t.RequestID).Scan(&fp, &answer)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, driverErr("TakeCapabilities", err)
	}
	return lease.Replay(t, fp, answer)
}

// poolTx is a capability request's transaction on one pool, as
// lease.Take needs it; the transaction holds the pool's lock.
type poolTx struct {
	tx          pgx.Tx
	tid, poolID string
	now         int64
}

var _ lease.Tx = poolTx{}

func (p poolTx) exec(ctx context.Context, q string) error {
	_, err := p.tx.Exec(ctx, q)
	return err
}

func (p poolTx) Savepoint(ctx context.Context) error { return p.exec(ctx, `SAVEPOINT take`) }
func (p poolTx) RollbackTo(ctx context.Context) error {
	return p.exec(ctx, `ROLLBACK TO SAVEPOINT take`)
}
func (p poolTx) Release(ctx context.Context) error { return p.exec(ctx, `RELEASE SAVEPOINT take`) }

// TakeUnits takes n units with the limit in the UPDATE's condition: there
// is no window between a check and the write.
func (p poolTx) TakeUnits(ctx context.Context, feature string, n int64) (int64, bool, error) {
	var inUse int64
	err := p.tx.QueryRow(ctx, `UPDATE pool_features SET in_use = in_use + $1
		WHERE tenant_id = $2 AND pool_id = $3 AND feature = $4 AND in_use + $1 <= max_units
		RETURNING in_use`, n, p.tid, p.poolID, feature).Scan(&inUse)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return inUse, err == nil, err
}

func (p poolTx) Level(ctx context.Context, feature string) (int64, int64, bool, error) {
	var maxUnits, inUse int64
	err := p.tx.QueryRow(ctx, `SELECT max_units, in_use FROM pool_features WHERE tenant_id = $1 AND pool_id = $2 AND feature = $3`,
		p.tid, p.poolID, feature).Scan(&maxUnits, &inUse)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, false, nil
	}
	return maxUnits, inUse, err == nil, err
}

// Missing reads the pool: only a request for a feature not found does.
func (p poolTx) Missing(ctx context.Context, feature string) error {
	ok, err := exists(ctx, p.tx, `SELECT 1 FROM pools WHERE tenant_id = $1 AND id = $2`, p.tid, p.poolID)
	switch {
	case err != nil:
		return err
	case !ok:
		return licensor.Errorf(licensor.ENOTFOUND, "pool %s not found", p.poolID)
	}
	return licensor.Errorf(licensor.EINVALID, "feature %q is not in pool %s", feature, p.poolID)
}

// NextRelease finds the first lease, in expiry order, whose units name the
// feature.
func (p poolTx) NextRelease(ctx context.Context, feature string) (time.Time, error) {
	var next int64
	err := p.tx.QueryRow(ctx, `SELECT expires_at FROM leases
		WHERE tenant_id = $1 AND pool_id = $2 AND strpos(units, $3) > 0 ORDER BY expires_at LIMIT 1`,
		p.tid, p.poolID, lease.UnitsKey(feature)).Scan(&next)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	return fromMicros(next), err
}

func (p poolTx) ExpirePool(ctx context.Context) error {
	_, err := expirePool(ctx, p.tx, p.tid, p.poolID, p.now, poolReapBatch)
	return err
}
