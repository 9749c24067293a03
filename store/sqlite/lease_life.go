// The life of a lease after its grant: return, renewal, admin release,
// expiry by the reaper, and the reads of leases.

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store/internal/lease"
)

// ReturnCapabilities gives back some or all units of a lease (lease.Return).
// See licensor.LeaseStore.
func (db *DB) ReturnCapabilities(ctx context.Context, r licensor.LeaseReturn) (*licensor.Lease, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	now := micros(db.stamp(r.Now))
	var left *licensor.Lease
	var expired error
	err = db.writeBatched(ctx, "ReturnCapabilities", func(ctx context.Context, stx *sql.Tx) error {
		var err error
		left, expired, err = lease.Return(ctx, leaseTx{tx: db.wtx(stx), tid: tid}, r, now)
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
	err = db.write(ctx, "RenewLease", func(stx *sql.Tx) error {
		tx := db.wtx(stx)
		out, expired = nil, nil
		// A borrowed lease keeps its (long) expiry; an ordinary one gets
		// now + TTL, never less than it had.
		l, err := scanLease(tx.QueryRowContext(ctx, `UPDATE leases SET renewed_at = ?1,
			expires_at = CASE WHEN borrowed = 1 THEN expires_at ELSE MAX(expires_at, MIN(?6, ?1 +
				(SELECT p.lease_ttl_ns / 1000 FROM pools p WHERE p.tenant_id = leases.tenant_id AND p.id = leases.pool_id))) END
			WHERE tenant_id = ?2 AND id = ?3 AND contract_id = ?4 AND instance_id = ?5 AND expires_at > ?1
			RETURNING `+leaseCols, now, tid, r.LeaseID, r.ContractID, r.InstanceID, lease.NotAfter(r.NotAfter)))
		if errors.Is(err, sql.ErrNoRows) {
			// Expired, or not the caller's: find out which.
			expired, err = lease.NotRenewed(ctx, leaseTx{tx: tx, tid: tid}, r, now)
			return err
		}
		if err != nil {
			return err
		}
		out = l
		for _, u := range out.Units {
			ev := usageEvent{Kind: licensor.UsageRenew, Pool: out.PoolID, Feature: u.Feature, Units: u.Units, At: now,
				Lease: out.ID, Contract: out.ContractID, Instance: out.InstanceID}
			if err := ev.insertAtLevel(ctx, tx, tid); err != nil {
				return err
			}
		}
		return nil
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
	l, err := getLease(ctx, db.r, tid, id)
	return l, driverErr("GetLease", err)
}

func getLease(ctx context.Context, q querier, tid, id string) (*licensor.Lease, error) {
	l, err := scanLease(q.QueryRowContext(ctx, `SELECT `+leaseCols+` FROM leases WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("lease %s not found", id))
	}
	return l, nil
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
	rows, err := db.r.QueryContext(ctx, q, args...)
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
	return db.write(ctx, "ReleaseLease", func(stx *sql.Tx) error {
		return lease.Release(ctx, leaseTx{tx: db.wtx(stx), tid: tid}, id, now)
	})
}

// ExpireLeases frees leases that expired at or before now. See
// licensor.LeaseStore.
func (db *DB) ExpireLeases(ctx context.Context, at time.Time, limit int) (int, error) {
	tid, scoped := licensor.TenantFrom(ctx)
	if limit <= 0 {
		limit = poolReapBatch
	}
	now := micros(db.stamp(at))
	freed := 0
	err := db.write(ctx, "ExpireLeases", func(stx *sql.Tx) error {
		tx := db.wtx(stx)
		freed = 0
		q := `SELECT tenant_id, id FROM leases WHERE expires_at <= ?`
		args := []any{now}
		if scoped {
			q += ` AND tenant_id = ?`
			args = append(args, tid)
		}
		rows, err := tx.QueryContext(ctx, q+` ORDER BY expires_at LIMIT ?`, append(args, limit)...)
		if err != nil {
			return err
		}
		var due [][2]string
		for rows.Next() {
			var t, id string
			if err := rows.Scan(&t, &id); err != nil {
				rows.Close()
				return err
			}
			due = append(due, [2]string{t, id})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Across tenants in expiry order, so lease by lease: lease.Expire
		// takes one tenant's leases.
		for _, d := range due {
			ended, err := lease.End(ctx, leaseTx{tx: tx, tid: d[0]}, d[1], licensor.UsageExpire, now)
			if err != nil {
				return err
			}
			if ended {
				freed++
			}
		}
		q = `DELETE FROM capability_requests WHERE created_at < ?`
		args = []any{now - licensor.IdempotencyWindow.Microseconds()}
		if scoped {
			q += ` AND tenant_id = ?`
			args = append(args, tid)
		}
		_, err = tx.ExecContext(ctx, q, args...)
		return err
	})
	return freed, err
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

func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// leaseTx is one tenant's write transaction as lease.Return, lease.End and
// their kin need it. Each method is one statement, but Free: two per event
// (the UPDATE that gives the units back, then the event's INSERT), run one
// after the other on the single writer; Shrink updates the lease first.
type leaseTx struct {
	tx  execer
	tid string
}

var _ lease.LifeTx = leaseTx{}

func (t leaseTx) GetLease(ctx context.Context, id string) (*licensor.Lease, error) {
	return getLease(ctx, t.tx, t.tid, id)
}

func (t leaseTx) DeleteLive(ctx context.Context, id, contractID, instanceID string, now int64) (lease.Row, bool, error) {
	row := lease.Row{Contract: contractID, Instance: instanceID}
	err := t.tx.QueryRowContext(ctx, `DELETE FROM leases
		WHERE tenant_id = ? AND id = ? AND contract_id = ? AND instance_id = ? AND expires_at > ?
		RETURNING pool_id, units`, t.tid, id, contractID, instanceID, now).Scan(&row.Pool, &row.Units)
	return deleted(row, err)
}

func (t leaseTx) DeleteLease(ctx context.Context, id string) (lease.Row, bool, error) {
	return t.deleteRow(ctx, `DELETE FROM leases WHERE tenant_id = ? AND id = ?`, t.tid, id)
}

func (t leaseTx) DeleteExpired(ctx context.Context, id string, now int64) (lease.Row, bool, error) {
	return t.deleteRow(ctx, `DELETE FROM leases WHERE tenant_id = ? AND id = ? AND expires_at <= ?`, t.tid, id, now)
}

func (t leaseTx) deleteRow(ctx context.Context, q string, args ...any) (lease.Row, bool, error) {
	var row lease.Row
	err := t.tx.QueryRowContext(ctx, q+` RETURNING pool_id, contract_id, instance_id, units`, args...).
		Scan(&row.Pool, &row.Contract, &row.Instance, &row.Units)
	return deleted(row, err)
}

// deleted is the answer of a DELETE … RETURNING: no row is found false.
func deleted(row lease.Row, err error) (lease.Row, bool, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return lease.Row{}, false, nil
	}
	return row, err == nil, err
}

func (t leaseTx) Shrink(ctx context.Context, id, units string, evs []lease.Event) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE leases SET units = ? WHERE tenant_id = ? AND id = ?`, units, t.tid, id); err != nil {
		return err
	}
	return t.Free(ctx, evs)
}

func (t leaseTx) Free(ctx context.Context, evs []lease.Event) error {
	for _, e := range evs {
		if err := usageEvent(e).free(ctx, t.tx, t.tid); err != nil {
			return err
		}
	}
	return nil
}
