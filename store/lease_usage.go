package store

import (
	"context"
	"fmt"
)

// The usage events a lease's transaction writes: each with the feature's
// units in use after it. Where the engine has transactions side by side
// (PostgreSQL) the transaction holds the pool's lock, so that seq follows
// commit order.

const insertUsageSQL = `INSERT INTO usage_events (tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertStmt records e with inUse units in use after it.
func (e leaseEvent) insertStmt(tid string, inUse int64) Stmt {
	return Stmt{insertUsageSQL, []any{tid, e.Pool, e.Feature, string(e.Kind), e.Units, inUse, e.At, e.Lease, e.Contract, e.Instance}}
}

// atLevelStmt records an event that changes nothing in use (a renewal) at
// the feature's current level.
func (e leaseEvent) atLevelStmt(tid string) Stmt {
	return Stmt{`INSERT INTO usage_events (tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id)
		SELECT tenant_id, pool_id, feature, ?, ?, in_use, ?, ?, ?, ? FROM pool_features
		WHERE tenant_id = ? AND pool_id = ? AND feature = ?`,
		[]any{string(e.Kind), e.Units, e.At, e.Lease, e.Contract, e.Instance, tid, e.Pool, e.Feature}}
}

// freeStmts give e.Units back to the pool and record e at the level that
// leaves: two statements that need nothing from each other, so that an
// engine sends a lease's frees in one round trip.
func (e leaseEvent) freeStmts(tid string) [2]Stmt {
	return [2]Stmt{
		{`UPDATE pool_features SET in_use = in_use - ? WHERE tenant_id = ? AND pool_id = ? AND feature = ?`,
			[]any{e.Units, tid, e.Pool, e.Feature}},
		e.atLevelStmt(tid),
	}
}

// freeAll runs stmts (already queued statements, such as the update of a
// shrunk lease) and then the frees of evs, in one round trip where the
// engine can.
func freeAll(ctx context.Context, tx Conn, tid string, stmts []Stmt, evs []leaseEvent) error {
	skip := len(stmts)
	for _, e := range evs {
		f := e.freeStmts(tid)
		stmts = append(stmts, f[0], f[1])
	}
	if len(stmts) == 0 {
		return nil
	}
	affected, _, err := ExecStmts(ctx, tx, stmts)
	if err != nil {
		return err
	}
	for i, e := range evs {
		if affected[skip+2*i] != 1 {
			return fmt.Errorf("free %d units of %s in pool %s: the pool has no such feature", e.Units, e.Feature, e.Pool)
		}
	}
	return nil
}
