// Readying a record for INSERT, the same for both engines: the tenant the
// context is scoped to (ClaimTenant), an id if it has none, times as the
// store keeps them (UTC, microseconds; the clock where the caller left one
// zero). Beside each, a ...Constraints function says what a failed
// constraint of that INSERT means. The caller's record is changed in place:
// it gets back the id and times that were stored. Validation (a name's
// length, an id's form) is the domain's and the service's, not this.

package store

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// scoped readies the part every record of a tenant shares: its tenant, its
// id (a new one with prefix if empty) and its creation time.
func scoped(ctx context.Context, tenantID, id *string, prefix string, created *time.Time, now func() time.Time) (string, error) {
	tid, err := ClaimTenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	if *id == "" {
		*id = licensor.NewID(prefix)
	}
	*created = Stamp(*created, now)
	return tid, nil
}

// updated makes a new record's update time its creation time when the
// caller left it zero, as the stores keep it.
func updated(created time.Time, updated *time.Time) {
	if updated.IsZero() {
		*updated = created
	}
	*updated = Norm(*updated)
}
