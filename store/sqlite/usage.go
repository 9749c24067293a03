package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store/internal/lease"
)

const usageCols = `seq, tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id`

// usageEvent is one usage record about to be written in a lease
// transaction (lease.Event, with this store's statements).
type usageEvent lease.Event

// insert records the event with the feature's units in use after it.
func (e usageEvent) insert(ctx context.Context, tx execer, tid string, inUse int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO usage_events (tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tid, e.Pool, e.Feature, string(e.Kind), e.Units, inUse, e.At, e.Lease, e.Contract, e.Instance)
	return err
}

// insertAtLevel records an event that changes nothing in use (a renewal,
// a denial), at the feature's current level.
func (e usageEvent) insertAtLevel(ctx context.Context, tx execer, tid string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO usage_events (tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id)
		SELECT tenant_id, pool_id, feature, ?, ?, in_use, ?, ?, ?, ? FROM pool_features
		WHERE tenant_id = ? AND pool_id = ? AND feature = ?`,
		string(e.Kind), e.Units, e.At, e.Lease, e.Contract, e.Instance, tid, e.Pool, e.Feature)
	return err
}

// free gives e.Units back to the pool and records the event.
func (e usageEvent) free(ctx context.Context, tx execer, tid string) error {
	var inUse int64
	err := tx.QueryRowContext(ctx, `UPDATE pool_features SET in_use = in_use - ?
		WHERE tenant_id = ? AND pool_id = ? AND feature = ? RETURNING in_use`,
		e.Units, tid, e.Pool, e.Feature).Scan(&inUse)
	if err != nil {
		return fmt.Errorf("free %d units of %s in pool %s: %w", e.Units, e.Feature, e.Pool, err)
	}
	return e.insert(ctx, tx, tid, inUse)
}

// ListUsageEvents returns each feature's last event before q.Since (the
// latest by time), then the events in [q.Since, q.Until) in commit order,
// read in one snapshot.
// ENOTFOUND for an unknown pool.
func (db *DB) ListUsageEvents(ctx context.Context, q licensor.UsageQuery) ([]*licensor.UsageEvent, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := db.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, driverErr("ListUsageEvents", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	features, err := queryStrings(ctx, tx, `SELECT feature FROM pool_features WHERE tenant_id = ? AND pool_id = ? ORDER BY feature`, tid, q.PoolID)
	if err != nil {
		return nil, driverErr("ListUsageEvents", err)
	}
	if len(features) == 0 {
		ok, err := exists(ctx, tx, `SELECT 1 FROM pools WHERE tenant_id = ? AND id = ?`, tid, q.PoolID)
		if err != nil {
			return nil, driverErr("ListUsageEvents", err)
		}
		if !ok {
			return nil, licensor.Errorf(licensor.ENOTFOUND, "pool %s not found", q.PoolID)
		}
	}
	// One index, (tenant, pool, feature, at), serves both reads: each
	// feature's last event before the range, then its events in the range;
	// the range is put back in commit order.
	since, until := micros(q.Since), micros(q.Until)
	var out, in []*licensor.UsageEvent
	for _, f := range features {
		evs, err := scanUsage(tx.QueryContext(ctx, `SELECT `+usageCols+` FROM usage_events
			WHERE tenant_id = ? AND pool_id = ? AND feature = ? AND at < ? ORDER BY at DESC, seq DESC LIMIT 1`, tid, q.PoolID, f, since))
		if err != nil {
			return nil, driverErr("ListUsageEvents", err)
		}
		out = append(out, evs...)
		evs, err = scanUsage(tx.QueryContext(ctx, `SELECT `+usageCols+` FROM usage_events
			WHERE tenant_id = ? AND pool_id = ? AND feature = ? AND at >= ? AND at < ?`, tid, q.PoolID, f, since, until))
		if err != nil {
			return nil, driverErr("ListUsageEvents", err)
		}
		in = append(in, evs...)
	}
	slices.SortFunc(in, func(a, b *licensor.UsageEvent) int { return cmp.Compare(a.Seq, b.Seq) })
	return append(out, in...), nil
}

func scanUsage(rows *sql.Rows, err error) ([]*licensor.UsageEvent, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*licensor.UsageEvent
	for rows.Next() {
		var e licensor.UsageEvent
		var kind string
		var at int64
		if err := rows.Scan(&e.Seq, &e.TenantID, &e.PoolID, &e.Feature, &kind, &e.Units, &e.InUse, &at, &e.LeaseID, &e.ContractID, &e.InstanceID); err != nil {
			return nil, err
		}
		e.Kind, e.At = licensor.UsageKind(kind), fromMicros(at)
		out = append(out, &e)
	}
	return out, rows.Err()
}
