package service

import (
	"context"
	"strings"

	"github.com/licensor/licensor"
)

// UpdateProduct renames a product. Codes: EINVALID, ENOTFOUND, ECONFLICT
// (another product has the name), EFORBIDDEN.
func (s *Service) UpdateProduct(ctx context.Context, tenantID, id string, name *string) (*licensor.Product, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("product_id", id); err != nil {
		return nil, err
	}
	before, err := s.store.GetProduct(ctx, id)
	if err != nil {
		return nil, err
	}
	p := *before
	if name != nil {
		p.Name = *name
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := s.store.UpdateProduct(ctx, &p); err != nil {
		return nil, err
	}
	s.audit(ctx, "product.update", "product", p.ID, before, p)
	return &p, nil
}

// DeleteProduct deletes a product and its features. Codes: EINVALID,
// ENOTFOUND, EPRECONDITION (a contract is for it), EFORBIDDEN.
func (s *Service) DeleteProduct(ctx context.Context, tenantID, id string) error {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := licensor.ValidateID("product_id", id); err != nil {
		return err
	}
	before, err := s.store.GetProduct(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteProduct(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, "product.delete", "product", id, before, nil)
	return nil
}

// UpdateFeature replaces a feature's description; its name and kind are
// what contracts grant and cannot change. Codes: EINVALID, ENOTFOUND,
// EFORBIDDEN.
func (s *Service) UpdateFeature(ctx context.Context, tenantID, id string, description *string) (*licensor.Feature, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("feature_id", id); err != nil {
		return nil, err
	}
	before, err := s.store.GetFeature(ctx, id)
	if err != nil {
		return nil, err
	}
	f := *before
	if description != nil {
		f.Description = *description
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if err := s.store.UpdateFeature(ctx, &f); err != nil {
		return nil, err
	}
	s.audit(ctx, "feature.update", "feature", f.ID, before, f)
	return &f, nil
}

// DeleteFeature deletes a feature. Codes: EINVALID, ENOTFOUND,
// EPRECONDITION (a contract grants it), EFORBIDDEN.
func (s *Service) DeleteFeature(ctx context.Context, tenantID, id string) error {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := licensor.ValidateID("feature_id", id); err != nil {
		return err
	}
	before, err := s.store.GetFeature(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteFeature(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, "feature.delete", "feature", id, before, nil)
	return nil
}

// GetCustomer returns a customer. Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) GetCustomer(ctx context.Context, tenantID, id string) (*licensor.Customer, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("customer_id", id); err != nil {
		return nil, err
	}
	return s.store.GetCustomer(ctx, id)
}

// CustomerUpdate names what to change; nil leaves a field as it is. A
// non-nil Metadata replaces all of it (an empty map clears it).
type CustomerUpdate struct {
	Name     *string
	Email    *string
	Metadata *licensor.Metadata
}

// UpdateCustomer changes a customer. Codes: EINVALID, ENOTFOUND,
// EFORBIDDEN.
func (s *Service) UpdateCustomer(ctx context.Context, tenantID, id string, u CustomerUpdate) (*licensor.Customer, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("customer_id", id); err != nil {
		return nil, err
	}
	before, err := s.store.GetCustomer(ctx, id)
	if err != nil {
		return nil, err
	}
	c := *before
	if u.Name != nil {
		c.Name = *u.Name
	}
	if u.Email != nil {
		c.Email = strings.TrimSpace(*u.Email)
	}
	if u.Metadata != nil {
		c.Metadata = *u.Metadata
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := s.store.UpdateCustomer(ctx, &c); err != nil {
		return nil, err
	}
	s.audit(ctx, "customer.update", "customer", c.ID, before, c)
	return &c, nil
}

// DeleteCustomer deletes a customer and its portal links. Codes:
// EINVALID, ENOTFOUND, EPRECONDITION (a contract or a pool is the
// customer's), EFORBIDDEN.
func (s *Service) DeleteCustomer(ctx context.Context, tenantID, id string) error {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := licensor.ValidateID("customer_id", id); err != nil {
		return err
	}
	before, err := s.store.GetCustomer(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteCustomer(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, "customer.delete", "customer", id, before, nil)
	return nil
}
