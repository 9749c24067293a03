package store

import (
	"context"

	"github.com/licensor/licensor"
)

// CheckinEngine is an Engine that commits check-ins its own way: GetLicense
// checks an instance in on every call, so this is the store's hottest
// write. An engine without it runs each check-in in a transaction of its
// own (Engine.Write).
//
// The engines' ways: SQLite answers a refresh that decides nothing (the
// instance exists and keeps its seat, no telemetry) from memory and writes
// it behind, and runs the other check-ins in group commits on its single
// writer; PostgreSQL runs such a refresh as one statement (Checkin.Refresh)
// on connections that do not wait for the WAL flush. Either way every
// check-in that takes a seat or inserts an instance runs Checkin.Tx, the
// one transaction written here, and has committed before it answers.
type CheckinEngine interface {
	// Checkin commits c and returns the instance as it left it: by
	// running c.Tx, the check-in's transaction, in a write transaction
	// (more than once if the engine retries), or by a refresh that needs
	// no transaction (c.Refresh, or the engine's own). c comes by value so
	// that a check-in answered without a transaction allocates nothing for
	// it.
	Checkin(ctx context.Context, c Checkin) (*licensor.Instance, error)
}

// Checkin is one check-in as the store runs it: the caller's
// licensor.Checkin with its tenant and its times in the stored units, and
// the instance it leaves.
type Checkin struct {
	licensor.Checkin
	Tenant string
	// Now is the check-in's time and Window the clone window, both in
	// microseconds.
	Now, Window int64
	// Instance is the instance as the check-in left it, set by Refresh or
	// by the transaction.
	Instance *licensor.Instance

	db *DB
}
