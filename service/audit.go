package service

import (
	"context"

	"github.com/licensor/licensor"
)

// ListAudit lists a tenant's audit entries, newest first; for the operator
// with tenantID empty, the operator's own log (what it did outside any
// tenant, such as managing operator tokens).
func (s *Service) ListAudit(ctx context.Context, tenantID string, f licensor.AuditFilter) ([]*licensor.AuditEntry, error) {
	operatorLog := tenantID == "" && isOperator(ctx)
	if !operatorLog {
		var err error
		if ctx, _, err = s.AdminScope(ctx, tenantID); err != nil {
			return nil, err
		}
	}
	if err := licensor.ValidateAuditObjectType(f.ObjectType); err != nil {
		return nil, err
	}
	for _, v := range []struct{ field, v string }{{"token_id", f.TokenID}, {"object_id", f.ObjectID}} {
		if v.v != "" {
			if err := licensor.ValidateID(v.field, v.v); err != nil {
				return nil, err
			}
		}
	}
	var err error
	if f.ListOptions, err = f.Normalize(); err != nil {
		return nil, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return nil, licensor.Errorf(licensor.EINVALID, "until is before since")
	}
	if operatorLog {
		return s.store.ListOperatorAudit(ctx, f)
	}
	return s.store.ListAudit(ctx, f)
}
