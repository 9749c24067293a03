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
	Read() Conn
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
