package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
)

const leaseCols = `tenant_id, id, pool_id, contract_id, instance_id, borrowed, created_at, renewed_at, expires_at`

// poolReapBatch bounds how many expired leases a grant frees in its own
// transaction before it decides; the reaper frees the rest.
const poolReapBatch = 256

// TakeCapabilities executes one capability request in one transaction
// that holds the pool's lock (lockPool): it frees the pool's expired
// leases, then takes each feature's units with a conditional UPDATE
// (in_use + n <= max_units). A shortfall of any feature undoes the whole
// request (a savepoint), unless partial grants are allowed; a preview
// always undoes it. Denials and grants are recorded as usage events, and
// the answer is kept under the request id in the same transaction; the
// same request id arriving at two servers at once is answered once, the
// other gets the replay.
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
	err = db.tx(ctx, "TakeCapabilities", func(tx pgx.Tx) error {
		res = nil
		// The lock and the pool's existence in one round trip (pools are
		// never deleted, so the statement's snapshot is good enough).
		var found bool
		if err := tx.QueryRow(ctx, `SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2)) IS NOT NULL
			AND EXISTS (SELECT 1 FROM pools WHERE tenant_id = $1 AND id = $2)`, tid, t.PoolID).Scan(&found); err != nil {
			return err
		}
		idempotent := t.RequestID != "" && !t.Preview
		if idempotent {
			var fp string
			var answer []byte
			err := tx.QueryRow(ctx, `SELECT fingerprint, answer FROM capability_requests
				WHERE tenant_id = $1 AND contract_id = $2 AND instance_id = $3 AND request_id = $4`,
				tid, t.ContractID, t.InstanceID, t.RequestID).Scan(&fp, &answer)
			switch {
			case err == nil:
				if fp != t.Fingerprint {
					return licensor.Errorf(licensor.ECONFLICT, "request id %q was already used for a different request; use a new id for a new request", t.RequestID)
				}
				res = new(licensor.TakeResult)
				if err := json.Unmarshal(answer, res); err != nil {
					return err
				}
				res.Replayed = true
				return nil
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		if !found {
			return licensor.Errorf(licensor.ENOTFOUND, "pool %s not found", t.PoolID)
		}
		if err := expirePoolLeases(ctx, tx, tid, t.PoolID, now, poolReapBatch); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SAVEPOINT take`); err != nil {
			return err
		}
		res = &licensor.TakeResult{}
		var granted []licensor.Units
		inUse := make(map[string]int64, len(t.Units))
		for _, u := range t.Units {
			n, ok, err := takeUnits(ctx, tx, tid, t.PoolID, u.Feature, u.Units)
			if err != nil {
				return err
			}
			if ok {
				granted = append(granted, u)
				inUse[u.Feature] = n
				continue
			}
			var maxUnits, cur int64
			err = tx.QueryRow(ctx, `SELECT max_units, in_use FROM pool_features WHERE tenant_id = $1 AND pool_id = $2 AND feature = $3`,
				tid, t.PoolID, u.Feature).Scan(&maxUnits, &cur)
			if errors.Is(err, pgx.ErrNoRows) {
				return licensor.Errorf(licensor.EINVALID, "feature %q is not in pool %s", u.Feature, t.PoolID)
			}
			if err != nil {
				return err
			}
			avail := max(0, maxUnits-cur)
			next, err := nextRelease(ctx, tx, tid, t.PoolID, u.Feature)
			if err != nil {
				return err
			}
			res.Shortages = append(res.Shortages, licensor.Shortage{
				Feature: u.Feature, Requested: u.Units, Available: avail, Short: u.Units - avail, NextRelease: next,
			})
			if t.AllowPartial && avail > 0 {
				n, ok, err := takeUnits(ctx, tx, tid, t.PoolID, u.Feature, avail)
				if err != nil {
					return err
				}
				if ok {
					granted = append(granted, licensor.Units{Feature: u.Feature, Units: avail})
					inUse[u.Feature] = n
				}
			}
		}
		res.Granted = len(res.Shortages) == 0 || (t.AllowPartial && len(granted) > 0)
		if t.Preview || !res.Granted {
			if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT take`); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `RELEASE SAVEPOINT take`); err != nil {
			return err
		}
		if t.Preview {
			return nil
		}
		if res.Granted {
			l := &licensor.Lease{
				ID: t.LeaseID, TenantID: tid, PoolID: t.PoolID, ContractID: t.ContractID, InstanceID: t.InstanceID,
				Units: granted, Borrowed: t.Borrowed,
				CreatedAt: fromMicros(now), RenewedAt: fromMicros(now), ExpiresAt: fromMicros(expires),
			}
			if l.ID == "" {
				l.ID = licensor.NewID(licensor.PrefixLease)
			}
			// The lease, its units and the events go in one round trip:
			// the pool's lock is held until commit.
			b := &pgx.Batch{}
			b.Queue(`INSERT INTO leases (`+leaseCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				tid, l.ID, l.PoolID, l.ContractID, l.InstanceID, l.Borrowed, now, now, expires)
			for _, u := range granted {
				b.Queue(`INSERT INTO lease_units (tenant_id, lease_id, feature, units) VALUES ($1, $2, $3, $4)`,
					tid, l.ID, u.Feature, u.Units)
				ev := usageEvent{kind: licensor.UsageGrant, pool: l.PoolID, feature: u.Feature, units: u.Units, at: now,
					lease: l.ID, contract: l.ContractID, instance: l.InstanceID}
				ev.queue(b, tid, inUse[u.Feature])
			}
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return constraints{
					primaryKey: fmt.Sprintf("lease %s already exists", l.ID),
					foreignKey: fmt.Sprintf("contract %s not found", l.ContractID),
				}.translate(err)
			}
			res.Lease = l
		}
		for _, sh := range res.Shortages {
			ev := usageEvent{kind: licensor.UsageDeny, pool: t.PoolID, feature: sh.Feature, units: sh.Requested, at: now,
				contract: t.ContractID, instance: t.InstanceID}
			if err := ev.insertAtLevel(ctx, tx, tid); err != nil {
				return err
			}
		}
		if idempotent {
			answer, err := json.Marshal(res)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO capability_requests
				(tenant_id, contract_id, instance_id, request_id, fingerprint, answer, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				tid, t.ContractID, t.InstanceID, t.RequestID, t.Fingerprint, answer, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// takeUnits takes n units of a feature if the pool's limit allows it, and
// returns the units in use after. The limit is in the UPDATE's condition:
// there is no window between a check and the write.
func takeUnits(ctx context.Context, tx pgx.Tx, tid, poolID, feature string, n int64) (int64, bool, error) {
	var inUse int64
	err := tx.QueryRow(ctx, `UPDATE pool_features SET in_use = in_use + $1
		WHERE tenant_id = $2 AND pool_id = $3 AND feature = $4 AND in_use + $1 <= max_units
		RETURNING in_use`, n, tid, poolID, feature).Scan(&inUse)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return inUse, err == nil, err
}

// nextRelease returns when the soonest lease of the pool holding feature ends.
func nextRelease(ctx context.Context, tx pgx.Tx, tid, poolID, feature string) (time.Time, error) {
	var next *int64
	err := tx.QueryRow(ctx, `SELECT MIN(l.expires_at) FROM leases l
		JOIN lease_units u ON u.tenant_id = l.tenant_id AND u.lease_id = l.id
		WHERE l.tenant_id = $1 AND l.pool_id = $2 AND u.feature = $3`, tid, poolID, feature).Scan(&next)
	if err != nil || next == nil {
		return time.Time{}, err
	}
	return fromMicros(*next), nil
}

// expirePoolLeases frees up to limit of a pool's leases that expired at or
// before now; the caller holds the pool's lock. It returns how many.
func expirePoolLeases(ctx context.Context, tx pgx.Tx, tid, poolID string, now int64, limit int) error {
	_, err := expirePool(ctx, tx, tid, poolID, now, limit)
	return err
}

func expirePool(ctx context.Context, tx pgx.Tx, tid, poolID string, now int64, limit int) (int, error) {
	ids, err := queryStrings(ctx, tx, `SELECT id FROM leases WHERE tenant_id = $1 AND pool_id = $2 AND expires_at <= $3
		ORDER BY expires_at LIMIT $4`, tid, poolID, now, limit)
	if err != nil {
		return 0, err
	}
	freed := 0
	for _, id := range ids {
		ok, err := endLease(ctx, tx, tid, id, now, licensor.UsageExpire)
		if err != nil {
			return freed, err
		}
		if ok {
			freed++
		}
	}
	return freed, nil
}

// endLease deletes a lease and gives its units back to the pool, recording
// kind; the caller holds the pool's lock. For UsageExpire the delete is
// conditional on the lease having expired at now, so a lease renewed
// meanwhile stays. The conditional DELETE is the one guard against freeing
// a lease twice: whoever deletes the row frees its units; anyone else finds
// no row and frees nothing.
func endLease(ctx context.Context, tx pgx.Tx, tid, id string, now int64, kind licensor.UsageKind) (bool, error) {
	// Read before the delete (which cascades to them); under the pool's
	// lock nobody else changes this lease meanwhile.
	units, err := leaseUnits(ctx, tx, tid, id)
	if err != nil {
		return false, err
	}
	q := `DELETE FROM leases WHERE tenant_id = $1 AND id = $2`
	args := []any{tid, id}
	if kind == licensor.UsageExpire {
		q += ` AND expires_at <= $3`
		args = append(args, now)
	}
	var poolID, contractID, instanceID string
	err = tx.QueryRow(ctx, q+` RETURNING pool_id, contract_id, instance_id`, args...).Scan(&poolID, &contractID, &instanceID)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, u := range units {
		ev := usageEvent{kind: kind, pool: poolID, feature: u.Feature, units: u.Units, at: now, lease: id, contract: contractID, instance: instanceID}
		if err := ev.free(ctx, tx, tid); err != nil {
			return false, err
		}
	}
	return true, nil
}

// leasePool returns the pool of a lease (which never changes), so that a
// change to the lease can take the pool's lock first. ENOTFOUND.
func leasePool(ctx context.Context, tx pgx.Tx, tid, id string) (string, error) {
	var poolID string
	err := tx.QueryRow(ctx, `SELECT pool_id FROM leases WHERE tenant_id = $1 AND id = $2`, tid, id).Scan(&poolID)
	return poolID, notFound(err, fmt.Sprintf("lease %s not found", id))
}

// lockLeasePool takes the lock of the pool of lease id. ENOTFOUND.
func lockLeasePool(ctx context.Context, tx pgx.Tx, tid, id string) error {
	poolID, err := leasePool(ctx, tx, tid, id)
	if err != nil {
		return err
	}
	return lockPool(ctx, tx, tid, poolID)
}

// ReturnCapabilities gives back some or all units of a lease. See
// licensor.LeaseStore.
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
		if err := lockLeasePool(ctx, tx, tid, r.LeaseID); err != nil {
			return err
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
		all := len(r.Units) == 0
		if !all {
			whole := 0
			for _, u := range r.Units {
				held := l.UnitsOf(u.Feature)
				switch {
				case held == 0:
					return licensor.Errorf(licensor.EINVALID, "lease %s holds no units of %q", l.ID, u.Feature)
				case u.Units > held:
					return licensor.Errorf(licensor.EINVALID, "lease %s holds %d units of %q; it cannot return %d", l.ID, held, u.Feature, u.Units)
				case u.Units == held:
					whole++
				}
			}
			all = whole == len(l.Units)
		}
		if all {
			_, err := endLease(ctx, tx, tid, l.ID, now, licensor.UsageReturn)
			return err
		}
		for _, u := range r.Units {
			tag, err := tx.Exec(ctx, `UPDATE lease_units SET units = units - $1
				WHERE tenant_id = $2 AND lease_id = $3 AND feature = $4 AND units > $1`, u.Units, tid, l.ID, u.Feature)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				if _, err := tx.Exec(ctx, `DELETE FROM lease_units WHERE tenant_id = $1 AND lease_id = $2 AND feature = $3 AND units = $4`,
					tid, l.ID, u.Feature, u.Units); err != nil {
					return err
				}
			}
			ev := usageEvent{kind: licensor.UsageReturn, pool: l.PoolID, feature: u.Feature, units: u.Units, at: now,
				lease: l.ID, contract: l.ContractID, instance: l.InstanceID}
			if err := ev.free(ctx, tx, tid); err != nil {
				return err
			}
		}
		left, err = getLease(ctx, tx, tid, l.ID)
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
		if err := lockLeasePool(ctx, tx, tid, r.LeaseID); err != nil {
			return err
		}
		// A borrowed lease keeps its (long) expiry; an ordinary one gets
		// now + TTL, never less than it had.
		tag, err := tx.Exec(ctx, `UPDATE leases SET renewed_at = $1,
			expires_at = CASE WHEN borrowed THEN expires_at ELSE GREATEST(expires_at, $1::bigint +
				(SELECT p.lease_ttl_ns / 1000 FROM pools p WHERE p.tenant_id = leases.tenant_id AND p.id = leases.pool_id)) END
			WHERE tenant_id = $2 AND id = $3 AND contract_id = $4 AND instance_id = $5 AND expires_at > $1`,
			now, tid, r.LeaseID, r.ContractID, r.InstanceID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
		if out, err = getLease(ctx, tx, tid, r.LeaseID); err != nil {
			return err
		}
		for _, u := range out.Units {
			ev := usageEvent{kind: licensor.UsageRenew, pool: out.PoolID, feature: u.Feature, units: u.Units, at: now,
				lease: out.ID, contract: out.ContractID, instance: out.InstanceID}
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
func callersLease(ctx context.Context, tx pgx.Tx, tid, id, contractID, instanceID string) (*licensor.Lease, error) {
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
	l, err := getLease(ctx, db.pool, tid, id)
	return l, driverErr("GetLease", err)
}

func getLease(ctx context.Context, q querier, tid, id string) (*licensor.Lease, error) {
	l, err := scanLease(q.QueryRow(ctx, `SELECT `+leaseCols+` FROM leases WHERE tenant_id = $1 AND id = $2`, tid, id))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("lease %s not found", id))
	}
	if l.Units, err = leaseUnits(ctx, q, tid, id); err != nil {
		return nil, err
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
	var out []*licensor.Lease
	byID := map[string]*licensor.Lease{}
	for rows.Next() {
		l, err := scanLease(rows)
		if err != nil {
			rows.Close()
			return nil, driverErr("ListLeases", err)
		}
		out = append(out, l)
		byID[l.ID] = l
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, driverErr("ListLeases", err)
	}
	ids := make([]string, 0, len(out))
	for _, l := range out {
		ids = append(ids, l.ID)
	}
	urows, err := db.pool.Query(ctx, `SELECT lease_id, feature, units FROM lease_units
		WHERE tenant_id = $1 AND lease_id = ANY($2) ORDER BY lease_id, feature`, tid, ids)
	if err != nil {
		return nil, driverErr("ListLeases", err)
	}
	defer urows.Close()
	for urows.Next() {
		var id string
		var u licensor.Units
		if err := urows.Scan(&id, &u.Feature, &u.Units); err != nil {
			return nil, driverErr("ListLeases", err)
		}
		if l := byID[id]; l != nil {
			l.Units = append(l.Units, u)
		}
	}
	return out, driverErr("ListLeases", urows.Err())
}

// ReleaseLease ends a lease at once. ENOTFOUND.
func (db *DB) ReleaseLease(ctx context.Context, id string, at time.Time) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	now := micros(db.stamp(at))
	return db.tx(ctx, "ReleaseLease", func(tx pgx.Tx) error {
		if err := lockLeasePool(ctx, tx, tid, id); err != nil {
			return err
		}
		ok, err := endLease(ctx, tx, tid, id, now, licensor.UsageRelease)
		if err == nil && !ok {
			return licensor.Errorf(licensor.ENOTFOUND, "lease %s not found", id)
		}
		return err
	})
}

// ExpireLeases frees leases that expired at or before now, pool by pool,
// each pool in a transaction of its own that holds the pool's lock. A pool
// whose lock another server holds is skipped (that server is taking from
// it, and frees its expired leases first, or is reaping it), so the
// reapers of several servers never do the same work, and none waits for
// another. See licensor.LeaseStore.
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
			ok, err := tryLockPool(ctx, tx, p[0], p[1])
			if err != nil || !ok {
				return err
			}
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

func scanLease(s scanner) (*licensor.Lease, error) {
	var l licensor.Lease
	var created, renewed, expires int64
	if err := s.Scan(&l.TenantID, &l.ID, &l.PoolID, &l.ContractID, &l.InstanceID, &l.Borrowed, &created, &renewed, &expires); err != nil {
		return nil, err
	}
	l.CreatedAt, l.RenewedAt, l.ExpiresAt = fromMicros(created), fromMicros(renewed), fromMicros(expires)
	return &l, nil
}

func leaseUnits(ctx context.Context, q querier, tid, id string) ([]licensor.Units, error) {
	rows, err := q.Query(ctx, `SELECT feature, units FROM lease_units WHERE tenant_id = $1 AND lease_id = $2 ORDER BY feature`, tid, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []licensor.Units
	for rows.Next() {
		var u licensor.Units
		if err := rows.Scan(&u.Feature, &u.Units); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
