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

// ReturnCapabilities gives back some or all units of a lease. See
// licensor.LeaseStore. Returning a whole live lease, the usual case, is one
// conditional DELETE … RETURNING and the frees; anything else (some units,
// an expired lease, someone else's) reads the lease first.
func (db *DB) ReturnCapabilities(ctx context.Context, r licensor.LeaseReturn) (*licensor.Lease, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	now := micros(db.stamp(r.Now))
	var left *licensor.Lease
	var expired error
	err = db.writeBatched(ctx, "ReturnCapabilities", func(ctx context.Context, stx *sql.Tx) error {
		tx := db.wtx(stx)
		left, expired = nil, nil
		if len(r.Units) == 0 {
			var poolID, units string
			err := tx.QueryRowContext(ctx, `DELETE FROM leases
				WHERE tenant_id = ? AND id = ? AND contract_id = ? AND instance_id = ? AND expires_at > ?
				RETURNING pool_id, units`, tid, r.LeaseID, r.ContractID, r.InstanceID, now).Scan(&poolID, &units)
			switch {
			case err == nil:
				return freeUnits(ctx, tx, tid, licensor.UsageReturn, now, r.LeaseID, poolID, r.ContractID, r.InstanceID, units)
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		l, err := callersLease(ctx, tx, tid, r.LeaseID, r.ContractID, r.InstanceID)
		if err != nil {
			return err
		}
		if micros(l.ExpiresAt) <= now {
			if _, err := endLease(ctx, tx, tid, l.ID, now, licensor.UsageExpire); err != nil {
				return err
			}
			expired = licensor.Errorf(licensor.EPRECONDITION, "lease %s expired at %s; its units are already back in the pool", l.ID, l.ExpiresAt.Format(time.RFC3339))
			return nil
		}
		rest, err := lease.Remaining(l, r.Units)
		if err != nil {
			return err
		}
		if len(rest) == 0 {
			_, err := endLease(ctx, tx, tid, l.ID, now, licensor.UsageReturn)
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET units = ? WHERE tenant_id = ? AND id = ?`,
			lease.FormatUnits(rest), tid, l.ID); err != nil {
			return err
		}
		for _, u := range r.Units {
			ev := usageEvent{Kind: licensor.UsageReturn, Pool: l.PoolID, Feature: u.Feature, Units: u.Units, At: now,
				Lease: l.ID, Contract: l.ContractID, Instance: l.InstanceID}
			if err := ev.free(ctx, tx, tid); err != nil {
				return err
			}
		}
		l.Units = rest
		left = l
		return nil
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
			expires_at = CASE WHEN borrowed = 1 THEN expires_at ELSE MAX(expires_at, ?1 +
				(SELECT p.lease_ttl_ns / 1000 FROM pools p WHERE p.tenant_id = leases.tenant_id AND p.id = leases.pool_id)) END
			WHERE tenant_id = ?2 AND id = ?3 AND contract_id = ?4 AND instance_id = ?5 AND expires_at > ?1
			RETURNING `+leaseCols, now, tid, r.LeaseID, r.ContractID, r.InstanceID))
		if errors.Is(err, sql.ErrNoRows) {
			// Expired, or not the caller's: find out which.
			l, err := callersLease(ctx, tx, tid, r.LeaseID, r.ContractID, r.InstanceID)
			if err != nil {
				return err
			}
			if _, err := endLease(ctx, tx, tid, l.ID, now, licensor.UsageExpire); err != nil {
				return err
			}
			expired = licensor.Errorf(licensor.EPRECONDITION, "lease %s expired at %s; request the capabilities again", l.ID, l.ExpiresAt.Format(time.RFC3339))
			return nil
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

// callersLease returns a lease only if it belongs to the calling contract
// and instance: anyone else's lease does not exist for them.
func callersLease(ctx context.Context, tx execer, tid, id, contractID, instanceID string) (*licensor.Lease, error) {
	l, err := getLease(ctx, tx, tid, id)
	if err != nil {
		return nil, err
	}
	if l.ContractID != contractID || l.InstanceID != instanceID {
		return nil, licensor.Errorf(licensor.ENOTFOUND, "lease %s not found", id)
	}
	return l, nil
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
		tx := db.wtx(stx)
		ok, err := endLease(ctx, tx, tid, id, now, licensor.UsageRelease)
		if err == nil && !ok {
			return licensor.Errorf(licensor.ENOTFOUND, "lease %s not found", id)
		}
		return err
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
		for _, d := range due {
			ok, err := endLease(ctx, tx, d[0], d[1], now, licensor.UsageExpire)
			if err != nil {
				return err
			}
			if ok {
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
