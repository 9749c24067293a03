package newrecord

import (
	"context"
	"fmt"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// Tenant readies t: an id if it has none, its creation and update times.
// It needs no scope: creating tenants is the operator's.
func Tenant(t *licensor.Tenant, now func() time.Time) {
	if t.ID == "" {
		t.ID = licensor.NewID(licensor.PrefixTenant)
	}
	t.CreatedAt = store.Stamp(t.CreatedAt, now)
	updated(t.CreatedAt, &t.UpdatedAt)
}

// TenantConstraints says what a failed constraint of t's INSERT means.
func TenantConstraints(t *licensor.Tenant) store.Messages {
	return store.Messages{PrimaryKey: fmt.Sprintf("tenant %s already exists", t.ID)}
}

// Product readies p in the scoped tenant, which it returns.
func Product(ctx context.Context, p *licensor.Product, now func() time.Time) (string, error) {
	return scoped(ctx, &p.TenantID, &p.ID, licensor.PrefixProduct, &p.CreatedAt, now)
}

// ProductConstraints says what a failed constraint of p's INSERT means.
func ProductConstraints(p *licensor.Product) store.Messages {
	return store.Messages{
		PrimaryKey: fmt.Sprintf("product %s already exists", p.ID),
		Unique:     fmt.Sprintf("a product named %q already exists", p.Name),
		ForeignKey: store.TenantNotFoundMessage(p.TenantID),
	}
}

// Feature readies f in the scoped tenant, which it returns.
func Feature(ctx context.Context, f *licensor.Feature, now func() time.Time) (string, error) {
	return scoped(ctx, &f.TenantID, &f.ID, licensor.PrefixFeature, &f.CreatedAt, now)
}

// FeatureConstraints says what a failed constraint of f's INSERT means.
func FeatureConstraints(f *licensor.Feature) store.Messages {
	return store.Messages{
		PrimaryKey: fmt.Sprintf("feature %s already exists", f.ID),
		Unique:     fmt.Sprintf("product %s already has a feature named %q", f.ProductID, f.Name),
		ForeignKey: fmt.Sprintf("product %s not found", f.ProductID),
	}
}

// Customer readies c in the scoped tenant, which it returns.
func Customer(ctx context.Context, c *licensor.Customer, now func() time.Time) (string, error) {
	return scoped(ctx, &c.TenantID, &c.ID, licensor.PrefixCustomer, &c.CreatedAt, now)
}

// CustomerConstraints says what a failed constraint of c's INSERT means.
func CustomerConstraints(c *licensor.Customer) store.Messages {
	return store.Messages{
		PrimaryKey: fmt.Sprintf("customer %s already exists", c.ID),
		ForeignKey: store.TenantNotFoundMessage(c.TenantID),
	}
}

// Contract readies c in the scoped tenant, which it returns: also its
// start and end as the stores keep them. The store sets Version and
// SeatsUsed once the INSERT has succeeded.
func Contract(ctx context.Context, c *licensor.Contract, now func() time.Time) (string, error) {
	tid, err := scoped(ctx, &c.TenantID, &c.ID, licensor.PrefixContract, &c.CreatedAt, now)
	if err != nil {
		return "", err
	}
	updated(c.CreatedAt, &c.UpdatedAt)
	c.StartsAt, c.EndsAt = store.Norm(c.StartsAt), store.Norm(c.EndsAt)
	return tid, nil
}

// ContractConstraints says what a failed primary key of c's INSERT means;
// which reference is missing each store finds out its own way.
func ContractConstraints(c *licensor.Contract) store.Messages {
	return store.Messages{PrimaryKey: fmt.Sprintf("contract %s already exists", c.ID)}
}

// Pool readies p in the scoped tenant, which it returns.
func Pool(ctx context.Context, p *licensor.Pool, now func() time.Time) (string, error) {
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
func PoolConstraints(p *licensor.Pool) store.Messages {
	return store.Messages{PrimaryKey: fmt.Sprintf("pool %s already exists", p.ID)}
}
