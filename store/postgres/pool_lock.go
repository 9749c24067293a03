package postgres

import (
	"context"

	"github.com/licensor/licensor/store"
)

var _ store.PoolLocker = (*engine)(nil)

// lockPoolSQL takes the pool's transaction-scoped advisory lock. Every
// change to a pool's units holds it, on whichever server it runs, and takes
// lease row locks only under it: changes to one pool queue here instead of
// deadlocking on rows, and its usage events get their numbers in commit
// order. (Two keys, tenant and pool, in the two-int4 key space, which never
// meets the migration lock's bigint one.)
const lockPoolSQL = `SELECT pg_advisory_xact_lock(hashtext(?), hashtext(?))`

// lockLeasePoolSQL takes the lock of a lease's pool: no row if there is
// no such lease.
const lockLeasePoolSQL = `SELECT pg_advisory_xact_lock(hashtext(tenant_id), hashtext(pool_id)) IS NOT NULL
	FROM leases WHERE tenant_id = ? AND id = ?`

// LockPool takes the pool's lock in tx (store.PoolLocker).
func (e *engine) LockPool(ctx context.Context, tx store.Conn, tid, poolID string) error {
	if lc, ok := tx.(*leaseConn); ok {
		// It goes out with the transaction's next statement.
		lc.later(nil, lockPoolSQL, tid, poolID)
		return nil
	}
	_, err := tx.Exec(ctx, lockPoolSQL, tid, poolID)
	return err
}

// LockLeasePool takes the lock of lease id's pool in one round trip with
// finding the pool, which never changes for a lease (store.PoolLocker).
func (e *engine) LockLeasePool(ctx context.Context, tx store.Conn, tid, id string) error {
	if lc, ok := tx.(*leaseConn); ok {
		// It goes out with the transaction's next statement, which fails
		// with ENOTFOUND if it found no lease.
		lc.later(func(rows int64) error {
			if rows == 0 {
				return store.LeaseNotFound(id)
			}
			return nil
		}, lockLeasePoolSQL, tid, id)
		return nil
	}
	var locked bool
	err := tx.QueryRow(ctx, lockLeasePoolSQL, tid, id).Scan(&locked)
	if store.NoRows(err) {
		return store.LeaseNotFound(id)
	}
	return err
}
