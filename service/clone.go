package service

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// refuseClone refuses a check-in of instanceID from another machine than
// the one it checked in from within the refresh interval, on a contract
// with RefuseClones; the refused attempt still flags the instance, so that
// the vendor is alerted (instance.cloned). A check-in without a
// fingerprint, or on a contract without the option, passes: such clones
// are flagged by the check-in itself.
// Codes: EPRECONDITION.
func (s *Service) refuseClone(ctx context.Context, c *licensor.Contract, instanceID, fingerprint string, now time.Time) error {
	if !c.RefuseClones || fingerprint == "" {
		return nil
	}
	inst, err := s.store.GetInstance(ctx, c.ID, instanceID)
	if licensor.ErrorCode(err) == licensor.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if inst.Fingerprint == "" || inst.Fingerprint == fingerprint || now.Sub(inst.LastSeenAt) >= c.RefreshInterval {
		return nil
	}
	if err := s.store.FlagClone(ctx, c.ID, instanceID, now); err != nil {
		s.log.WarnContext(ctx, "cannot flag a refused clone", "contract", c.ID, "instance", instanceID, "err", err)
	}
	return licensor.Errorf(licensor.EPRECONDITION,
		"instance %s of contract %s is running on another machine (it checked in %s ago): each machine needs its own instance id; "+
			"if the instance moved, stop the old machine and retry after %s", instanceID, c.ID,
		now.Sub(inst.LastSeenAt).Round(time.Second), (c.RefreshInterval - now.Sub(inst.LastSeenAt)).Round(time.Second))
}
