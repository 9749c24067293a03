package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// A new instance's first check-in, as one batch (like a lease grant,
// lease_shortcut.go): BEGIN, the contract's row lock, one statement that
// counts a seat (or a non-production slot) if one is free and inserts the
// instance from that row, COMMIT without waiting for the WAL flush, then
// the flush. One round trip, and the contract's row locked only while
// PostgreSQL runs the statements. The general path (store.Checkin.Tx)
// holds that row across two round trips and the flush, so that the new
// instances of one contract arriving together — a deploy, an autoscaler,
// CI runners — queued on it: ~460 a second on the VM of BENCHMARKS.md.
//
// The statement writes all or nothing. With no seat free it inserts
// nothing, and the general path answers EEXHAUSTED. An instance that
// exists (one that lost its seat, or one created by an earlier check-in in
// the same group) writes nothing either, without an error, and the
// general path decides it; only one created by another server between the
// statement's check and its INSERT fails the INSERT, which rolls the seat
// back. An answered check-in is as durable as on the general path: the
// server answers only after the flush.
//
// The new instances of one contract that reach a server while one of its
// batches runs go out together, as one transaction with one flush, the
// way one pool's grants do (lease_group.go): each statement decides its
// own instance as it would alone.

// newInstanceSQL is the statement for a contract's counter and its limit:
// seats_used under max_seats, or nonprod_used under max_nonprod_urls.
func newInstanceSQL(used, limit string) string {
	return `WITH s AS (
	UPDATE contracts SET ` + used + ` = ` + used + ` + 1
	WHERE tenant_id = $1 AND id = $2 AND (` + limit + ` = 0 OR ` + used + ` < ` + limit + `)
	AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.tenant_id = $1 AND i.contract_id = $2 AND i.instance_id = $3)
	RETURNING 1)
INSERT INTO instances (` + store.InstanceCols + `, last_seen_hour, license_expires_hour)
SELECT $1, $2, $3::text, $4::boolean, NOT $4::boolean, $5::text, $6::text, $7::text, $8::bigint, $8::bigint,
	$9::text, $10::bigint, 0, '', 0, $11::text, $12::bigint, $13::bigint FROM s
RETURNING ` + store.InstanceCols
}

var (
	newSeatInstanceSQL    = newInstanceSQL("seats_used", "max_seats")
	newNonProdInstanceSQL = newInstanceSQL("nonprod_used", "max_nonprod_urls")
)

// newInstanceFlushSQL is flushSQL only when the instance exists: after a
// statement that wrote nothing, the general path that answers waits for
// its own flush.
const newInstanceFlushSQL = flushSQL + ` WHERE EXISTS (SELECT 1 FROM instances
	WHERE tenant_id = $1 AND contract_id = $2 AND instance_id = $3)`

// checkinNewGrouped runs c, a check-in without telemetry of an instance
// that was not found, with the others of its contract that wait
// (lease_group.go, where the group runs), or alone. done false: nothing
// was written, and the general path is to run.
func (e *engine) checkinNewGrouped(ctx context.Context, c *store.Checkin) (inst *licensor.Instance, done bool, err error) {
	op := &groupOp{key: groupKey{tenant: c.Tenant, id: c.ContractID, contract: true}, checkin: c}
	done, err = e.run(ctx, op)
	return op.inst, done, err
}

// newInstanceStatement is c's statement and its arguments.
func newInstanceStatement(c *store.Checkin) (string, []any) {
	q := newNonProdInstanceSQL
	if c.TakesSeat {
		q = newSeatInstanceSQL
	}
	expires := store.Micros(c.LicenseExpiresAt)
	return q, []any{c.Tenant, c.ContractID, c.InstanceID, c.TakesSeat, c.Environment, c.Host, c.RemoteAddr,
		c.Now, c.LicenseID, expires, c.Fingerprint, store.HourOf(c.Now), store.HourOf(expires)}
}

// scanInstance reads a new instance's statement's row.
func scanInstance(r pgx.Row) (any, error) { return store.ScanInstance(r) }

// checkinNew runs c alone, as one batch; committed, if not nil, is called
// once it has committed, before the flush.
func (e *engine) checkinNew(ctx context.Context, c *store.Checkin, committed func()) (inst *licensor.Instance, done bool, err error) {
	q, args := newInstanceStatement(c)
	rows, _, err := e.sendTx(ctx, txShape{
		lock:  stmt{lockContractSQL, []any{c.Tenant, c.ContractID}},
		stmts: []stmt{{q, args}},
		flush: stmt{newInstanceFlushSQL, []any{c.Tenant, c.ContractID, c.InstanceID}},
	}, scanInstance, nil, committed)
	if rows == nil || rows[0] == nil {
		// Also when the batch's results were lost: the general path finds
		// the instance if the batch created it, and an instance is never
		// created twice (its key).
		return nil, false, nil
	}
	return rows[0].(*licensor.Instance), true, err
}
