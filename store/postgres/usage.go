package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store/internal/lease"
)

const usageCols = `seq, tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id`

// usageEvent is one usage record about to be written in a lease
// transaction (which holds the pool's lock, so seq follows commit order):
// lease.Event, with this store's statements.
type usageEvent lease.Event

const insertUsage = `INSERT INTO usage_events (tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// queue adds the event, with the feature's units in use after it, to a
// batch.
func (e usageEvent) queue(b *pgx.Batch, tid string, inUse int64) {
	b.Queue(insertUsage, tid, e.Pool, e.Feature, string(e.Kind), e.Units, inUse, e.At, e.Lease, e.Contract, e.Instance)
}

// queueAtLevel adds an event that changes nothing in use (a renewal) to a
// batch, at the feature's current level.
func (e usageEvent) queueAtLevel(b *pgx.Batch, tid string) {
	b.Queue(`INSERT INTO usage_events (tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id)
		SELECT tenant_id, pool_id, feature, $1, $2, in_use, $3, $4, $5, $6 FROM pool_features
		WHERE tenant_id = $7 AND pool_id = $8 AND feature = $9`,
		string(e.Kind), e.Units, e.At, e.Lease, e.Contract, e.Instance, tid, e.Pool, e.Feature)
}

// freeAll gives the units of evs back to their pool and records the
// events, each with the units in use after it, in one round trip: one
// statement per event after those already queued in b (or a new batch).
func freeAll(ctx context.Context, tx pgx.Tx, b *pgx.Batch, tid string, evs []lease.Event) error {
	if b == nil {
		b = &pgx.Batch{}
	}
	skip := b.Len()
	for _, e := range evs {
		b.Queue(`WITH f AS (UPDATE pool_features SET in_use = in_use - $1::bigint
				WHERE tenant_id = $2::text AND pool_id = $3::text AND feature = $4::text RETURNING in_use)
			INSERT INTO usage_events (tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id)
			SELECT $2::text, $3::text, $4::text, $5::text, $1::bigint, in_use, $6::bigint, $7::text, $8::text, $9::text FROM f`,
			e.Units, tid, e.Pool, e.Feature, string(e.Kind), e.At, e.Lease, e.Contract, e.Instance)
	}
	if b.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for i := range b.Len() {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if i >= skip && tag.RowsAffected() != 1 {
			e := evs[i-skip]
			return fmt.Errorf("free %d units of %s in pool %s: the pool has no such feature", e.Units, e.Feature, e.Pool)
		}
	}
	return br.Close()
}

// ListUsageEvents returns each feature's last event before q.Since (the
// latest by time), then the events in [q.Since, q.Until) in commit order,
// read in one snapshot
// (a REPEATABLE READ transaction). ENOTFOUND for an unknown pool.
func (db *DB) ListUsageEvents(ctx context.Context, q licensor.UsageQuery) ([]*licensor.UsageEvent, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	var out []*licensor.UsageEvent
	err = pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		out = nil
		features, err := queryStrings(ctx, tx, `SELECT feature FROM pool_features WHERE tenant_id = $1 AND pool_id = $2 ORDER BY feature`, tid, q.PoolID)
		if err != nil {
			return err
		}
		if len(features) == 0 {
			ok, err := exists(ctx, tx, `SELECT 1 FROM pools WHERE tenant_id = $1 AND id = $2`, tid, q.PoolID)
			if err != nil {
				return err
			}
			if !ok {
				return licensor.Errorf(licensor.ENOTFOUND, "pool %s not found", q.PoolID)
			}
		}
		// One index, (tenant, pool, feature, at, seq), serves both reads:
		// each feature's last event before the range, then its events in
		// the range; the range is put back in commit order.
		since, until := micros(q.Since), micros(q.Until)
		var in []*licensor.UsageEvent
		for _, f := range features {
			evs, err := scanUsage(tx.Query(ctx, `SELECT `+usageCols+` FROM usage_events
				WHERE tenant_id = $1 AND pool_id = $2 AND feature = $3 AND at < $4 ORDER BY at DESC, seq DESC LIMIT 1`, tid, q.PoolID, f, since))
			if err != nil {
				return err
			}
			out = append(out, evs...)
			evs, err = scanUsage(tx.Query(ctx, `SELECT `+usageCols+` FROM usage_events
				WHERE tenant_id = $1 AND pool_id = $2 AND feature = $3 AND at >= $4 AND at < $5`, tid, q.PoolID, f, since, until))
			if err != nil {
				return err
			}
			in = append(in, evs...)
		}
		slices.SortFunc(in, func(a, b *licensor.UsageEvent) int { return cmp.Compare(a.Seq, b.Seq) })
		out = append(out, in...)
		return nil
	})
	if err != nil {
		return nil, driverErr("ListUsageEvents", err)
	}
	return out, nil
}

func scanUsage(rows pgx.Rows, err error) ([]*licensor.UsageEvent, error) {
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
