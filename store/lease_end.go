package store

import (
	"context"
	"math"
	"time"

	"github.com/licensor/licensor"
)

// leaseRow is what a delete of a lease returns: its pool, holder and units
// column (formatUnits).
type leaseRow struct {
	Pool, Contract, Instance, Units string
}

// endTx is one tenant's view of a store transaction that ends leases: the
// statements endLease and expireLeases run, in the store's SQL.
type endTx interface {
	// DeleteLease deletes lease id and returns its row; found is false
	// when there was none to delete.
	DeleteLease(ctx context.Context, id string) (row leaseRow, found bool, err error)
	// DeleteExpired deletes lease id only if it expired at or before now,
	// as DeleteLease.
	DeleteExpired(ctx context.Context, id string, now int64) (row leaseRow, found bool, err error)
	// Free gives each event's units back to its pool and records the
	// event, with the feature's units in use after it, in order. evs may
	// be empty.
	Free(ctx context.Context, evs []leaseEvent) error
}

// lifeTx is endTx and the statements of a granted lease's own calls:
// return and renewal.
type lifeTx interface {
	endTx
	// DeleteLive deletes lease id only if contractID's instanceID holds it
	// and it expires after now, as DeleteLease; the row's Contract and
	// Instance are the caller's.
	DeleteLive(ctx context.Context, id, contractID, instanceID string, now int64) (row leaseRow, found bool, err error)
	// GetLease returns the tenant's lease id: ENOTFOUND if there is none.
	GetLease(ctx context.Context, id string) (*licensor.Lease, error)
	// Shrink sets the units column of lease id to units and frees evs, as
	// Free does (in one round trip where the engine can).
	Shrink(ctx context.Context, id, units string, evs []leaseEvent) error
}

// returnLease gives back r's units of lease r.LeaseID at now: all of them when
// r.Units is empty. Returning a whole live lease, the usual case, is one
// conditional delete and the frees; anything else (some units, an expired
// lease, someone else's) reads the lease first. left is what remains of a
// lease returned in part, nil when the lease ended. A lease that had
// expired is ended as expired and reported in expired (EPRECONDITION), an
// answer for the caller once the transaction has committed; err is for
// the transaction, which must not commit.
func returnLease(ctx context.Context, tx lifeTx, r licensor.LeaseReturn, now int64) (left *licensor.Lease, expired, err error) {
	if len(r.Units) == 0 {
		row, found, err := tx.DeleteLive(ctx, r.LeaseID, r.ContractID, r.InstanceID, now)
		if err != nil {
			return nil, nil, err
		}
		if found {
			return nil, nil, freeLease(ctx, tx, licensor.UsageReturn, r.LeaseID, row, now)
		}
	}
	l, err := callersLease(ctx, tx, r.LeaseID, r.ContractID, r.InstanceID)
	if err != nil {
		return nil, nil, err
	}
	if Micros(l.ExpiresAt) <= now {
		if _, err := endLease(ctx, tx, l.ID, licensor.UsageExpire, now); err != nil {
			return nil, nil, err
		}
		return nil, licensor.Errorf(licensor.EPRECONDITION, "lease %s expired at %s; its units are already back in the pool", l.ID, l.ExpiresAt.Format(time.RFC3339)), nil
	}
	rest, err := remainingUnits(l, r.Units)
	if err != nil {
		return nil, nil, err
	}
	if len(rest) == 0 {
		_, err := endLease(ctx, tx, l.ID, licensor.UsageReturn, now)
		return nil, nil, err
	}
	// The events are the units given back, in the order asked for.
	evs := make([]leaseEvent, 0, len(r.Units))
	for _, u := range r.Units {
		evs = append(evs, leaseEvent{Kind: licensor.UsageReturn, Pool: l.PoolID, Feature: u.Feature, Units: u.Units, At: now,
			Lease: l.ID, Contract: l.ContractID, Instance: l.InstanceID})
	}
	if err := tx.Shrink(ctx, l.ID, formatUnits(rest), evs); err != nil {
		return nil, nil, err
	}
	l.Units = rest
	l.Overage = heldOverage(l.Overage, l)
	return l, nil, nil
}

// notAfter is a renewal's cap on the new expiry in the stores' unit
// (microseconds since the epoch): t, or the largest value when t is zero.
func notAfter(t time.Time) int64 {
	if t.IsZero() {
		return math.MaxInt64
	}
	return Micros(t)
}

// notRenewed answers a renewal of lease r.LeaseID whose conditional update
// found no live lease of the caller's: a lease that is not the caller's
// (or none) is ENOTFOUND in err; the caller's has expired, so it is ended
// as expired and reported in expired (EPRECONDITION), as in returnLease.
func notRenewed(ctx context.Context, tx lifeTx, r licensor.LeaseRenewal, now int64) (expired, err error) {
	l, err := callersLease(ctx, tx, r.LeaseID, r.ContractID, r.InstanceID)
	if err != nil {
		return nil, err
	}
	if _, err := endLease(ctx, tx, l.ID, licensor.UsageExpire, now); err != nil {
		return nil, err
	}
	return licensor.Errorf(licensor.EPRECONDITION, "lease %s expired at %s; request the capabilities again", l.ID, l.ExpiresAt.Format(time.RFC3339)), nil
}

// callersLease returns a lease only if it belongs to the calling contract
// and instance: anyone else's lease does not exist for them.
func callersLease(ctx context.Context, tx lifeTx, id, contractID, instanceID string) (*licensor.Lease, error) {
	l, err := tx.GetLease(ctx, id)
	if err != nil {
		return nil, err
	}
	if l.ContractID != contractID || l.InstanceID != instanceID {
		return nil, licensor.Errorf(licensor.ENOTFOUND, "lease %s not found", id)
	}
	return l, nil
}

// releaseLease ends lease id at once, an administrator's release. ENOTFOUND.
func releaseLease(ctx context.Context, tx endTx, id string, now int64) error {
	ended, err := endLease(ctx, tx, id, licensor.UsageRelease, now)
	if err == nil && !ended {
		return licensor.Errorf(licensor.ENOTFOUND, "lease %s not found", id)
	}
	return err
}

// expireLeases ends, in order, those of leases ids that have expired at now,
// and returns how many it ended: another transaction may have freed or
// renewed some since they were found. After an error it returns how many
// it had ended before it.
func expireLeases(ctx context.Context, tx endTx, ids []string, now int64) (int, error) {
	n := 0
	for _, id := range ids {
		ended, err := endLease(ctx, tx, id, licensor.UsageExpire, now)
		if err != nil {
			return n, err
		}
		if ended {
			n++
		}
	}
	return n, nil
}

// endLease deletes lease id and gives its units back to its pool, recording
// kind. For UsageExpire the delete is conditional on the lease having
// expired at now, so a lease renewed meanwhile stays. The conditional
// delete is the one guard against freeing a lease twice: whoever deletes
// the row frees its units; anyone else finds no row, frees nothing and
// gets ended false.
func endLease(ctx context.Context, tx endTx, id string, kind licensor.UsageKind, now int64) (ended bool, err error) {
	var row leaseRow
	var found bool
	if kind == licensor.UsageExpire {
		row, found, err = tx.DeleteExpired(ctx, id, now)
	} else {
		row, found, err = tx.DeleteLease(ctx, id)
	}
	if err != nil || !found {
		return false, err
	}
	return true, freeLease(ctx, tx, kind, id, row, now)
}

// freeLease gives the units of deleted lease id (its row) back to the pool,
// recording kind, feature by feature in the units column's order (by name).
func freeLease(ctx context.Context, tx endTx, kind licensor.UsageKind, id string, row leaseRow, now int64) error {
	us, err := parseUnits(row.Units)
	if err != nil {
		return err
	}
	evs := make([]leaseEvent, 0, len(us))
	for _, u := range us {
		evs = append(evs, leaseEvent{Kind: kind, Pool: row.Pool, Feature: u.Feature, Units: u.Units, At: now,
			Lease: id, Contract: row.Contract, Instance: row.Instance})
	}
	return tx.Free(ctx, evs)
}
