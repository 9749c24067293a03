package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/licensor/licensor"
)

// takeTx is one capability request's view of its store transaction on one
// pool: the statements takeCapabilities runs, in the store's SQL.
type takeTx interface {
	// Savepoint, RollbackTo and Release open, undo to and close the
	// savepoint of a request that may have to be undone.
	Savepoint(ctx context.Context) error
	RollbackTo(ctx context.Context) error
	Release(ctx context.Context) error
	// TakeUnits takes n units of feature if the pool's limit (its size
	// plus its overdraft) allows it, with the limit in the UPDATE's
	// condition, and returns the units in use after and how many of the n
	// are beyond the pool's size.
	TakeUnits(ctx context.Context, feature string, n int64) (inUse, over int64, ok bool, err error)
	// Level returns the units the feature may have in use (its maximum
	// plus its overdraft) and has in use; found is false when the pool (of
	// this tenant) has no such feature.
	Level(ctx context.Context, feature string) (maxUnits, inUse int64, found bool, err error)
	// Missing is the error for a feature Level did not find: ENOTFOUND
	// when the pool is not the tenant's, else EINVALID.
	Missing(ctx context.Context, feature string) error
	// NextRelease returns when the soonest lease of the pool holding
	// feature ends (zero if none).
	NextRelease(ctx context.Context, feature string) (time.Time, error)
	// ExpirePool frees the pool's leases that have expired by the
	// request's time, recording their expiry.
	ExpirePool(ctx context.Context) error
}

// takenUnits is what takeCapabilities decided.
type takenUnits struct {
	Result  licensor.TakeResult // Granted and Shortages; no Lease yet
	Granted []licensor.Units    // what the lease will hold
	InUse   []int64             // the units in use of each granted feature after its take
	Overage []licensor.Units    // the granted units beyond the pool's size, by feature
	Levels  []int64             // the units in use of each shortage's feature after the request
}

// takeCapabilities takes t's units, all or nothing unless t.AllowPartial, and undoes
// the takes of a preview or a denial. A savepoint is opened only when there
// is something to undo: with one feature, a failed take has changed
// nothing. Expired leases are the reaper's, but a request is never denied
// while they hold the units: on its first shortage the request frees the
// pool's expired leases (outside its savepoint, so that they stay freed
// whatever the answer) and runs again, once. An error leaves the request
// half done: the store's transaction (or its savepoint) must undo it.
func takeCapabilities(ctx context.Context, tx takeTx, t licensor.Take) (*takenUnits, error) {
	undoable := len(t.Units) > 1 || t.Preview
	for expired := false; ; expired = true {
		if undoable {
			if err := tx.Savepoint(ctx); err != nil {
				return nil, err
			}
		}
		tk, short, err := takeAttempt(ctx, tx, t, !expired)
		if err != nil {
			return nil, err
		}
		if short {
			// Undo what this attempt took, free the expired leases, retry.
			if undoable {
				if err := tx.RollbackTo(ctx); err != nil {
					return nil, err
				}
				if err := tx.Release(ctx); err != nil {
					return nil, err
				}
			}
			if err := tx.ExpirePool(ctx); err != nil {
				return nil, err
			}
			continue
		}
		tk.Result.Granted = len(tk.Result.Shortages) == 0 || (t.AllowPartial && len(tk.Granted) > 0)
		if undoable {
			if t.Preview || !tk.Result.Granted {
				if err := tx.RollbackTo(ctx); err != nil {
					return nil, err
				}
			}
			if err := tx.Release(ctx); err != nil {
				return nil, err
			}
		}
		return tk, nil
	}
}

// attempt runs the request once. With stopShort it stops at the first
// feature that is short and reports short.
func takeAttempt(ctx context.Context, tx takeTx, t licensor.Take, stopShort bool) (*takenUnits, bool, error) {
	tk := &takenUnits{}
	for _, u := range t.Units {
		n, over, ok, err := tx.TakeUnits(ctx, u.Feature, u.Units)
		if err != nil {
			return nil, false, err
		}
		if ok {
			tk.granted(u, n, over)
			continue
		}
		maxUnits, cur, found, err := tx.Level(ctx, u.Feature)
		if err != nil {
			return nil, false, err
		}
		if !found {
			return nil, false, tx.Missing(ctx, u.Feature)
		}
		avail := max(0, maxUnits-cur)
		// Units free enough that the take still failed are held for the
		// requests waiting ahead in the pool's queue: freeing expired
		// leases would not help, and this request can have none of them.
		queued := avail >= u.Units
		if stopShort && !queued {
			return nil, true, nil
		}
		if queued {
			avail = 0
		}
		next, err := tx.NextRelease(ctx, u.Feature)
		if err != nil {
			return nil, false, err
		}
		tk.Result.Shortages = append(tk.Result.Shortages, licensor.Shortage{
			Feature: u.Feature, Requested: u.Units, Available: avail, Short: u.Units - avail, NextRelease: next, Queued: queued,
		})
		level := cur
		if t.AllowPartial && avail > 0 {
			n, over, ok, err := tx.TakeUnits(ctx, u.Feature, avail)
			if err != nil {
				return nil, false, err
			}
			if ok {
				tk.granted(licensor.Units{Feature: u.Feature, Units: avail}, n, over)
				level = n
			}
		}
		tk.Levels = append(tk.Levels, level)
	}
	return tk, false, nil
}

// granted records a take of u that left inUse in use, over of it beyond
// the pool's size.
func (tk *takenUnits) granted(u licensor.Units, inUse, over int64) {
	tk.Granted = append(tk.Granted, u)
	tk.InUse = append(tk.InUse, inUse)
	if over > 0 {
		tk.Overage = append(tk.Overage, licensor.Units{Feature: u.Feature, Units: over})
	}
}

// replay is the stored answer (fingerprint, answer JSON) to an earlier
// request with t's request id: the answer, marked Replayed, or ECONFLICT
// if that request asked for something else. The stores read the row; this
// is what it means.
func replay(t licensor.Take, fingerprint string, answer []byte) (*licensor.TakeResult, error) {
	if fingerprint != t.Fingerprint {
		return nil, licensor.Errorf(licensor.ECONFLICT, "request id %q was already used for a different request; use a new id for a new request", t.RequestID)
	}
	res := new(licensor.TakeResult)
	if err := json.Unmarshal(answer, res); err != nil {
		return nil, licensor.Internal("TakeCapabilities", err)
	}
	res.Replayed = true
	return res, nil
}
