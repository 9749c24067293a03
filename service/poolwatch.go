package service

import (
	"context"

	"github.com/licensor/licensor"
)

// PoolFeatureUse is one pool feature's units in use, for alerts and metrics.
type PoolFeatureUse struct {
	TenantID string
	PoolID   string
	Feature  string
	MaxUnits int64
	InUse    int64
}

// maxPoolsScanned bounds one scan or scrape: a tenant with more pools than
// this is reported on its first pools only, so a scrape stays cheap.
const maxPoolsScanned = 10 * licensor.MaxListLimit

// PoolUse lists the pool features of the tenant scoped in ctx, with units
// in use. With atLimitOnly, only features with no unit free.
func (s *Service) PoolUse(ctx context.Context, atLimitOnly bool) ([]PoolFeatureUse, error) {
	tenantID, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	var out []PoolFeatureUse
	opts := licensor.ListOptions{Limit: licensor.MaxListLimit}
	for seen := 0; seen < maxPoolsScanned; {
		ps, err := s.store.ListPools(ctx, licensor.PoolFilter{ListOptions: opts})
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			for _, f := range p.Features {
				if atLimitOnly && f.InUse < f.MaxUnits {
					continue
				}
				out = append(out, PoolFeatureUse{TenantID: tenantID, PoolID: p.ID, Feature: f.Feature, MaxUnits: f.MaxUnits, InUse: f.InUse})
			}
		}
		seen += len(ps)
		if len(ps) < opts.Limit {
			break
		}
		opts.After = ps[len(ps)-1].ID
	}
	return out, nil
}

// AllPoolUse lists pool use across every tenant (for the metrics scrape),
// bounded by maxPoolsScanned per tenant.
func (s *Service) AllPoolUse(ctx context.Context) ([]PoolFeatureUse, error) {
	var out []PoolFeatureUse
	opts := licensor.ListOptions{Limit: licensor.MaxListLimit}
	for {
		ts, err := s.store.ListTenants(ctx, opts)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			use, err := s.PoolUse(licensor.WithTenant(ctx, t.ID), false)
			if err != nil {
				return nil, err
			}
			out = append(out, use...)
		}
		if len(ts) < opts.Limit {
			return out, nil
		}
		opts.After = ts[len(ts)-1].ID
	}
}
