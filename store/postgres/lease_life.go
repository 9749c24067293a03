// The life of a lease after its grant: return, renewal, admin release,
// expiry by the reaper, and the reads of leases. Every change to a lease
// takes its pool's lock first (lockLeasePool), as a grant does.

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store/internal/lease"
)

// lockLeasePool takes the lock of the pool of lease id, in one round trip
// with finding the pool (which never changes for a lease). ENOTFOUND.
func lockLeasePool(ctx context.Context, tx pgx.Tx, tid, id string) (string, error) {
	var poolID string
	var locked bool
	err := tx.QueryRow(ctx, `SELECT pool_id, pg_advisory_xact_lock(hashtext(tenant_id), hashtext(pool_id)) IS NOT NULL
		FROM leases WHERE tenant_id = $1 AND id = $2`, tid, id).Scan(&poolID, &locked)
	return poolID, notFound(err, fmt.Sprintf("lease %s not found", id))
}

// ReturnCapabilities gives back some or all units of a lease (lease.Return)
// with the lease's pool locked. See licensor.LeaseStore. Returning a whole
// live lease, the usual case, is the lock, one conditional DELETE …
// RETURNING and the frees in one batch.
func (db *DB) ReturnCapabilities(ctx context.Context, r licensor.LeaseReturn) (*licensor.Lease, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	now := micros(db.stamp(r.Now))
	var left *licensor.Lease
	var expired error
	err = db.tx(ctx, "ReturnCapabilities", func(tx pgx.Tx) error {
		left, expired = nil, nil
		poolID, err := lockLeasePool(ctx, tx, tid, r.LeaseID)
		if err != nil {
			return err
		}
		left, expired, err = lease.Return(ctx, leaseTx{tx: tx, tid: tid, poolID: poolID}, r, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return left, expired
}

// RenewLease extends a live lease by its pool's TTL. See licensor.LeaseStore.
func (db *DB) RenewLease(ctx context.Context, r licensor.LeaseRenewal) (*licensor.Lease, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	now := micros(db.stamp(r.Now))
	var out *licensor.Lease
	var expired error
	err = db.tx(ctx, "RenewLease", func(tx pgx.Tx) error {
		out, expired = nil, nil
		if _, err := lockLeasePool(ctx, tx, tid, r.LeaseID); err != nil {
			return err
		}
		// A borrowed lease keeps its (long) expiry; an ordinary one gets
		// now + TTL, never less than it had.
		l, err := scanLease(tx.QueryRow(ctx, `UPDATE leases SET renewed_at = $1,
			expires_at = CASE WHEN borrowed THEN expires_at ELSE GREATEST(expires_at, LEAST($6::bigint, $1::bigint +
				(SELECT p.lease_ttl_ns / 1000 FROM pools p WHERE p.tenant_id = leases.tenant_id AND p.id = leases.pool_id))) END
			WHERE tenant_id = $2 AND id = $3 AND contract_id = $4 AND instance_id = $5 AND expires_at > $1
			RETURNING `+leaseCols, now, tid, r.LeaseID, r.ContractID, r.InstanceID, lease.NotAfter(r.NotAfter)))
		if errors.Is(err, pgx.ErrNoRows) {
			// Expired, or not the caller's: find out which.
			expired, err = lease.NotRenewed(ctx, leaseTx{tx: tx, tid: tid}, r, now)
			return err
		}
		if err != nil {
			return err
		}
		out = l
		b := &pgx.Batch{}
		for _, u := range out.Units {
			ev := usageEvent{Kind: licensor.UsageRenew, Pool: out.PoolID, Feature: u.Feature, Units: u.Units, At: now,
				Lease: out.ID, Contract: out.ContractID, Instance: out.InstanceID}
			ev.queueAtLevel(b, tid)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, err
	}
	return out, expired
}

// GetLease returns one lease of the scoped tenant. ENOTFOUND.
func (db *DB) GetLease(ctx context.Context, id string) (*licensor.Lease, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	l, err := getLease(ctx, db.pool, tid, id)
	return l, driverErr("GetLease", err)
}

func getLease(ctx context.Context, q querier, tid, id string) (*licensor.Lease, error) {
	l, err := scanLease(q.QueryRow(ctx, `SELECT `+leaseCols+` FROM leases WHERE tenant_id = $1 AND id = $2`, tid, id))
	return l, notFound(err, fmt.Sprintf("lease %s not found", id))
}

// ListLeases lists the scoped tenant's leases by id.
func (db *DB) ListLeases(ctx context.Context, f licensor.LeaseFilter) ([]*licensor.Lease, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	opts, err := page(f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + leaseCols + ` FROM leases WHERE tenant_id = $1 AND id > $2`
	args := []any{tid, opts.After}
	for _, c := range []struct{ col, v string }{{"pool_id", f.PoolID}, {"contract_id", f.ContractID}, {"instance_id", f.InstanceID}} {
		if c.v != "" {
			args = append(args, c.v)
			q += fmt.Sprintf(` AND %s = $%d`, c.col, len(args))
		}
	}
	args = append(args, opts.Limit)
	q += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, driverErr("ListLeases", err)
	}
	defer rows.Close()
	var out []*licensor.Lease
	for rows.Next() {
		l, err := scanLease(rows)
		if err != nil {
			return nil, driverErr("ListLeases", err)
		}
		out = append(out, l)
	}
	return out, driverErr("ListLeases", rows.Err())
}

// ReleaseLease ends a lease at once. ENOTFOUND.
func (db *DB) ReleaseLease(ctx context.Context, id string, at time.Time) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	now := micros(db.stamp(at))
	return db.tx(ctx, "ReleaseLease", func(tx pgx.Tx) error {
		if _, err := lockLeasePool(ctx, tx, tid, id); err != nil {
			return err
		}
		return lease.Release(ctx, leaseTx{tx: tx, tid: tid}, id, now)
	})
}

// ExpireLeases frees leases that expired at or before now, pool by pool,
// each pool in a transaction of its own that holds the pool's lock. Grants
// no longer free expired leases unless they find their pool short, so the
// reaper waits for a busy pool's lock (one transaction) rather than skip
// it; several reapers on one pool free each lease once (lease.End). See
// licensor.LeaseStore.
func (db *DB) ExpireLeases(ctx context.Context, at time.Time, limit int) (int, error) {
	tid, scoped := licensor.TenantFrom(ctx)
	if limit <= 0 {
		limit = poolReapBatch
	}
	now := micros(db.stamp(at))
	q := `SELECT DISTINCT tenant_id, pool_id FROM leases WHERE expires_at <= $1`
	args := []any{now}
	if scoped {
		q += ` AND tenant_id = $2`
		args = append(args, tid)
	}
	rows, err := db.pool.Query(ctx, q+` ORDER BY tenant_id, pool_id`, args...)
	if err != nil {
		return 0, driverErr("ExpireLeases", err)
	}
	var pools [][2]string
	for rows.Next() {
		var t, p string
		if err := rows.Scan(&t, &p); err != nil {
			rows.Close()
			return 0, driverErr("ExpireLeases", err)
		}
		pools = append(pools, [2]string{t, p})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, driverErr("ExpireLeases", err)
	}
	freed := 0
	for _, p := range pools {
		if freed >= limit {
			break
		}
		n := 0
		err := db.tx(ctx, "ExpireLeases", func(tx pgx.Tx) error {
			n = 0
			if err := lockPool(ctx, tx, p[0], p[1]); err != nil {
				return err
			}
			var err error
			n, err = expirePool(ctx, tx, p[0], p[1], now, limit-freed)
			return err
		})
		if err != nil {
			return freed, err
		}
		freed += n
	}
	q = `DELETE FROM capability_requests WHERE created_at < $1`
	args = []any{now - licensor.IdempotencyWindow.Microseconds()}
	if scoped {
		q += ` AND tenant_id = $2`
		args = append(args, tid)
	}
	_, err = db.pool.Exec(ctx, q, args...)
	return freed, driverErr("ExpireLeases", err)
}

// expirePool frees up to limit of a pool's leases that expired at or
// before now, and returns how many; the caller holds the pool's lock.
func expirePool(ctx context.Context, tx pgx.Tx, tid, poolID string, now int64, limit int) (int, error) {
	ids, err := queryStrings(ctx, tx, `SELECT id FROM leases WHERE tenant_id = $1 AND pool_id = $2 AND expires_at <= $3
		ORDER BY expires_at LIMIT $4`, tid, poolID, now, limit)
	if err != nil {
		return 0, err
	}
	return lease.Expire(ctx, leaseTx{tx: tx, tid: tid}, ids, now)
}

func scanLease(s scanner) (*licensor.Lease, error) {
	var l licensor.Lease
	var created, renewed, expires int64
	var units string
	if err := s.Scan(&l.TenantID, &l.ID, &l.PoolID, &l.ContractID, &l.InstanceID, &l.Borrowed, &created, &renewed, &expires, &units); err != nil {
		return nil, err
	}
	l.CreatedAt, l.RenewedAt, l.ExpiresAt = fromMicros(created), fromMicros(renewed), fromMicros(expires)
	var err error
	if l.Units, err = lease.ParseUnits(units); err != nil {
		return nil, err
	}
	return &l, nil
}

// leaseTx is one tenant's transaction as lease.Return, lease.End and their
// kin need it; the transaction holds the pool's lock. Shrink and Free are
// one round trip each, whatever the number of events.
type leaseTx struct {
	tx     pgx.Tx
	tid    string
	poolID string // the pool of the lease DeleteLive deletes: the one lockLeasePool locked
}

var _ lease.LifeTx = leaseTx{}

func (t leaseTx) GetLease(ctx context.Context, id string) (*licensor.Lease, error) {
	return getLease(ctx, t.tx, t.tid, id)
}

func (t leaseTx) DeleteLive(ctx context.Context, id, contractID, instanceID string, now int64) (lease.Row, bool, error) {
	row := lease.Row{Pool: t.poolID, Contract: contractID, Instance: instanceID}
	err := t.tx.QueryRow(ctx, `DELETE FROM leases
		WHERE tenant_id = $1 AND id = $2 AND contract_id = $3 AND instance_id = $4 AND expires_at > $5
		RETURNING units`, t.tid, id, contractID, instanceID, now).Scan(&row.Units)
	return deleted(row, err)
}

func (t leaseTx) DeleteLease(ctx context.Context, id string) (lease.Row, bool, error) {
	return t.deleteRow(ctx, `DELETE FROM leases WHERE tenant_id = $1 AND id = $2`, t.tid, id)
}

func (t leaseTx) DeleteExpired(ctx context.Context, id string, now int64) (lease.Row, bool, error) {
	return t.deleteRow(ctx, `DELETE FROM leases WHERE tenant_id = $1 AND id = $2 AND expires_at <= $3`, t.tid, id, now)
}

func (t leaseTx) deleteRow(ctx context.Context, q string, args ...any) (lease.Row, bool, error) {
	var row lease.Row
	err := t.tx.QueryRow(ctx, q+` RETURNING pool_id, contract_id, instance_id, units`, args...).
		Scan(&row.Pool, &row.Contract, &row.Instance, &row.Units)
	return deleted(row, err)
}

// deleted is the answer of a DELETE … RETURNING: no row is found false.
func deleted(row lease.Row, err error) (lease.Row, bool, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return lease.Row{}, false, nil
	}
	return row, err == nil, err
}

// Shrink updates the lease and frees evs in one round trip.
func (t leaseTx) Shrink(ctx context.Context, id, units string, evs []lease.Event) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE leases SET units = $1 WHERE tenant_id = $2 AND id = $3`, units, t.tid, id)
	return freeAll(ctx, t.tx, b, t.tid, evs)
}

func (t leaseTx) Free(ctx context.Context, evs []lease.Event) error {
	return freeAll(ctx, t.tx, nil, t.tid, evs)
}
