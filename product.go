package licensor

import "time"

// Product is something a vendor sells; its features are what contracts grant.
type Product struct {
	ID        string
	TenantID  string
	Name      string
	CreatedAt time.Time
}

// Validate checks a product before it is stored.
func (p *Product) Validate() error { return ValidateName("product name", p.Name) }

// FeatureKind says whether a feature is on/off or counted.
type FeatureKind string

const (
	FeatureBoolean FeatureKind = "boolean"
	FeatureCounted FeatureKind = "counted"
)

// Feature is a named capability of a product.
type Feature struct {
	ID          string
	TenantID    string
	ProductID   string
	Name        string // machine name used in licenses, e.g. "solver"
	Kind        FeatureKind
	Description string
	CreatedAt   time.Time
}

// Validate checks a feature before it is stored and fills defaults.
func (f *Feature) Validate() error {
	if err := ValidateKey("feature name", f.Name); err != nil {
		return err
	}
	if f.Kind == "" {
		f.Kind = FeatureBoolean
	}
	if f.Kind != FeatureBoolean && f.Kind != FeatureCounted {
		return Errorf(EINVALID, "feature kind %q: use %q or %q", f.Kind, FeatureBoolean, FeatureCounted)
	}
	if len(f.Description) > 1000 {
		return Errorf(EINVALID, "feature description is %d bytes; the limit is 1000", len(f.Description))
	}
	return nil
}

// Customer is a licensee of a tenant.
type Customer struct {
	ID        string
	TenantID  string
	Name      string
	Email     string
	Metadata  Metadata
	CreatedAt time.Time
}

// Validate checks a customer before it is stored.
func (c *Customer) Validate() error {
	if err := ValidateName("customer name", c.Name); err != nil {
		return err
	}
	if len(c.Email) > 254 {
		return Errorf(EINVALID, "customer email is %d bytes; the limit is 254", len(c.Email))
	}
	return ValidateMetadata("customer", c.Metadata)
}
