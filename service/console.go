package service

import (
	"context"

	"github.com/licensor/licensor"
)

// SearchInstances returns a page of a tenant's instances, newest hour of
// check-in first (licensor.ConsoleStore), and the cursor of the next page
// ("" after the last).
// Codes: EINVALID, EFORBIDDEN.
func (s *Service) SearchInstances(ctx context.Context, tenantID string, q licensor.InstanceSearch) ([]*licensor.Instance, string, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	if err := q.Validate(); err != nil {
		return nil, "", err
	}
	return s.store.SearchInstances(ctx, q)
}

// PoolUsageSeries returns a pool's units in use over time, per feature.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) PoolUsageSeries(ctx context.Context, tenantID, poolID string, r licensor.SeriesRange) ([]licensor.SeriesPoint, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("pool_id", poolID); err != nil {
		return nil, err
	}
	if r, err = r.Normalize(s.now().UTC()); err != nil {
		return nil, err
	}
	return s.store.PoolUsageSeries(ctx, poolID, r.Since, r.Until, r.Step)
}

// TelemetryVersionSeries returns how many instances reported each product
// version over time. Codes: EINVALID, EFORBIDDEN.
func (s *Service) TelemetryVersionSeries(ctx context.Context, tenantID string, r licensor.SeriesRange) ([]licensor.SeriesPoint, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if r, err = r.Normalize(s.now().UTC()); err != nil {
		return nil, err
	}
	return s.store.TelemetryVersionSeries(ctx, r.Since, r.Until, r.Step)
}
