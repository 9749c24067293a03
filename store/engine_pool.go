package store

import (
	"context"

	"github.com/licensor/licensor"
)

// PoolLocker is an Engine on which transactions run side by side and must
// queue for a pool: every change to a pool's units (a grant, a return, a
// resize, the reaper) holds the pool's lock until its transaction ends, so
// that changes to one pool never deadlock on its rows and its usage events
// are numbered in commit order. PostgreSQL takes an advisory lock; SQLite,
// whose one writer runs one transaction at a time, needs none.
type PoolLocker interface {
	// LockPool takes pool poolID's lock in tx until tx ends.
	LockPool(ctx context.Context, tx Conn, tid, poolID string) error
	// LockLeasePool takes the lock of the pool of lease id in tx until tx
	// ends. ENOTFOUND (LeaseNotFound) for a lease that does not exist.
	LockLeasePool(ctx context.Context, tx Conn, tid, id string) error
}

// lockPool takes a pool's lock in tx where the engine needs one.
func (db *DB) lockPool(ctx context.Context, tx Conn, tid, poolID string) error {
	if l, ok := db.eng.(PoolLocker); ok {
		return l.LockPool(ctx, tx, tid, poolID)
	}
	return nil
}

// LeaseNotFound is the error of a lease that does not exist.
func LeaseNotFound(id string) error {
	return licensor.Errorf(licensor.ENOTFOUND, "lease %s not found", id)
}
