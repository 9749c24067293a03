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

// InstanceEngine is an Engine that keeps check-ins or instances outside
// the database for a while (SQLite's write-behind): reads of instances
// sync it first, and writes that change instances otherwise than by a
// check-in tell it so.
type InstanceEngine interface {
	// Sync makes every write that has answered visible to Read.
	Sync(ctx context.Context) error
	// InstancesChanged tells the engine that a write other than a
	// check-in changed instance rows, so that copies it keeps are not
	// trusted any more.
	InstancesChanged()
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

// syncInstances makes queued check-ins visible to a read of instances.
func (db *DB) syncInstances(ctx context.Context) error {
	if ie, ok := db.eng.(InstanceEngine); ok {
		return ie.Sync(ctx)
	}
	return nil
}

// instancesChanged tells the engine that instance rows changed otherwise
// than by a check-in.
func (db *DB) instancesChanged() {
	if ie, ok := db.eng.(InstanceEngine); ok {
		ie.InstancesChanged()
	}
}
