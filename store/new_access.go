package store

import (
	"context"
	"fmt"
	"time"

	"github.com/licensor/licensor"
)

// NewToken readies t: in the scoped tenant, or, for an operator token, in no
// tenant at all (no scope needed; t.TenantID and t.ContractID must be
// empty). It returns the tenant, "" for the operator. EINVALID for an
// operator token with a tenant or contract, or made inside a tenant's scope.
func NewToken(ctx context.Context, t *licensor.Token, now func() time.Time) (string, error) {
	tid := ""
	if t.Role == licensor.RoleOperator {
		if t.TenantID != "" || t.ContractID != "" {
			return "", licensor.Errorf(licensor.EINVALID, "an operator token belongs to no tenant and no contract")
		}
		if scope, ok := licensor.TenantFrom(ctx); ok {
			return "", licensor.Errorf(licensor.EINVALID, "an operator token cannot be created inside tenant %s's scope", scope)
		}
	} else {
		var err error
		if tid, err = ClaimTenant(ctx, &t.TenantID); err != nil {
			return "", err
		}
	}
	if t.ID == "" {
		t.ID = licensor.NewID(licensor.PrefixToken)
	}
	t.CreatedAt = Stamp(t.CreatedAt, now)
	t.ExpiresAt, t.RevokedAt = Norm(t.ExpiresAt), Norm(t.RevokedAt)
	return tid, nil
}

// TokenConstraints says what a failed constraint of t's INSERT means. (A
// missing contract of an existing tenant each store tells apart its own
// way.)
func TokenConstraints(t *licensor.Token) Messages {
	return Messages{
		PrimaryKey: fmt.Sprintf("token %s already exists", t.ID),
		Unique:     "a token with the same secret already exists",
		ForeignKey: TenantNotFoundMessage(t.TenantID),
	}
}

// NewSigningKey readies k in the scoped tenant, which it returns.
func NewSigningKey(ctx context.Context, k *licensor.SigningKey, now func() time.Time) (string, error) {
	tid, err := ClaimTenant(ctx, &k.TenantID)
	if err != nil {
		return "", err
	}
	if k.ID == "" {
		k.ID = licensor.NewID(licensor.PrefixKey)
	}
	k.CreatedAt = Stamp(k.CreatedAt, now)
	k.PublishUntil = Norm(k.PublishUntil)
	if k.ActivateAt = Norm(k.ActivateAt); k.ActivateAt.Before(k.CreatedAt) {
		k.ActivateAt = k.CreatedAt
	}
	return tid, nil
}

// SigningKeyConstraints says what a failed constraint of k's INSERT means.
func SigningKeyConstraints(k *licensor.SigningKey) Messages {
	return Messages{
		PrimaryKey: fmt.Sprintf("signing key %s already exists", k.ID),
		ForeignKey: TenantNotFoundMessage(k.TenantID),
	}
}

// NewAuditEntry readies e for e.TenantID's log, or the operator's if it is
// empty. It needs no scope; with one, e must belong to it (ENOTFOUND
// otherwise, as for any other tenant).
func NewAuditEntry(ctx context.Context, e *licensor.AuditEntry, now func() time.Time) error {
	if e.TenantID != "" && !TenantVisible(ctx, e.TenantID) {
		return TenantNotFound(e.TenantID)
	}
	if e.ID == "" {
		e.ID = licensor.NewID(licensor.PrefixAudit)
	}
	e.At = Stamp(e.At, now)
	return nil
}

// AuditConstraints says what a failed constraint of e's INSERT means.
func AuditConstraints(e *licensor.AuditEntry) Messages {
	return Messages{
		PrimaryKey: fmt.Sprintf("audit entry %s already exists", e.ID),
		ForeignKey: TenantNotFoundMessage(e.TenantID),
	}
}
