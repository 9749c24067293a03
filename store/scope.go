// The one rule of tenancy: every method on a tenant's data runs in the
// tenant the context is scoped to (licensor.MustTenant), and from inside one
// scope another tenant does not exist, so naming it answers ENOTFOUND with
// the same words as a tenant that really does not exist. Nothing here may
// widen a scope, or let an answer tell an existing other tenant from a
// missing one.

package store

import (
	"context"

	"github.com/licensor/licensor"
)

// NotFound is the answer about a tenant the caller may not see or that
// does not exist: the two are told apart by nobody.
func TenantNotFound(id string) error {
	return &licensor.Error{Code: licensor.ENOTFOUND, Message: TenantNotFoundMessage(id)}
}

// NotFoundMessage is NotFound's message, for a store's words about a
// missing tenant a statement referred to.
func TenantNotFoundMessage(id string) string { return "tenant " + id + " not found" }

// Claim returns the tenant ctx is scoped to and makes *tenantID agree with
// it: an empty one is filled in; another tenant's is ENOTFOUND.
func ClaimTenant(ctx context.Context, tenantID *string) (string, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return "", err
	}
	if *tenantID != "" && *tenantID != tid {
		return "", TenantNotFound(*tenantID)
	}
	*tenantID = tid
	return tid, nil
}

// Visible reports whether ctx may see tenant id: always without a scope
// (the operator), and only its own tenant with one.
func TenantVisible(ctx context.Context, id string) bool {
	scope, ok := licensor.TenantFrom(ctx)
	return !ok || scope == id
}

// List returns the tenant ctx is scoped to and o normalised: the start of
// every list of a tenant's objects.
func TenantList(ctx context.Context, o licensor.ListOptions) (string, licensor.ListOptions, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return "", o, err
	}
	o, err = o.Normalize()
	return tid, o, err
}
