package service

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// CreatePool creates a pool of counted features for a customer, or for one
// of its contracts. Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) CreatePool(ctx context.Context, tenantID string, p licensor.Pool) (*licensor.Pool, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	product := ""
	if p.ContractID != "" {
		c, err := s.store.GetContract(ctx, p.ContractID)
		if err != nil {
			return nil, err
		}
		if c.CustomerID != p.CustomerID {
			return nil, licensor.Errorf(licensor.EINVALID, "contract %s belongs to customer %s, not %s", c.ID, c.CustomerID, p.CustomerID)
		}
		product = c.ProductID
	}
	if err := s.checkPoolFeatures(ctx, product, p.Features); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	p.ID = licensor.NewID(licensor.PrefixPool)
	p.TenantID, _ = licensor.TenantFrom(ctx)
	p.CreatedAt, p.UpdatedAt = now, now
	if err := s.store.CreatePool(ctx, &p); err != nil {
		return nil, err
	}
	s.forgetPools(ctx)
	s.audit(ctx, "pool.create", "pool", p.ID, nil, p)
	return &p, nil
}

// GetPool returns a pool with its leases (up to MaxListLimit).
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) GetPool(ctx context.Context, tenantID, id string) (*licensor.Pool, []*licensor.Lease, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	if err := licensor.ValidateID("pool_id", id); err != nil {
		return nil, nil, err
	}
	p, err := s.store.GetPool(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	ls, err := s.store.ListLeases(ctx, licensor.LeaseFilter{PoolID: id, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
	if err != nil {
		return nil, nil, err
	}
	return p, ls, nil
}

// ListPools lists a tenant's pools, optionally of one customer.
func (s *Service) ListPools(ctx context.Context, tenantID string, f licensor.PoolFilter) ([]*licensor.Pool, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if f.CustomerID != "" {
		if err := licensor.ValidateID("customer_id", f.CustomerID); err != nil {
			return nil, err
		}
	}
	if f.ListOptions, err = f.Normalize(); err != nil {
		return nil, err
	}
	return s.store.ListPools(ctx, f)
}

// ResizePool changes a pool's features' maximums (adding new features)
// and its lease TTL. Shrinking below what is in use is allowed: nothing
// more is granted until enough comes back.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) ResizePool(ctx context.Context, tenantID string, r licensor.PoolResize) (*licensor.Pool, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	before, err := s.store.GetPool(ctx, r.PoolID)
	if err != nil {
		return nil, err
	}
	product := ""
	if before.ContractID != "" {
		c, err := s.store.GetContract(ctx, before.ContractID)
		if err != nil {
			return nil, err
		}
		product = c.ProductID
	}
	if err := s.checkPoolFeatures(ctx, product, r.Features); err != nil {
		return nil, err
	}
	r.UpdatedAt = s.now().UTC()
	after, err := s.store.ResizePool(ctx, r)
	if err != nil {
		return nil, err
	}
	s.forgetPools(ctx)
	s.wakeQueue(ctx, after.TenantID, after.CustomerID) // more units, or express: the queue may move
	s.audit(ctx, "pool.resize", "pool", r.PoolID, before, after)
	return after, nil
}

// ListLeases lists a tenant's leases, filtered by pool, contract, instance.
func (s *Service) ListLeases(ctx context.Context, tenantID string, f licensor.LeaseFilter) ([]*licensor.Lease, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	for _, v := range []struct {
		field string
		v     *string
	}{{"pool_id", &f.PoolID}, {"contract_id", &f.ContractID}, {"instance_id", &f.InstanceID}} {
		if *v.v != "" {
			if *v.v, err = licensor.NormalizeID(v.field, *v.v); err != nil {
				return nil, err
			}
		}
	}
	if f.ListOptions, err = f.Normalize(); err != nil {
		return nil, err
	}
	return s.store.ListLeases(ctx, f)
}

// ReleaseLease ends any lease of the tenant at once (force-release of a
// stuck seat). Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) ReleaseLease(ctx context.Context, tenantID, id string) error {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := licensor.ValidateID("lease_id", id); err != nil {
		return err
	}
	before, err := s.store.GetLease(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.ReleaseLease(ctx, id, s.now().UTC()); err != nil {
		return err
	}
	if p, err := s.store.GetPool(ctx, before.PoolID); err == nil {
		s.wakeQueue(ctx, p.TenantID, p.CustomerID)
	}
	s.audit(ctx, "lease.release", "lease", id, before, nil)
	return nil
}

// UsageQuery asks for a usage report; zero fields take defaults: until
// now, since a day before until, one-hour periods.
type UsageQuery struct {
	PoolID string
	Since  time.Time
	Until  time.Time
	Period time.Duration
}

// UsageReport aggregates a pool's usage per feature and period: peak units
// in use, unit-hours, grants, renewals, denials, returns, expiries.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) UsageReport(ctx context.Context, tenantID string, q UsageQuery) ([]licensor.UsageRow, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("pool_id", q.PoolID); err != nil {
		return nil, err
	}
	if q.Until.IsZero() {
		q.Until = s.now().UTC()
	}
	if q.Since.IsZero() {
		q.Since = q.Until.Add(-24 * time.Hour)
	}
	if q.Period == 0 {
		q.Period = licensor.DefaultUsagePeriod
	}
	if !q.Since.Before(q.Until) {
		return nil, licensor.Errorf(licensor.EINVALID, "since (%s) must be before until (%s)", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	if q.Period < licensor.MinUsagePeriod {
		return nil, licensor.Errorf(licensor.EINVALID, "period is %s; it must be at least %s", q.Period, licensor.MinUsagePeriod)
	}
	if n := q.Until.Sub(q.Since) / q.Period; n > licensor.MaxUsagePeriods {
		return nil, licensor.Errorf(licensor.EINVALID, "the report would have %d periods; the limit is %d: use a longer period or a shorter range", n, licensor.MaxUsagePeriods)
	}
	p, err := s.store.GetPool(ctx, q.PoolID)
	if err != nil {
		return nil, err
	}
	evs, err := s.store.ListUsageEvents(ctx, licensor.UsageQuery{PoolID: q.PoolID, Since: q.Since, Until: q.Until})
	if err != nil {
		return nil, err
	}
	features := make([]string, len(p.Features))
	for i, f := range p.Features {
		features[i] = f.Feature
	}
	rows := licensor.BuildUsageReport(p.ID, features, evs, q.Since, q.Until, q.Period)
	for i := range rows {
		if f, ok := p.Feature(rows[i].Feature); ok {
			rows[i].PeakOverage = max(0, rows[i].PeakUnits-f.MaxUnits)
		}
	}
	return rows, nil
}

// checkPoolFeatures refuses a pool feature that is not a counted feature
// of product (a contract's pool), or of any of the tenant's products (a
// customer's pool, which serves all of its contracts): a misspelt feature
// would otherwise surface only when a device asks for it and is told the
// pool has no such thing.
func (s *Service) checkPoolFeatures(ctx context.Context, product string, fs []licensor.PoolFeature) error {
	if len(fs) == 0 {
		return nil
	}
	products := []string{product}
	if product == "" {
		products = nil
		opts := licensor.ListOptions{Limit: licensor.MaxListLimit}
		for {
			ps, err := s.store.ListProducts(ctx, opts)
			if err != nil {
				return err
			}
			for _, p := range ps {
				products = append(products, p.ID)
			}
			if len(ps) < opts.Limit {
				break
			}
			opts.After = ps[len(ps)-1].ID
		}
	}
	kinds := map[string]licensor.FeatureKind{}
	for _, id := range products {
		defined, err := s.store.ListFeatures(ctx, id)
		if err != nil {
			return err
		}
		for _, f := range defined {
			if kinds[f.Name] != licensor.FeatureCounted {
				kinds[f.Name] = f.Kind
			}
		}
	}
	where := "any of the tenant's products"
	if product != "" {
		where = "product " + product
	}
	for _, f := range fs {
		switch kind, ok := kinds[f.Feature]; {
		case !ok:
			return licensor.Errorf(licensor.EINVALID, "feature %q is not a feature of %s; define it first (admin feature create) or check its spelling", f.Feature, where)
		case kind != licensor.FeatureCounted:
			return licensor.Errorf(licensor.EINVALID, "feature %q of %s is on/off, not counted: a pool lends units of counted features only", f.Feature, where)
		}
	}
	return nil
}
