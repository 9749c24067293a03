package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"slices"

	"github.com/licensor/licensor"
)

const usageCols = `seq, tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id`

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
