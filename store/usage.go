package store

import (
	"cmp"
	"context"
	"slices"

	"github.com/licensor/licensor"
)

// UsageCols are the columns ScanUsage reads.
const UsageCols = `seq, tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id`

// ListUsageEvents returns each feature's last event before q.Since (the
// latest by time), then the events in [q.Since, q.Until) in commit order,
// read in one snapshot (Engine.Snapshot). ENOTFOUND for an unknown pool.
func (db *DB) ListUsageEvents(ctx context.Context, q licensor.UsageQuery) ([]*licensor.UsageEvent, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	var out []*licensor.UsageEvent
	err = db.eng.Snapshot(ctx, func(tx Conn) error {
		out = nil
		var err error
		out, err = listUsage(ctx, tx, tid, q)
		return err
	})
	return out, db.Final("ListUsageEvents", err)
}

// listUsage is ListUsageEvents' reads, in the snapshot tx.
func listUsage(ctx context.Context, tx Conn, tid string, q licensor.UsageQuery) ([]*licensor.UsageEvent, error) {
	features, err := queryStrings(ctx, tx, `SELECT feature FROM pool_features WHERE tenant_id = ? AND pool_id = ? ORDER BY feature`, tid, q.PoolID)
	if err != nil {
		return nil, err
	}
	if len(features) == 0 {
		ok, err := Exists(ctx, tx, `SELECT 1 FROM pools WHERE tenant_id = ? AND id = ?`, tid, q.PoolID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, licensor.Errorf(licensor.ENOTFOUND, "pool %s not found", q.PoolID)
		}
	}
	// One index, (tenant, pool, feature, at), serves both reads: each
	// feature's last event before the range, then its events in the range;
	// the range is put back in commit order.
	since, until := Micros(q.Since), Micros(q.Until)
	var out, in []*licensor.UsageEvent
	for _, f := range features {
		evs, err := scanUsage(tx.Query(ctx, `SELECT `+UsageCols+` FROM usage_events
			WHERE tenant_id = ? AND pool_id = ? AND feature = ? AND at < ? ORDER BY at DESC, seq DESC LIMIT 1`, tid, q.PoolID, f, since))
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
		evs, err = scanUsage(tx.Query(ctx, `SELECT `+UsageCols+` FROM usage_events
			WHERE tenant_id = ? AND pool_id = ? AND feature = ? AND at >= ? AND at < ?`, tid, q.PoolID, f, since, until))
		if err != nil {
			return nil, err
		}
		in = append(in, evs...)
	}
	slices.SortFunc(in, func(a, b *licensor.UsageEvent) int { return cmp.Compare(a.Seq, b.Seq) })
	return append(out, in...), nil
}

func scanUsage(rows Rows, err error) ([]*licensor.UsageEvent, error) {
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
		e.Kind, e.At = licensor.UsageKind(kind), FromMicros(at)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// queryStrings returns the one text column of query's rows.
func queryStrings(ctx context.Context, q Conn, query string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, query, args...)
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
