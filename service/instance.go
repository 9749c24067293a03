package service

import (
	"context"

	"github.com/licensor/licensor"
)

// ListInstances lists a tenant's instances, optionally of one contract.
func (s *Service) ListInstances(ctx context.Context, tenantID string, f licensor.InstanceFilter) ([]*licensor.Instance, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if f.ContractID != "" {
		if err := licensor.ValidateID("contract_id", f.ContractID); err != nil {
			return nil, err
		}
	}
	if f.ListOptions, err = f.Normalize(); err != nil {
		return nil, err
	}
	return s.store.ListInstances(ctx, f)
}

// GetInstance returns one instance. Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) GetInstance(ctx context.Context, tenantID, contractID, instanceID string) (*licensor.Instance, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("contract_id", contractID); err != nil {
		return nil, err
	}
	if instanceID, err = licensor.NormalizeID("instance_id", instanceID); err != nil {
		return nil, err
	}
	// Any spelling of a production URL finds its instance.
	if instanceID, err = s.instanceKey(ctx, contractID, instanceID); err != nil {
		return nil, err
	}
	return s.store.GetInstance(ctx, contractID, instanceID)
}

// ReleaseSeat frees the seat an instance holds. Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) ReleaseSeat(ctx context.Context, tenantID, contractID, instanceID string) (*licensor.Instance, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	before, err := s.GetInstance(ctx, tenantID, contractID, instanceID)
	if err != nil {
		return nil, err
	}
	// An offline license's seat is freed on the machine's return file or
	// by a forced release, both of which record it: never behind its back.
	if a, err := s.store.HeldOfflineActivation(ctx, contractID, before.ID); err == nil {
		return nil, licensor.Errorf(licensor.EPRECONDITION,
			"instance %s holds its seat with offline license %s: free it with the machine's return file (offline accept-return) or a forced release (offline release --license-id %s --reason ...)",
			before.ID, a.LicenseID, a.LicenseID)
	} else if licensor.ErrorCode(err) != licensor.ENOTFOUND {
		return nil, err
	}
	if err := s.store.ReleaseSeat(ctx, contractID, before.ID); err != nil {
		return nil, err
	}
	after, err := s.store.GetInstance(ctx, contractID, before.ID)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "instance.release_seat", "instance", contractID+"/"+before.ID, before, after)
	return after, nil
}

// instanceKey normalizes an instance id an admin gave for contractID, so
// that any spelling of a production URL finds its instance.
func (s *Service) instanceKey(ctx context.Context, contractID, instanceID string) (string, error) {
	c, err := s.store.GetContract(ctx, contractID)
	if err != nil {
		return "", err
	}
	return c.InstanceKey(instanceID)
}
