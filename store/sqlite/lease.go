package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/licensor/licensor"
)

const leaseCols = `tenant_id, id, pool_id, contract_id, instance_id, borrowed, created_at, renewed_at, expires_at`

// poolReapBatch bounds how many expired leases a grant frees in its own
// transaction before it decides; the reaper frees the rest.
const poolReapBatch = 256

// TakeCapabilities executes one capability request in one write
// transaction: it frees the pool's expired leases, then takes each
// feature's units with a conditional UPDATE (in_use + n <= max_units). A
// shortfall of any feature undoes the whole request (a savepoint), unless
// partial grants are allowed; a preview always undoes it. Denials and
// grants are recorded as usage events, and the answer is kept under the
// request id in the same transaction.
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
	// Group commit: concurrent requests share one commit, each under its
	// savepoint; fn runs with the writer's context (see groupcommit.go).
	err = db.writeBatched(ctx, "TakeCapabilities", func(ctx context.Context, stx *sql.Tx) error {
		tx := db.wtx(stx)
		res = nil
		idempotent := t.RequestID != "" && !t.Preview
		if idempotent {
			var fp string
			var answer []byte
			err := tx.QueryRowContext(ctx, `SELECT fingerprint, answer FROM capability_requests
				WHERE tenant_id = ? AND contract_id = ? AND instance_id = ? AND request_id = ?`,
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
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		ok, err := exists(ctx, tx, `SELECT 1 FROM pools WHERE tenant_id = ? AND id = ?`, tid, t.PoolID)
		if err != nil {
			return err
		}
		if !ok {
			return licensor.Errorf(licensor.ENOTFOUND, "pool %s not found", t.PoolID)
		}
		if err := expirePoolLeases(ctx, tx, tid, t.PoolID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT take`); err != nil {
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
			err = tx.QueryRowContext(ctx, `SELECT max_units, in_use FROM pool_features WHERE tenant_id = ? AND pool_id = ? AND feature = ?`,
				tid, t.PoolID, u.Feature).Scan(&maxUnits, &cur)
			if errors.Is(err, sql.ErrNoRows) {
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
		undo := t.Preview || !res.Granted
		if undo {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO take`); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE take`); err != nil {
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
			if _, err := tx.ExecContext(ctx, `INSERT INTO leases (`+leaseCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				tid, l.ID, l.PoolID, l.ContractID, l.InstanceID, boolInt(l.Borrowed), now, now, expires); err != nil {
				return constraints{
					primaryKey: fmt.Sprintf("lease %s already exists", l.ID),
					foreignKey: fmt.Sprintf("contract %s not found", l.ContractID),
				}.translate(err)
			}
			for _, u := range granted {
				if _, err := tx.ExecContext(ctx, `INSERT INTO lease_units (tenant_id, lease_id, feature, units) VALUES (?, ?, ?, ?)`,
					tid, l.ID, u.Feature, u.Units); err != nil {
					return err
				}
				ev := usageEvent{kind: licensor.UsageGrant, pool: l.PoolID, feature: u.Feature, units: u.Units, at: now,
					lease: l.ID, contract: l.ContractID, instance: l.InstanceID}
				if err := ev.insert(ctx, tx, tid, inUse[u.Feature]); err != nil {
					return err
				}
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
			if _, err := tx.ExecContext(ctx, `INSERT INTO capability_requests
				(tenant_id, contract_id, instance_id, request_id, fingerprint, answer, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
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
func takeUnits(ctx context.Context, tx execer, tid, poolID, feature string, n int64) (int64, bool, error) {
	var inUse int64
	err := tx.QueryRowContext(ctx, `UPDATE pool_features SET in_use = in_use + ?1
		WHERE tenant_id = ?2 AND pool_id = ?3 AND feature = ?4 AND in_use + ?1 <= max_units
		RETURNING in_use`, n, tid, poolID, feature).Scan(&inUse)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return inUse, err == nil, err
}

// nextRelease returns when the soonest lease of the pool holding feature ends.
func nextRelease(ctx context.Context, tx execer, tid, poolID, feature string) (time.Time, error) {
	var next sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT MIN(l.expires_at) FROM leases l
		JOIN lease_units u ON u.tenant_id = l.tenant_id AND u.lease_id = l.id
		WHERE l.tenant_id = ? AND l.pool_id = ? AND u.feature = ?`, tid, poolID, feature).Scan(&next)
	return fromMicros(next.Int64), err
}

// expirePoolLeases frees a pool's leases that expired at or before now.
func expirePoolLeases(ctx context.Context, tx execer, tid, poolID string, now int64) error {
	ids, err := queryStrings(ctx, tx, `SELECT id FROM leases WHERE tenant_id = ? AND pool_id = ? AND expires_at <= ?
		ORDER BY expires_at LIMIT ?`, tid, poolID, now, poolReapBatch)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := endLease(ctx, tx, tid, id, now, licensor.UsageExpire); err != nil {
			return err
		}
	}
	return nil
}

// endLease deletes a lease and gives its units back to the pool, recording
// kind. For UsageExpire the delete is conditional on the lease having
// expired at now, so a lease renewed meanwhile stays. The conditional
// DELETE is the one guard against freeing a lease twice: whoever deletes
// the row frees its units; anyone else finds no row and frees nothing.
func endLease(ctx context.Context, tx execer, tid, id string, now int64, kind licensor.UsageKind) (bool, error) {
	units, err := leaseUnits(ctx, tx, tid, id)
	if err != nil {
		return false, err
	}
	q := `DELETE FROM leases WHERE tenant_id = ? AND id = ?`
	args := []any{tid, id}
	if kind == licensor.UsageExpire {
		q += ` AND expires_at <= ?`
		args = append(args, now)
	}
	var poolID, contractID, instanceID string
	err = tx.QueryRowContext(ctx, q+` RETURNING pool_id, contract_id, instance_id`, args...).Scan(&poolID, &contractID, &instanceID)
	if errors.Is(err, sql.ErrNoRows) {
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
