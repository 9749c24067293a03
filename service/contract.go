package service

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"time"

	"github.com/licensor/licensor"
)

// CreateContract creates a contract for a customer and product. Features
// are resolved against the product's features: an unknown feature is
// EINVALID, a count on a boolean feature or none on a counted one too.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) CreateContract(ctx context.Context, tenantID string, c licensor.Contract) (*licensor.Contract, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if c.StartsAt.IsZero() {
		c.StartsAt = now
	}
	c.Status = licensor.ContractActive
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.store.GetCustomer(ctx, c.CustomerID); err != nil {
		return nil, err
	}
	if err := s.resolveFeatures(ctx, c.ProductID, c.Features); err != nil {
		return nil, err
	}
	if err := validateClientCA(c.ClientCAPEM); err != nil {
		return nil, err
	}
	c.ID = licensor.NewID(licensor.PrefixContract)
	c.TenantID, _ = licensor.TenantFrom(ctx)
	c.CreatedAt, c.UpdatedAt = now, now
	c.SeatsUsed = 0
	if err := s.store.CreateContract(ctx, &c); err != nil {
		return nil, err
	}
	s.audit(ctx, "contract.create", "contract", c.ID, nil, c)
	return s.shown(&c), nil
}

// resolveFeatures fills each entitlement's kind from the product's
// features and checks counts against it.
func (s *Service) resolveFeatures(ctx context.Context, productID string, es []licensor.Entitlement) error {
	fs, err := s.store.ListFeatures(ctx, productID)
	if err != nil {
		return err
	}
	kinds := make(map[string]licensor.FeatureKind, len(fs))
	for _, f := range fs {
		kinds[f.Name] = f.Kind
	}
	for i, e := range es {
		k, ok := kinds[e.Feature]
		if !ok {
			return licensor.Errorf(licensor.EINVALID, "feature %q is not a feature of product %s; define it with CreateFeature first", e.Feature, productID)
		}
		if k == licensor.FeatureCounted && e.Count <= 0 {
			return licensor.Errorf(licensor.EINVALID, "feature %q is counted: give it a count of at least 1", e.Feature)
		}
		if k == licensor.FeatureBoolean && e.Count != 0 {
			return licensor.Errorf(licensor.EINVALID, "feature %q is boolean: give it no count", e.Feature)
		}
		es[i].Kind = k
	}
	return nil
}

func validateClientCA(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > 64<<10 {
		return licensor.Errorf(licensor.EINVALID, "client CA is %d bytes; the limit is 65536", len(p))
	}
	block, _ := pem.Decode([]byte(p))
	if block == nil || block.Type != "CERTIFICATE" {
		return licensor.Errorf(licensor.EINVALID, "client CA is not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return licensor.Errorf(licensor.EINVALID, "client CA does not parse: %v", err)
	}
	if !cert.IsCA {
		return licensor.Errorf(licensor.EINVALID, "client CA certificate is not a CA (basicConstraints CA:FALSE)")
	}
	return nil
}

// GetContract returns a contract. Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) GetContract(ctx context.Context, tenantID, id string) (*licensor.Contract, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("contract_id", id); err != nil {
		return nil, err
	}
	c, err := s.store.GetContract(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.shown(c), nil
}

// ListContracts lists a tenant's contracts, each with the status it has
// now (Contract.StatusAt); a status filter selects by that same status.
// Codes: EINVALID (unknown status), ENOTFOUND, EFORBIDDEN.
func (s *Service) ListContracts(ctx context.Context, tenantID string, f licensor.ContractFilter) ([]*licensor.Contract, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if f.Status, err = licensor.ParseContractStatus(string(f.Status)); err != nil {
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
	f.Now = s.now().UTC()
	cs, err := s.store.ListContracts(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		c.Status = c.StatusAt(f.Now)
	}
	return cs, nil
}

// shown sets the status of c, a contract about to be returned to a
// caller, to the one it has now: stored statuses do not follow the
// calendar, what a caller sees does.
func (s *Service) shown(c *licensor.Contract) *licensor.Contract {
	c.Status = c.StatusAt(s.now())
	return c
}

// ContractChange names what to change; nil leaves a field as it is.
type ContractChange struct {
	Features        *[]licensor.Entitlement
	LicenseValidity *time.Duration
	RefreshInterval *time.Duration
	MaxSeats        *int
	// MaxNonProductionURLs: production-URL contracts only.
	MaxNonProductionURLs *int
	Fallback             *licensor.FallbackRule
	MaxBorrow            *time.Duration
	Status               *licensor.ContractStatus // active or suspended
	Name                 *string
	ClientCAPEM          *string
	// Metadata, if set, replaces all of the contract's metadata.
	Metadata        *licensor.Metadata
	RefuseClones    *bool
	ExpectedVersion int64 // 0: any
}

// ChangeContract applies a change. The next license says so, and open
// WatchLicense streams receive it at once.
// Codes: EINVALID, ENOTFOUND, ECONFLICT (expected version is stale),
// EPRECONDITION (the contract has ended), EFORBIDDEN.
func (s *Service) ChangeContract(ctx context.Context, tenantID, id string, ch ContractChange) (*licensor.Contract, error) {
	return s.mutateContract(ctx, tenantID, id, "contract.change", ch.ExpectedVersion, func(ctx context.Context, c *licensor.Contract) error {
		if ch.Status != nil {
			if *ch.Status != licensor.ContractActive && *ch.Status != licensor.ContractSuspended {
				return licensor.Errorf(licensor.EINVALID, "status %q: use active or suspended (EndContract ends a contract)", *ch.Status)
			}
			c.Status = *ch.Status
		}
		if ch.Features != nil {
			fs := append([]licensor.Entitlement(nil), (*ch.Features)...)
			if err := s.resolveFeatures(ctx, c.ProductID, fs); err != nil {
				return err
			}
			c.Features = fs
		}
		if ch.LicenseValidity != nil {
			c.LicenseValidity = *ch.LicenseValidity
		}
		if ch.RefreshInterval != nil {
			c.RefreshInterval = *ch.RefreshInterval
		}
		if ch.MaxSeats != nil {
			c.MaxSeats = *ch.MaxSeats
		}
		if ch.MaxNonProductionURLs != nil {
			c.MaxNonProductionURLs = *ch.MaxNonProductionURLs
		}
		if ch.RefuseClones != nil {
			c.RefuseClones = *ch.RefuseClones
		}
		if ch.Fallback != nil {
			c.Fallback = *ch.Fallback
		}
		if ch.MaxBorrow != nil {
			c.MaxBorrow = *ch.MaxBorrow
		}
		if ch.Name != nil {
			c.Name = *ch.Name
		}
		if ch.ClientCAPEM != nil {
			if err := validateClientCA(*ch.ClientCAPEM); err != nil {
				return err
			}
			c.ClientCAPEM = *ch.ClientCAPEM
		}
		if ch.Metadata != nil {
			c.Metadata = *ch.Metadata
		}
		return nil
	})
}

// ExtendContract moves a contract's end later: to endsAt, or by extendBy
// from its current end. Codes: EINVALID (not later, or both/neither given),
// ENOTFOUND, EPRECONDITION (ended, or no end to extend), EFORBIDDEN.
func (s *Service) ExtendContract(ctx context.Context, tenantID, id string, endsAt time.Time, extendBy time.Duration) (*licensor.Contract, error) {
	if endsAt.IsZero() == (extendBy == 0) {
		return nil, licensor.Errorf(licensor.EINVALID, "give either ends_at or extend_by")
	}
	if extendBy < 0 {
		return nil, licensor.Errorf(licensor.EINVALID, "extend_by must be positive")
	}
	return s.mutateContract(ctx, tenantID, id, "contract.extend", 0, func(_ context.Context, c *licensor.Contract) error {
		if c.EndsAt.IsZero() {
			return licensor.Errorf(licensor.EPRECONDITION, "contract %s has no end date to extend", c.ID)
		}
		next := endsAt
		if extendBy > 0 {
			next = c.EndsAt.Add(extendBy)
		}
		if !next.After(c.EndsAt) {
			return licensor.Errorf(licensor.EINVALID, "new end %s is not after the current end %s", next.UTC().Format(time.RFC3339), c.EndsAt.UTC().Format(time.RFC3339))
		}
		c.EndsAt = next.UTC()
		return nil
	})
}

// EndContract ends a contract now: no new license unless it has a
// perpetual fallback, whose cutoff is now. Codes: ENOTFOUND, EPRECONDITION
// (already ended), EFORBIDDEN.
func (s *Service) EndContract(ctx context.Context, tenantID, id string) (*licensor.Contract, error) {
	return s.mutateContract(ctx, tenantID, id, "contract.end", 0, func(_ context.Context, c *licensor.Contract) error {
		now := s.now().UTC()
		c.Status = licensor.ContractEnded
		if c.EndsAt.IsZero() || c.EndsAt.After(now) {
			c.EndsAt = now
		}
		if c.EndsAt.Before(c.StartsAt) { // ended before it began
			c.EndsAt = c.StartsAt
		}
		return nil
	})
}

// mutateContract reads, changes, validates and writes a contract with
// optimistic concurrency, audits it and tells the watchers.
func (s *Service) mutateContract(ctx context.Context, tenantID, id, action string, expected int64, change func(context.Context, *licensor.Contract) error) (*licensor.Contract, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("contract_id", id); err != nil {
		return nil, err
	}
	before, err := s.store.GetContract(ctx, id)
	if err != nil {
		return nil, err
	}
	if expected != 0 && before.Version != expected {
		return nil, licensor.Errorf(licensor.ECONFLICT, "contract %s is at version %d, not %d; re-read it and retry", id, before.Version, expected)
	}
	if before.Status == licensor.ContractEnded {
		return nil, licensor.Errorf(licensor.EPRECONDITION, "contract %s has ended; create a new contract", id)
	}
	c := *before
	c.Features = append([]licensor.Entitlement(nil), before.Features...)
	if err := change(ctx, &c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.UpdatedAt = s.now().UTC()
	err = s.store.UpdateContract(ctx, &c)
	s.forgetContract(c.TenantID, c.ID)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, action, "contract", c.ID, before, c)
	if err := s.feed.Publish(ctx, c.TenantID, c.ID); err != nil {
		s.log.WarnContext(ctx, "contract change not published to watchers; they will see it at their next refresh", "contract", c.ID, "err", err)
	}
	return s.shown(&c), nil
}
