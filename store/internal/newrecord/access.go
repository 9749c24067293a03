package newrecord

import (
	"context"
	"fmt"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// Token readies t: in the scoped tenant, or, for an operator token, in no
// tenant at all (no scope needed; t.TenantID and t.ContractID must be
// empty). It returns the tenant, "" for the operator. EINVALID for an
// operator token with a tenant or contract, or a token without a hash.
func Token(ctx context.Context, t *licensor.Token, now func() time.Time) (string, error) {
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
		if tid, err = store.ClaimTenant(ctx, &t.TenantID); err != nil {
			return "", err
		}
	}
	if len(t.Hash) == 0 {
		return "", licensor.Errorf(licensor.EINVALID, "token hash is required")
	}
	if t.ID == "" {
		t.ID = licensor.NewID(licensor.PrefixToken)
	}
	t.CreatedAt = store.Stamp(t.CreatedAt, now)
	t.ExpiresAt, t.RevokedAt = store.Norm(t.ExpiresAt), store.Norm(t.RevokedAt)
	return tid, nil
}

// TokenConstraints says what a failed constraint of t's INSERT means. (A
// missing contract of an existing tenant each store tells apart its own
// way.)
func TokenConstraints(t *licensor.Token) store.Messages {
	return store.Messages{
		PrimaryKey: fmt.Sprintf("token %s already exists", t.ID),
		Unique:     "a token with the same secret already exists",
		ForeignKey: store.TenantNotFoundMessage(t.TenantID),
	}
}

// SigningKey readies k in the scoped tenant, which it returns. EINVALID
// for a key retired already.
func SigningKey(ctx context.Context, k *licensor.SigningKey, now func() time.Time) (string, error) {
	tid, err := store.ClaimTenant(ctx, &k.TenantID)
	if err != nil {
		return "", err
	}
	if !k.RetiredAt.IsZero() {
		return "", licensor.Errorf(licensor.EINVALID, "a new signing key cannot be retired already")
	}
	if k.ID == "" {
		k.ID = licensor.NewID(licensor.PrefixKey)
	}
	k.CreatedAt = store.Stamp(k.CreatedAt, now)
	k.PublishUntil = store.Norm(k.PublishUntil)
	return tid, nil
}

// SigningKeyConstraints says what a failed constraint of k's INSERT means.
func SigningKeyConstraints(k *licensor.SigningKey) store.Messages {
	return store.Messages{
		PrimaryKey: fmt.Sprintf("signing key %s already exists", k.ID),
		ForeignKey: store.TenantNotFoundMessage(k.TenantID),
	}
}

// AuditEntry readies e for e.TenantID's log, or the operator's if it is
// empty. It needs no scope; with one, e must belong to it (ENOTFOUND
// otherwise, as for any other tenant).
func AuditEntry(ctx context.Context, e *licensor.AuditEntry, now func() time.Time) error {
	if e.TenantID != "" && !store.TenantVisible(ctx, e.TenantID) {
		return store.TenantNotFound(e.TenantID)
	}
	if e.ID == "" {
		e.ID = licensor.NewID(licensor.PrefixAudit)
	}
	e.At = store.Stamp(e.At, now)
	return nil
}

// AuditConstraints says what a failed constraint of e's INSERT means.
func AuditConstraints(e *licensor.AuditEntry) store.Messages {
	return store.Messages{
		PrimaryKey: fmt.Sprintf("audit entry %s already exists", e.ID),
		ForeignKey: store.TenantNotFoundMessage(e.TenantID),
	}
}
