package service

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// CreateTenant creates a tenant with its first signing key and, if asked,
// an admin token whose secret is returned once. Operator only.
// Codes: EINVALID, EFORBIDDEN.
func (s *Service) CreateTenant(ctx context.Context, t licensor.Tenant, withAdminToken bool) (*licensor.Tenant, string, error) {
	if _, err := RequireOperator(ctx); err != nil {
		return nil, "", err
	}
	if err := t.Validate(); err != nil {
		return nil, "", err
	}
	now := s.now().UTC()
	t.ID = licensor.NewID(licensor.PrefixTenant)
	t.CreatedAt, t.UpdatedAt = now, now
	if err := s.store.CreateTenant(ctx, &t); err != nil {
		return nil, "", err
	}
	tctx := licensor.WithTenant(ctx, t.ID)
	s.audit(tctx, "tenant.create", "tenant", t.ID, nil, t)
	if _, err := s.createKey(tctx); err != nil {
		return nil, "", err
	}
	var secret string
	if withAdminToken {
		tok, sec, err := s.newToken(tctx, licensor.Token{Role: licensor.RoleAdmin, Name: "initial admin"})
		if err != nil {
			return nil, "", err
		}
		s.audit(tctx, "token.create", "token", tok.ID, nil, tokenView(tok))
		secret = sec
	}
	return &t, secret, nil
}

// GetTenant returns a tenant: any for the operator, its own for an admin.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) GetTenant(ctx context.Context, id string) (*licensor.Tenant, error) {
	ctx, _, err := s.AdminScope(ctx, id)
	if err != nil {
		return nil, err
	}
	id, _ = licensor.TenantFrom(ctx)
	return s.store.GetTenant(ctx, id)
}

// ListTenants lists all tenants. Operator only.
func (s *Service) ListTenants(ctx context.Context, opts licensor.ListOptions) ([]*licensor.Tenant, error) {
	if _, err := RequireOperator(ctx); err != nil {
		return nil, err
	}
	opts, err := opts.Normalize()
	if err != nil {
		return nil, err
	}
	return s.store.ListTenants(ctx, opts)
}

// TenantUpdate names the fields of a tenant to change; nil means keep.
type TenantUpdate struct {
	Name             *string
	ConcurrencyLimit *int
	QueueWait        *time.Duration
	ExpiryWarning    *time.Duration
	// Telemetry settings: a zero retention restores the default (90 days);
	// TelemetryFieldsDropped replaces the list.
	TelemetryRetention     *time.Duration
	TelemetryFieldsDropped *[]string
	TruncateIPs            *bool
}

// UpdateTenant changes a tenant's settings.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) UpdateTenant(ctx context.Context, id string, u TenantUpdate) (*licensor.Tenant, error) {
	ctx, _, err := s.AdminScope(ctx, id)
	if err != nil {
		return nil, err
	}
	id, _ = licensor.TenantFrom(ctx)
	before, err := s.store.GetTenant(ctx, id)
	if err != nil {
		return nil, err
	}
	t := *before
	if u.Name != nil {
		t.Name = *u.Name
	}
	if u.ConcurrencyLimit != nil {
		t.ConcurrencyLimit = *u.ConcurrencyLimit
		if t.ConcurrencyLimit == 0 {
			return nil, licensor.Errorf(licensor.EINVALID, "concurrency limit must be at least 1")
		}
	}
	if u.QueueWait != nil {
		t.QueueWait = *u.QueueWait
	}
	if u.ExpiryWarning != nil {
		t.ExpiryWarning = *u.ExpiryWarning
		if t.ExpiryWarning == 0 {
			return nil, licensor.Errorf(licensor.EINVALID, "expiry warning must be at least 1h")
		}
	}
	if u.TelemetryRetention != nil {
		t.TelemetryRetention = *u.TelemetryRetention
	}
	if u.TelemetryFieldsDropped != nil {
		t.TelemetryFieldsDropped = *u.TelemetryFieldsDropped
	}
	if u.TruncateIPs != nil {
		t.TruncateIPs = *u.TruncateIPs
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	t.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateTenant(ctx, &t); err != nil {
		return nil, err
	}
	s.tenants.invalidate(t.ID)
	s.audit(ctx, "tenant.update", "tenant", t.ID, before, t)
	return &t, nil
}
