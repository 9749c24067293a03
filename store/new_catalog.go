package store

import (
	"context"
	"fmt"
	"time"

	"github.com/licensor/licensor"
)

// NewTenant readies t: an id if it has none, its creation and update times.
// It needs no scope: creating tenants is the operator's.
func NewTenant(t *licensor.Tenant, now func() time.Time) {
	if t.ID == "" {
		t.ID = licensor.NewID(licensor.PrefixTenant)
	}
	t.CreatedAt = Stamp(t.CreatedAt, now)
	updated(t.CreatedAt, &t.UpdatedAt)
}

// TenantConstraints says what a failed constraint of t's INSERT means.
func TenantConstraints(t *licensor.Tenant) Messages {
	return Messages{PrimaryKey: fmt.Sprintf("tenant %s already exists", t.ID)}
}

// NewProduct readies p in the scoped tenant, which it returns.
func NewProduct(ctx context.Context, p *licensor.Product, now func() time.Time) (string, error) {
	return scoped(ctx, &p.TenantID, &p.ID, licensor.PrefixProduct, &p.CreatedAt, now)
}

// ProductConstraints says what a failed constraint of p's INSERT means.
func ProductConstraints(p *licensor.Product) Messages {
	return Messages{
		PrimaryKey: fmt.Sprintf("product %s already exists", p.ID),
		Unique:     fmt.Sprintf("a product named %q already exists", p.Name),
		ForeignKey: TenantNotFoundMessage(p.TenantID),
	}
}

// NewFeature readies f in the scoped tenant, which it returns.
func NewFeature(ctx context.Context, f *licensor.Feature, now func() time.Time) (string, error) {
	return scoped(ctx, &f.TenantID, &f.ID, licensor.PrefixFeature, &f.CreatedAt, now)
}

// FeatureConstraints says what a failed constraint of f's INSERT means.
func FeatureConstraints(f *licensor.Feature) Messages {
	return Messages{
		PrimaryKey: fmt.Sprintf("feature %s already exists", f.ID),
		Unique:     fmt.Sprintf("product %s already has a feature named %q", f.ProductID, f.Name),
		ForeignKey: fmt.Sprintf("product %s not found", f.ProductID),
	}
}

// NewCustomer readies c in the scoped tenant, which it returns.
func NewCustomer(ctx context.Context, c *licensor.Customer, now func() time.Time) (string, error) {
	return scoped(ctx, &c.TenantID, &c.ID, licensor.PrefixCustomer, &c.CreatedAt, now)
}

// CustomerConstraints says what a failed constraint of c's INSERT means.
func CustomerConstraints(c *licensor.Customer) Messages {
	return Messages{
		PrimaryKey: fmt.Sprintf("customer %s already exists", c.ID),
		ForeignKey: TenantNotFoundMessage(c.TenantID),
	}
}

// NewContract readies c in the scoped tenant, which it returns: also its
// start and end as the stores keep them. The store sets Version and
// SeatsUsed once the INSERT has succeeded.
func NewContract(ctx context.Context, c *licensor.Contract, now func() time.Time) (string, error) {
	tid, err := scoped(ctx, &c.TenantID, &c.ID, licensor.PrefixContract, &c.CreatedAt, now)
	if err != nil {
		return "", err
	}
	updated(c.CreatedAt, &c.UpdatedAt)
	c.StartsAt, c.EndsAt = Norm(c.StartsAt), Norm(c.EndsAt)
	return tid, nil
}

// ContractConstraints says what a failed primary key of c's INSERT means;
// which reference is missing each store finds out its own way.
func ContractConstraints(c *licensor.Contract) Messages {
	return Messages{PrimaryKey: fmt.Sprintf("contract %s already exists", c.ID)}
}

// NewPool readies p in the scoped tenant, which it returns.
func NewPool(ctx context.Context, p *licensor.Pool, now func() time.Time) (string, error) {
	tid, err := scoped(ctx, &p.TenantID, &p.ID, licensor.PrefixPool, &p.CreatedAt, now)
	if err != nil {
		return "", err
	}
	if err := licensor.PoolFeaturesOnce(p.Features); err != nil {
		return "", err
	}
	updated(p.CreatedAt, &p.UpdatedAt)
	return tid, nil
}

// PoolConstraints says what a failed primary key of p's INSERT means;
// which reference is missing each store finds out its own way.
func PoolConstraints(p *licensor.Pool) Messages {
	return Messages{PrimaryKey: fmt.Sprintf("pool %s already exists", p.ID)}
}
