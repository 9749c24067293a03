package service

import (
	"context"

	"github.com/licensor/licensor"
)

// SetReservation holds units of a pool feature for one instance (0
// removes the reservation). Codes: EINVALID (bad fields, more reserved
// than the feature has), ENOTFOUND, EFORBIDDEN.
func (s *Service) SetReservation(ctx context.Context, tenantID string, r licensor.Reservation) (*licensor.Pool, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := s.store.SetReservation(ctx, r); err != nil {
		return nil, err
	}
	p, err := s.store.GetPool(ctx, r.PoolID)
	if err != nil {
		return nil, err
	}
	s.forgetPools(ctx)
	s.wakeQueue(ctx, p.TenantID, p.CustomerID) // a smaller reservation frees units
	s.audit(ctx, "pool.reserve", "pool", r.PoolID, nil, r)
	return p, nil
}

// ListReservations returns a pool's reservations, each with what its
// instance holds now. Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) ListReservations(ctx context.Context, tenantID, poolID string) ([]licensor.Reservation, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("pool_id", poolID); err != nil {
		return nil, err
	}
	return s.store.ListReservations(ctx, poolID, s.now())
}

// reserved reports whether any feature of p has units reserved.
func reserved(p *licensor.Pool) bool {
	for _, f := range p.Features {
		if f.Reserved > 0 {
			return true
		}
	}
	return false
}
