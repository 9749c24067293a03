package service

import (
	"context"

	"github.com/licensor/licensor"
)

// ListAudit lists a tenant's audit entries, newest first.
func (s *Service) ListAudit(ctx context.Context, tenantID string, f licensor.AuditFilter) ([]*licensor.AuditEntry, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if f.ListOptions, err = f.Normalize(); err != nil {
		return nil, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return nil, licensor.Errorf(licensor.EINVALID, "until is before since")
	}
	return s.store.ListAudit(ctx, f)
}
