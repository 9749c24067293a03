package sqlite

import (
	"context"
	"fmt"

	"github.com/licensor/licensor/store/internal/lease"
)

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
