package store

import (
	"context"
	"errors"
)

// Engine is what an engine package (store/sqlite, store/postgres) gives the
// shared store: where reads run and how a write commits. Each engine's
// speed-ups live behind these hooks, never in a copy of a statement:
// SQLite's reads run on prepared statements of its query_only pool and its
// writes on its single writer (statements prepared on first sight, group
// commit for check-ins); PostgreSQL's writes run at READ COMMITTED and are
// retried on a lost race.
type Engine interface {
	// Read returns the connection that reads outside a transaction run on.
	// Its statements may be prepared and cached by query text (SQLite), so
	// it is for queries of a few fixed shapes.
	Read() Conn
	// ReadUnprepared returns a connection for reads whose text varies
	// without bound (a histogram's bounds) or that run rarely: nothing is
	// cached for them.
	ReadUnprepared() Conn
	// Snapshot runs fn, which only reads, in one transaction that sees one
	// snapshot of the database: SQLite's read transaction on its reader
	// pool, PostgreSQL's REPEATABLE READ READ ONLY.
	Snapshot(ctx context.Context, fn func(tx Conn) error) error
	// Sync makes every write that has answered visible to Read: SQLite
	// writes queued refreshes (write-behind); PostgreSQL has none.
	Sync(ctx context.Context) error
	// InstancesChanged tells the engine that a write other than a
	// check-in changed instance rows, so that copies it keeps (SQLite's
	// remembered instances) are not trusted any more.
	InstancesChanged()
	// Write runs fn in one write transaction and commits it. fn's
	// *licensor.Error passes through and rolls back; so does any other
	// error, which the shared store then translates (DB.Final). An engine
	// may run fn more than once (PostgreSQL does after a serialization
	// failure, a deadlock or ErrRetry), so fn must start from scratch each
	// time.
	Write(ctx context.Context, op string, fn func(tx Conn) error) error
	// WriteOne runs fn, which writes with one statement, where the engine
	// writes a single statement best: PostgreSQL on its pool outside a
	// transaction (one round trip), SQLite through Write (its one writer).
	WriteOne(ctx context.Context, op string, fn func(c Conn) error) error
}

// ErrRetry, returned from a Write's fn, asks the engine to run the
// transaction again: a concurrent transaction committed what this one was
// about to do (a second active signing key, say), and a second run sees it.
// An engine that serialises its writes (SQLite) never needs it.
var ErrRetry = errors.New("store: retry the transaction")
