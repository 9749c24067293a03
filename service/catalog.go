package service

import (
	"context"
	"strings"

	"github.com/licensor/licensor"
)

// CreateProduct creates a product. Codes: EINVALID, ECONFLICT, ENOTFOUND, EFORBIDDEN.
func (s *Service) CreateProduct(ctx context.Context, tenantID string, p licensor.Product) (*licensor.Product, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p.ID = licensor.NewID(licensor.PrefixProduct)
	p.TenantID, _ = licensor.TenantFrom(ctx)
	p.CreatedAt = s.now().UTC()
	if err := s.store.CreateProduct(ctx, &p); err != nil {
		return nil, err
	}
	s.audit(ctx, "product.create", "product", p.ID, nil, p)
	return &p, nil
}

// ListProducts lists a tenant's products.
func (s *Service) ListProducts(ctx context.Context, tenantID string, opts licensor.ListOptions) ([]*licensor.Product, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if opts, err = opts.Normalize(); err != nil {
		return nil, err
	}
	return s.store.ListProducts(ctx, opts)
}

// CreateFeature defines a feature of a product.
// Codes: EINVALID, ECONFLICT, ENOTFOUND, EFORBIDDEN.
func (s *Service) CreateFeature(ctx context.Context, tenantID string, f licensor.Feature) (*licensor.Feature, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("product_id", f.ProductID); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	f.ID = licensor.NewID(licensor.PrefixFeature)
	f.TenantID, _ = licensor.TenantFrom(ctx)
	f.CreatedAt = s.now().UTC()
	if err := s.store.CreateFeature(ctx, &f); err != nil {
		return nil, err
	}
	s.audit(ctx, "feature.create", "feature", f.ID, nil, f)
	return &f, nil
}

// ListFeatures lists the features of a product. Codes: EINVALID, ENOTFOUND.
func (s *Service) ListFeatures(ctx context.Context, tenantID, productID string) ([]*licensor.Feature, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("product_id", productID); err != nil {
		return nil, err
	}
	return s.store.ListFeatures(ctx, productID)
}

// CreateCustomer creates a customer. Codes: EINVALID, EFORBIDDEN.
func (s *Service) CreateCustomer(ctx context.Context, tenantID string, c licensor.Customer) (*licensor.Customer, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	c.Email = strings.TrimSpace(c.Email)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.ID = licensor.NewID(licensor.PrefixCustomer)
	c.TenantID, _ = licensor.TenantFrom(ctx)
	c.CreatedAt = s.now().UTC()
	if err := s.store.CreateCustomer(ctx, &c); err != nil {
		return nil, err
	}
	s.audit(ctx, "customer.create", "customer", c.ID, nil, c)
	return &c, nil
}

// ListCustomers lists a tenant's customers.
func (s *Service) ListCustomers(ctx context.Context, tenantID string, opts licensor.ListOptions) ([]*licensor.Customer, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if opts, err = opts.Normalize(); err != nil {
		return nil, err
	}
	return s.store.ListCustomers(ctx, opts)
}
