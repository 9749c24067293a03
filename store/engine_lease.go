package store

import "context"

// GroupWriter is an Engine that commits many small writes together: SQLite
// runs capability requests and check-ins of many callers in one
// transaction on its single writer, each under its own savepoint, and
// answers each once that transaction has committed (group commit). fn runs
// with the engine's context, not the caller's.
type GroupWriter interface {
	WriteGrouped(ctx context.Context, op string, fn func(ctx context.Context, tx Conn) error) error
}

// writeGrouped runs fn in a write transaction, shared with other callers
// where the engine groups writes, and translates its error.
func (db *DB) writeGrouped(ctx context.Context, op string, fn func(ctx context.Context, tx Conn) error) error {
	if g, ok := db.eng.(GroupWriter); ok {
		return db.Final(op, g.WriteGrouped(ctx, op, fn))
	}
	return db.write(ctx, op, func(tx Conn) error { return fn(ctx, tx) })
}

// lockLeasePool takes the lock of lease id's pool in tx where the engine
// needs one. ENOTFOUND there for a lease that does not exist.
func (db *DB) lockLeasePool(ctx context.Context, tx Conn, tid, id string) error {
	if l, ok := db.eng.(PoolLocker); ok {
		return l.LockLeasePool(ctx, tx, tid, id)
	}
	return nil
}
