package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/store/internal/lease"
)

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
