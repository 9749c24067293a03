// Package newrecord readies a record for a store's INSERT the same way in
// both SQL stores: it puts the record in the tenant the context is scoped
// to (store.Claim), checks what the store itself must refuse, gives
// it an id if it has none and its times as the stores keep them (UTC,
// microseconds; the store's clock where the caller left one zero). Beside
// each, a ...Constraints function says what a failed constraint of that
// INSERT means, in the words both stores answer with.
//
// The caller's record is changed in place, as the store methods document:
// it gets back the id and times that were stored. This package must never
// run a statement, and never decide policy (a name's length, a plan's
// limits): that is the service's Validate.
package newrecord

import (
	"context"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// scoped readies the part every record of a tenant shares: its tenant, its
// id (a new one with prefix if empty) and its creation time.
func scoped(ctx context.Context, tenantID, id *string, prefix string, created *time.Time, now func() time.Time) (string, error) {
	tid, err := store.ClaimTenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	if *id == "" {
		*id = licensor.NewID(prefix)
	}
	*created = store.Stamp(*created, now)
	return tid, nil
}

// updated makes a new record's update time its creation time when the
// caller left it zero, as the stores keep it.
func updated(created time.Time, updated *time.Time) {
	if updated.IsZero() {
		*updated = created
	}
	*updated = store.Norm(*updated)
}
