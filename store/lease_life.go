// The life of a lease after its grant: return, renewal, admin release,
// expiry by the reaper, and the reads of leases. Every change to a lease
// holds its pool's lock first where the engine needs one, as a grant
// does.

package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/licensor/licensor"
)

// ReturnCapabilities gives back some or all units of a lease (returnLease).
// See licensor.LeaseStore. Returning a whole live lease, the usual case, is
// one conditional DELETE … RETURNING and the frees (in one round trip
// where the engine can), or the engine's LeaseShortcut, which alone tells
// whether a request waits for the pool (the general path says it may).
func (db *DB) ReturnCapabilities(ctx context.Context, r licensor.LeaseReturn) (left *licensor.Lease, waiting bool, err error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, false, err
	}
	now := Micros(db.stamp(r.Now))
	if s, ok := db.eng.(LeaseShortcut); ok && len(r.Units) == 0 {
		if done, waiting, err := s.ReturnWhole(ctx, tid, r, now); done {
			return nil, waiting, db.Final("ReturnCapabilities", err)
		}
	}
	var expired error
	err = db.writeGrouped(ctx, "ReturnCapabilities", func(ctx context.Context, tx Conn) error {
		left, expired = nil, nil
		if err := db.lockLeasePool(ctx, tx, tid, r.LeaseID); err != nil {
			return err
		}
		var err error
		left, expired, err = returnLease(ctx, leaseTx{tx: tx, tid: tid}, r, now)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return left, true, expired
}

// renewSQL extends a live lease: a borrowed lease keeps its (long) expiry;
// an ordinary one gets now + TTL, never less than it had and never past
// ?6, the lease's latest end. LEAST(a, b) is spelt -GREATEST(-a, -b).
const renewSQL = `UPDATE leases SET renewed_at = ?1,
	expires_at = CASE WHEN borrowed THEN expires_at ELSE %[1]s(expires_at, -%[1]s(-CAST(?6 AS BIGINT), -(CAST(?1 AS BIGINT) +
		(SELECT p.lease_ttl_ns / 1000 FROM pools p WHERE p.tenant_id = leases.tenant_id AND p.id = leases.pool_id)))) END
	WHERE tenant_id = ?2 AND id = ?3 AND contract_id = ?4 AND instance_id = ?5 AND expires_at > ?1
	RETURNING ` + leaseCols

// RenewLease extends a live lease by its pool's TTL. See licensor.LeaseStore.
func (db *DB) RenewLease(ctx context.Context, r licensor.LeaseRenewal) (*licensor.Lease, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	now := Micros(db.stamp(r.Now))
	renew := db.renewSQL()
	var out *licensor.Lease
	var expired error
	err = db.write(ctx, "RenewLease", func(tx Conn) error {
		out, expired = nil, nil
		if err := db.lockLeasePool(ctx, tx, tid, r.LeaseID); err != nil {
			return err
		}
		l, err := scanLease(tx.QueryRow(ctx, renew, now, tid, r.LeaseID, r.ContractID, r.InstanceID, notAfter(r.NotAfter)))
		if NoRows(err) {
			// Expired, or not the caller's: find out which.
			expired, err = notRenewed(ctx, leaseTx{tx: tx, tid: tid}, r, now)
			return err
		}
		if err != nil {
			return err
		}
		out = l
		stmts := make([]Stmt, 0, len(out.Units))
		for _, u := range out.Units {
			ev := leaseEvent{Kind: licensor.UsageRenew, Pool: out.PoolID, Feature: u.Feature, Units: u.Units, At: now,
				Lease: out.ID, Contract: out.ContractID, Instance: out.InstanceID}
			stmts = append(stmts, ev.atLevelStmt(tid))
		}
		_, _, err = ExecStmts(ctx, tx, stmts)
		return err
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
	l, err := getLease(ctx, db.read(), tid, id)
	return l, db.Final("GetLease", err)
}

func getLease(ctx context.Context, c Conn, tid, id string) (*licensor.Lease, error) {
	l, err := scanLease(c.QueryRow(ctx, `SELECT `+leaseCols+` FROM leases WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, NotFound(err, fmt.Sprintf("lease %s not found", id))
	}
	return l, nil
}

// ListLeases lists the scoped tenant's leases by id.
func (db *DB) ListLeases(ctx context.Context, f licensor.LeaseFilter) ([]*licensor.Lease, error) {
	tid, opts, err := TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + leaseCols + ` FROM leases WHERE tenant_id = ? AND id > ?`
	args := []any{tid, opts.After}
	for _, c := range []struct{ col, v string }{{"pool_id", f.PoolID}, {"contract_id", f.ContractID}, {"instance_id", f.InstanceID}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.read().Query(ctx, q, args...)
	if err != nil {
		return nil, db.Final("ListLeases", err)
	}
	defer rows.Close()
	out, err := All(rows, scanLease)
	return out, db.Final("ListLeases", err)
}

// ReleaseLease ends a lease at once. ENOTFOUND.
func (db *DB) ReleaseLease(ctx context.Context, id string, at time.Time) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	now := Micros(db.stamp(at))
	return db.write(ctx, "ReleaseLease", func(tx Conn) error {
		if err := db.lockLeasePool(ctx, tx, tid, id); err != nil {
			return err
		}
		return releaseLease(ctx, leaseTx{tx: tx, tid: tid}, id, now)
	})
}

// ExpireLeases frees leases that expired at or before now, pool by pool,
// each pool in a transaction of its own that holds the pool's lock where
// the engine needs one. Grants free expired leases only when they find
// their pool short, so the reaper waits for a busy pool's lock (one
// transaction) rather than skip it; several reapers on one pool free each
// lease once (endLease). See licensor.LeaseStore.
func (db *DB) ExpireLeases(ctx context.Context, at time.Time, limit int) (int, error) {
	tid, scoped := licensor.TenantFrom(ctx)
	if limit <= 0 {
		limit = poolReapBatch
	}
	now := Micros(db.stamp(at))
	q := `SELECT DISTINCT tenant_id, pool_id FROM leases WHERE expires_at <= ?`
	args := []any{now}
	if scoped {
		q += ` AND tenant_id = ?`
		args = append(args, tid)
	}
	rows, err := db.read().Query(ctx, q+` ORDER BY tenant_id, pool_id`, args...)
	if err != nil {
		return 0, db.Final("ExpireLeases", err)
	}
	pools, err := All(rows, func(s Scanner) (p [2]string, err error) { return p, s.Scan(&p[0], &p[1]) })
	rows.Close()
	if err != nil {
		return 0, db.Final("ExpireLeases", err)
	}
	freed := 0
	for _, p := range pools {
		if freed >= limit {
			break
		}
		n := 0
		err := db.write(ctx, "ExpireLeases", func(tx Conn) error {
			n = 0
			if err := db.lockPool(ctx, tx, p[0], p[1]); err != nil {
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
	if err := db.writeOne(ctx, "ExpireLeases", func(c Conn) error { return purgeWaiters(ctx, c, now, tid, scoped) }); err != nil {
		return freed, err
	}
	q = `DELETE FROM capability_requests WHERE created_at < ?`
	args = []any{now - licensor.IdempotencyWindow.Microseconds()}
	if scoped {
		q += ` AND tenant_id = ?`
		args = append(args, tid)
	}
	err = db.writeOne(ctx, "ExpireLeases", func(c Conn) error {
		_, err := c.Exec(ctx, q, args...)
		return err
	})
	return freed, err
}

func scanLease(s Scanner) (*licensor.Lease, error) {
	var l licensor.Lease
	var created, renewed, expires int64
	var units, overage string
	if err := s.Scan(&l.TenantID, &l.ID, &l.PoolID, &l.ContractID, &l.InstanceID, &l.Borrowed, &created, &renewed, &expires, &units, &overage); err != nil {
		return nil, err
	}
	l.CreatedAt, l.RenewedAt, l.ExpiresAt = FromMicros(created), FromMicros(renewed), FromMicros(expires)
	var err error
	if l.Units, err = parseUnits(units); err != nil {
		return nil, err
	}
	if overage != "{}" {
		over, err := parseUnits(overage)
		if err != nil {
			return nil, err
		}
		l.Overage = heldOverage(over, &l)
	}
	return &l, nil
}

// leaseTx is one tenant's write transaction as returnLease, endLease and
// their kin need it. Shrink and Free are one round trip each where the
// engine can, whatever the number of events.
type leaseTx struct {
	tx  Conn
	tid string
}

var _ lifeTx = leaseTx{}

func (t leaseTx) GetLease(ctx context.Context, id string) (*licensor.Lease, error) {
	return getLease(ctx, t.tx, t.tid, id)
}

func (t leaseTx) DeleteLive(ctx context.Context, id, contractID, instanceID string, now int64) (leaseRow, bool, error) {
	row := leaseRow{Contract: contractID, Instance: instanceID}
	err := t.tx.QueryRow(ctx, `DELETE FROM leases
		WHERE tenant_id = ? AND id = ? AND contract_id = ? AND instance_id = ? AND expires_at > ?
		RETURNING pool_id, units`, t.tid, id, contractID, instanceID, now).Scan(&row.Pool, &row.Units)
	return deleted(row, err)
}

func (t leaseTx) DeleteLease(ctx context.Context, id string) (leaseRow, bool, error) {
	return t.deleteRow(ctx, `DELETE FROM leases WHERE tenant_id = ? AND id = ?`, t.tid, id)
}

func (t leaseTx) DeleteExpired(ctx context.Context, id string, now int64) (leaseRow, bool, error) {
	return t.deleteRow(ctx, `DELETE FROM leases WHERE tenant_id = ? AND id = ? AND expires_at <= ?`, t.tid, id, now)
}

func (t leaseTx) deleteRow(ctx context.Context, q string, args ...any) (leaseRow, bool, error) {
	var row leaseRow
	err := t.tx.QueryRow(ctx, q+` RETURNING pool_id, contract_id, instance_id, units`, args...).
		Scan(&row.Pool, &row.Contract, &row.Instance, &row.Units)
	return deleted(row, err)
}

// deleted is the answer of a DELETE … RETURNING: no row is found false.
func deleted(row leaseRow, err error) (leaseRow, bool, error) {
	if NoRows(err) {
		return leaseRow{}, false, nil
	}
	return row, err == nil, err
}

// Shrink updates the lease and frees evs, in one round trip where the
// engine can.
func (t leaseTx) Shrink(ctx context.Context, id, units string, evs []leaseEvent) error {
	return freeAll(ctx, t.tx, t.tid, []Stmt{{`UPDATE leases SET units = ? WHERE tenant_id = ? AND id = ?`, []any{units, t.tid, id}}}, evs)
}

func (t leaseTx) Free(ctx context.Context, evs []leaseEvent) error {
	return freeAll(ctx, t.tx, t.tid, nil, evs)
}

// renewSQL returns renewSQL in the store's dialect.
func (db *DB) renewSQL() string {
	if s, ok := renewStmts.Load(db.d); ok {
		return s.(string)
	}
	s := fmt.Sprintf(renewSQL, db.d.Greatest)
	renewStmts.Store(db.d, s)
	return s
}

// renewStmts caches renewSQL by dialect, so that a renewal builds no text.
var renewStmts sync.Map

// heldOverage is the overage recorded at the grant, bounded by what the
// lease still holds after units were given back.
func heldOverage(over []licensor.Units, l *licensor.Lease) []licensor.Units {
	var out []licensor.Units
	for _, o := range over {
		if n := min(o.Units, l.UnitsOf(o.Feature)); n > 0 {
			out = append(out, licensor.Units{Feature: o.Feature, Units: n})
		}
	}
	return out
}
