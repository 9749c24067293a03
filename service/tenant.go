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
	if _, err := s.createKey(tctx, now, now, licensor.DefaultLicenseValidity); err != nil {
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
	// ConcurrencyCeiling and QueueWaitCeiling are the operator's alone. A
	// ceiling lowered below the current limit (wait) lowers the limit
	// (wait) with it, unless the same update names the limit (wait), which
	// must then fit. The operator naming a limit (wait) above the ceiling
	// without naming the ceiling lifts the ceiling to it, as CreateTenant
	// does.
	ConcurrencyCeiling *int
	QueueWaitCeiling   *time.Duration
	ExpiryWarning      *time.Duration
	// Telemetry settings: a zero retention restores the default (90 days);
	// TelemetryFieldsDropped replaces the list.
	TelemetryRetention     *time.Duration
	TelemetryFieldsDropped *[]string
	TruncateIPs            *bool
}

// UpdateTenant changes a tenant's settings. A tenant admin may set its
// concurrency limit and queue wait up to the tenant's ceilings, which only
// the operator sets: anything past them is EFORBIDDEN, a refusal of
// authority rather than of state, since only the operator can lift it.
// The change applies on this server at once (the next license request is
// limited by the new limit); on another server within Config.CacheTTL.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) UpdateTenant(ctx context.Context, id string, u TenantUpdate) (*licensor.Tenant, error) {
	ctx, a, err := s.AdminScope(ctx, id)
	if err != nil {
		return nil, err
	}
	id, _ = licensor.TenantFrom(ctx)
	operator := a.Role == licensor.RoleOperator
	if !operator && (u.ConcurrencyCeiling != nil || u.QueueWaitCeiling != nil) {
		return nil, licensor.Errorf(licensor.EFORBIDDEN, "only the server operator sets a tenant's concurrency and queue wait ceilings")
	}
	before, err := s.store.GetTenant(ctx, id)
	if err != nil {
		return nil, err
	}
	t := *before
	if err := applyTenantUpdate(&t, u, operator); err != nil {
		return nil, err
	}
	if !operator {
		if err := withinCeilings(&t); err != nil {
			return nil, err
		}
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	t.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateTenant(ctx, &t); err != nil {
		return nil, err
	}
	s.tenants.delete(t.ID)
	s.audit(ctx, "tenant.update", "tenant", t.ID, before, t)
	return &t, nil
}

func applyTenantUpdate(t *licensor.Tenant, u TenantUpdate, operator bool) error {
	if u.Name != nil {
		t.Name = *u.Name
	}
	if u.ConcurrencyCeiling != nil {
		if t.ConcurrencyCeiling = *u.ConcurrencyCeiling; t.ConcurrencyCeiling == 0 {
			return licensor.Errorf(licensor.EINVALID, "concurrency ceiling must be at least 1")
		}
	}
	if u.QueueWaitCeiling != nil {
		if t.QueueWaitCeiling = *u.QueueWaitCeiling; t.QueueWaitCeiling == 0 {
			return licensor.Errorf(licensor.EINVALID, "queue wait ceiling must be at least 1ms")
		}
	}
	// A lowered ceiling carries the current settings down with it; a limit
	// named in this update is checked against the ceiling by Validate.
	t.ClampToCeilings()
	if u.ConcurrencyLimit != nil {
		t.ConcurrencyLimit = *u.ConcurrencyLimit
		if t.ConcurrencyLimit == 0 {
			return licensor.Errorf(licensor.EINVALID, "concurrency limit must be at least 1")
		}
	}
	if u.QueueWait != nil {
		t.QueueWait = *u.QueueWait
	}
	if operator {
		if u.ConcurrencyLimit != nil && u.ConcurrencyCeiling == nil && t.ConcurrencyLimit > t.ConcurrencyCeiling {
			t.ConcurrencyCeiling = t.ConcurrencyLimit
		}
		if u.QueueWait != nil && u.QueueWaitCeiling == nil && t.QueueWait > t.QueueWaitCeiling {
			t.QueueWaitCeiling = t.QueueWait
		}
	}
	if u.ExpiryWarning != nil {
		t.ExpiryWarning = *u.ExpiryWarning
		if t.ExpiryWarning == 0 {
			return licensor.Errorf(licensor.EINVALID, "expiry warning must be at least 1h")
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
	return nil
}

// withinCeilings refuses a tenant admin's limit or wait past the
// ceilings the operator set.
func withinCeilings(t *licensor.Tenant) error {
	if t.ConcurrencyCeiling > 0 && t.ConcurrencyLimit > t.ConcurrencyCeiling {
		return licensor.Errorf(licensor.EFORBIDDEN,
			"concurrency limit %d is above this tenant's ceiling of %d; the server operator sets the ceiling: ask them to raise it",
			t.ConcurrencyLimit, t.ConcurrencyCeiling)
	}
	if t.QueueWaitCeiling > 0 && t.QueueWait > t.QueueWaitCeiling {
		return licensor.Errorf(licensor.EFORBIDDEN,
			"queue wait %s is above this tenant's ceiling of %s; the server operator sets the ceiling: ask them to raise it",
			t.QueueWait, t.QueueWaitCeiling)
	}
	return nil
}

// tenant returns the tenant ctx is scoped to, from s.tenants: the hot path
// reads its telemetry policy and concurrency limit per request. A fill
// that read the row before an UpdateTenant is not put back (see ttlCache).
func (s *Service) tenant(ctx context.Context) (*licensor.Tenant, error) {
	id, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if t, ok := s.tenants.get(id); ok {
		return t, nil
	}
	gen := s.tenants.generation()
	t, err := s.store.GetTenant(ctx, id)
	if err != nil {
		return nil, err
	}
	s.tenants.put(id, t, gen)
	return t, nil
}

// TenantLimits returns how many of a tenant's requests may be in flight at
// once and how long one over that may wait for a slot. It is for the
// server's concurrency limiter, which asks on every limited request: the
// answer comes from the tenant cache, so an UpdateTenant through this
// server applies to the very next request. Codes: EINVALID, ENOTFOUND.
func (s *Service) TenantLimits(ctx context.Context, tenantID string) (limit int, wait time.Duration, err error) {
	if err := licensor.ValidateID("tenant", tenantID); err != nil {
		return 0, 0, err
	}
	t, ok := s.tenants.get(tenantID) // the hit needs no tenant-scoped ctx
	if !ok {
		if t, err = s.tenant(licensor.WithTenant(ctx, tenantID)); err != nil {
			return 0, 0, err
		}
	}
	limit = t.ConcurrencyLimit
	if limit <= 0 {
		limit = licensor.DefaultConcurrencyLimit
	}
	return limit, t.QueueWait, nil
}
