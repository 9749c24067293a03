package service

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// The portal's reads and actions take the PortalScope AuthenticatePortal
// returned, and reach that one customer of that one tenant: the tenant
// scope comes from the link, and every contract is checked to be the
// customer's, another customer's being ENOTFOUND exactly like none.

// PortalContract is what the portal shows of one contract: its terms, and
// the instances holding its seats.
type PortalContract struct {
	Contract *licensor.Contract
	// SeatHolders are the instances that hold a seat (at most
	// licensor.MaxListLimit; SeatHoldersTruncated says there are more).
	SeatHolders          []*licensor.Instance
	SeatHoldersTruncated bool
}

// portalCtx scopes ctx to the link's tenant, with the link as the actor
// the audit log names.
func (s *Service) portalCtx(ctx context.Context, sc *licensor.PortalScope) (context.Context, error) {
	if sc == nil || sc.TenantID == "" || sc.CustomerID == "" {
		return nil, licensor.Errorf(licensor.EUNAUTHORIZED, "no portal link")
	}
	if !s.now().Before(sc.ExpiresAt) {
		return nil, licensor.Errorf(licensor.EUNAUTHORIZED, "portal link %s expired at %s; ask your vendor for a new one", sc.LinkID, sc.ExpiresAt.UTC().Format(time.RFC3339))
	}
	ctx = licensor.WithActor(ctx, licensor.Actor{Role: licensor.RolePortal, TokenID: sc.LinkID, TenantID: sc.TenantID})
	return licensor.WithTenant(ctx, sc.TenantID), nil
}

// portalView is a contract as a customer sees it: the vendor's own
// metadata stays with the vendor.
func portalView(c *licensor.Contract) *licensor.Contract {
	c.Metadata = nil
	return c
}

// customersContract returns a contract of the scope's customer: ENOTFOUND
// for an unknown id and for another customer's, with the same words.
func (s *Service) customersContract(ctx context.Context, sc *licensor.PortalScope, contractID string) (*licensor.Contract, error) {
	if err := licensor.ValidateID("contract_id", contractID); err != nil {
		return nil, err
	}
	c, err := s.store.GetContract(ctx, contractID)
	if err != nil {
		return nil, err
	}
	if err := ownContract(sc, c); err != nil {
		return nil, err
	}
	return s.shown(c), nil
}

func ownContract(sc *licensor.PortalScope, c *licensor.Contract) error {
	if c.CustomerID != sc.CustomerID {
		return licensor.Errorf(licensor.ENOTFOUND, "contract %s not found", c.ID)
	}
	return nil
}

// PortalCustomer returns the scope's customer (name and e-mail; not the
// vendor's metadata). Codes: EUNAUTHORIZED, ENOTFOUND.
func (s *Service) PortalCustomer(ctx context.Context, sc *licensor.PortalScope) (*licensor.Customer, error) {
	ctx, err := s.portalCtx(ctx, sc)
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetCustomer(ctx, sc.CustomerID)
	if err != nil {
		return nil, err
	}
	c.Metadata = nil
	return c, nil
}

// PortalContracts lists the scope's customer's contracts (at most
// licensor.MaxListLimit) with their features, seats used and the
// instances holding them. Codes: EUNAUTHORIZED.
func (s *Service) PortalContracts(ctx context.Context, sc *licensor.PortalScope) ([]*PortalContract, error) {
	ctx, err := s.portalCtx(ctx, sc)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	cs, err := s.store.ListContracts(ctx, licensor.ContractFilter{CustomerID: sc.CustomerID, Now: now,
		ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
	if err != nil {
		return nil, err
	}
	out := make([]*PortalContract, 0, len(cs))
	for _, c := range cs {
		if err := ownContract(sc, c); err != nil {
			return nil, err // the store's filter failed: show nothing rather than another's
		}
		c.Status = c.StatusAt(now)
		is, err := s.store.ListInstances(ctx, licensor.InstanceFilter{ContractID: c.ID, SeatHolders: true,
			ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
		if err != nil {
			return nil, err
		}
		pc := &PortalContract{Contract: portalView(c), SeatHolders: is}
		if len(is) == licensor.MaxListLimit {
			more, err := s.store.ListInstances(ctx, licensor.InstanceFilter{ContractID: c.ID, SeatHolders: true,
				ListOptions: licensor.ListOptions{Limit: 1, After: is[len(is)-1].Cursor(true)}})
			if err != nil {
				return nil, err
			}
			pc.SeatHoldersTruncated = len(more) > 0
		}
		out = append(out, pc)
	}
	return out, nil
}

// PortalReleaseSeat frees the seat an instance of one of the scope's
// customer's contracts holds (a decommissioned machine), so that another
// can take it. Audited under the link. Codes: EUNAUTHORIZED, EINVALID,
// ENOTFOUND.
func (s *Service) PortalReleaseSeat(ctx context.Context, sc *licensor.PortalScope, contractID, instanceID string) (*licensor.Instance, error) {
	ctx, err := s.portalCtx(ctx, sc)
	if err != nil {
		return nil, err
	}
	c, err := s.customersContract(ctx, sc, contractID)
	if err != nil {
		return nil, err
	}
	if instanceID, err = licensor.NormalizeID("instance_id", instanceID); err != nil {
		return nil, err
	}
	if instanceID, err = c.InstanceKey(instanceID); err != nil {
		return nil, err
	}
	before, err := s.store.GetInstance(ctx, c.ID, instanceID)
	if err != nil {
		return nil, err
	}
	if err := s.store.ReleaseSeat(ctx, c.ID, before.ID); err != nil {
		return nil, err
	}
	after, err := s.store.GetInstance(ctx, c.ID, before.ID)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "instance.release_seat", "instance", c.ID+"/"+before.ID, before, after)
	return after, nil
}

// PortalIssueLicenseFile issues a static license file for one of the
// scope's customer's contracts, as IssueLicenseFile does for the vendor.
// Audited under the link. Codes: EUNAUTHORIZED, EINVALID, ENOTFOUND,
// EFORBIDDEN (contract ended or suspended).
func (s *Service) PortalIssueLicenseFile(ctx context.Context, sc *licensor.PortalScope, contractID, instanceID, environment string, validity time.Duration) (string, *Issued, error) {
	ctx, err := s.portalCtx(ctx, sc)
	if err != nil {
		return "", nil, err
	}
	return s.issueLicenseFile(ctx, contractID, instanceID, environment, validity, func(c *licensor.Contract) error {
		return ownContract(sc, c)
	})
}
