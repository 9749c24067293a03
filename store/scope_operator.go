package store

import (
	"context"

	"github.com/licensor/licensor"
)

// Unscoped reports whether ctx carries no tenant scope: only then does a
// store answer about the operator's own objects (operator tokens). From
// inside a tenant's scope they are as absent as another tenant's objects.
func Unscoped(ctx context.Context) bool {
	_, scoped := licensor.TenantFrom(ctx)
	return !scoped
}

// OperatorTokenNotFound is the answer about an operator token that does
// not exist, is a tenant's, or was asked for from a tenant's scope.
func OperatorTokenNotFound(id string) error {
	return &licensor.Error{Code: licensor.ENOTFOUND, Message: "operator token " + id + " not found"}
}

// LastOperatorToken is the refusal to revoke the only live operator token:
// with none left, nobody could create a tenant or another operator token
// without editing the database.
func LastOperatorToken(id string) error {
	return &licensor.Error{Code: licensor.EPRECONDITION,
		Message: "token " + id + " is the last live operator token: create another operator token first, then revoke this one"}
}
