package store

import (
	"context"
	"encoding/json"

	"github.com/licensor/licensor"
)

// LeaseShortcut is an Engine that runs the two commonest lease writes each
// as one transaction sent in one round trip, with the pool's lock taken
// and its commit (and the wait for its durability) in the same round trip:
// a capability request for one feature granted whole, and the return of a
// whole live lease. The lock is then held only while the database runs
// the statements, never across a round trip. Anything else, and any case
// the shortcut cannot decide alone (a shortage, an overdraft, a request id
// already answered, an error before the commit), is left to the general
// path, which runs from scratch as if the shortcut had not been tried:
// the shortcut writes all or nothing. PostgreSQL has it; SQLite's group
// commit already sends nothing over a wire.
type LeaseShortcut interface {
	// GrantWhole runs g: it takes g.Units of g.Feature if that keeps the
	// pool within its size (no overdraft) and no live waiter is ahead,
	// and writes the lease, its grant event and, with g.Answer, the kept
	// answer. done is false when it changed nothing (the general path
	// runs); done and no error is a grant that has committed and is
	// durable; done with an error is a failure after the commit was sent,
	// whose outcome the caller cannot know.
	GrantWhole(ctx context.Context, g Grant) (done bool, err error)
	// ReturnWhole deletes the caller's live lease r.LeaseID and gives all
	// its units back, recording a return event per feature, if every
	// feature it holds is still in its pool. done as for GrantWhole; a
	// lease that does not exist is done with ENOTFOUND (LeaseNotFound).
	// waiting, of a return done without error, is whether a live request
	// waited in the pool's queue when it committed (as seen under the
	// pool's lock, so a request that joins later finds the units).
	ReturnWhole(ctx context.Context, tid string, r licensor.LeaseReturn, now int64) (done, waiting bool, err error)
}

// Grant is a whole grant of one feature as LeaseShortcut.GrantWhole runs
// it: the lease's row, its one grant event, and the answer kept under the
// request id (nil when the request has none). Times are in microseconds.
type Grant struct {
	Tenant, Pool, Feature                string
	Units                                int64
	Queue                                int64 // the seqs of live waiters the grant must not pass are below it
	Now, Expires                         int64
	Lease, Contract, Instance, UnitsJSON string
	Borrowed                             bool
	RequestID, Fingerprint               string
	Answer                               []byte
}

// shortcutTake reports whether t is a request the shortcut can answer:
// one feature, granted or denied whole, with nothing to read first.
func shortcutTake(t licensor.Take) bool {
	return len(t.Units) == 1 && !t.Preview && !t.Reservations && t.WaiterID == ""
}

// takeShortcut tries t on the engine's shortcut: res is the answer when
// done, the kept answer of a grant that needed no overdraft.
func (db *DB) takeShortcut(ctx context.Context, s LeaseShortcut, tid string, t licensor.Take, now, expires int64) (res *licensor.TakeResult, done bool, err error) {
	u := t.Units[0]
	leaseID := t.LeaseID
	if leaseID == "" {
		leaseID = licensor.NewID(licensor.PrefixLease)
	}
	l := &licensor.Lease{
		ID: leaseID, TenantID: tid, PoolID: t.PoolID, ContractID: t.ContractID, InstanceID: t.InstanceID,
		Units: []licensor.Units{u}, Borrowed: t.Borrowed,
		CreatedAt: FromMicros(now), RenewedAt: FromMicros(now), ExpiresAt: FromMicros(expires),
	}
	res = &licensor.TakeResult{Granted: true, Lease: l}
	g := Grant{
		Tenant: tid, Pool: t.PoolID, Feature: u.Feature, Units: u.Units, Queue: queueBound(t), Now: now, Expires: expires,
		Lease: leaseID, Contract: t.ContractID, Instance: t.InstanceID, UnitsJSON: formatUnits(l.Units), Borrowed: t.Borrowed,
	}
	if t.RequestID != "" {
		if g.Answer, err = json.Marshal(res); err != nil {
			return nil, false, licensor.Internal("TakeCapabilities", err)
		}
		g.RequestID, g.Fingerprint = t.RequestID, t.Fingerprint
	}
	done, err = s.GrantWhole(ctx, g)
	if !done {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, db.Final("TakeCapabilities", err)
	}
	return res, true, nil
}
