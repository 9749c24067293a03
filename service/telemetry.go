package service

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// GetTelemetryHistory returns the points of one contract (optionally one
// instance) in [Since, Until), oldest first.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) GetTelemetryHistory(ctx context.Context, tenantID string, f licensor.TelemetryFilter) ([]*licensor.TelemetryPoint, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("contract_id", f.ContractID); err != nil {
		return nil, err
	}
	if f.InstanceID != "" {
		if f.InstanceID, err = licensor.NormalizeID("instance_id", f.InstanceID); err != nil {
			return nil, err
		}
		if f.InstanceID, err = s.instanceKey(ctx, f.ContractID, f.InstanceID); err != nil {
			return nil, err
		}
	} else if _, err := s.store.GetContract(ctx, f.ContractID); err != nil {
		return nil, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return nil, licensor.Errorf(licensor.EINVALID, "since (%s) must be before until (%s)",
			f.Since.UTC().Format(time.RFC3339), f.Until.UTC().Format(time.RFC3339))
	}
	if f.ListOptions, err = f.Normalize(); err != nil {
		return nil, err
	}
	return s.store.ListTelemetry(ctx, f)
}

// GetFleetSummary summarizes the latest telemetry of a tenant's instances,
// or of one contract's. Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) GetFleetSummary(ctx context.Context, tenantID, contractID string) (*licensor.FleetSummary, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if contractID != "" {
		if err := licensor.ValidateID("contract_id", contractID); err != nil {
			return nil, err
		}
		if _, err := s.store.GetContract(ctx, contractID); err != nil {
			return nil, err
		}
	}
	var acc licensor.FleetAccumulator
	f := licensor.InstanceFilter{ContractID: contractID, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}}
	for {
		page, err := s.store.ListInstances(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, i := range page {
			acc.Add(i)
		}
		if len(page) < f.Limit {
			break
		}
		last := page[len(page)-1]
		f.After = last.ID
		if contractID == "" {
			f.After = last.ContractID + " " + last.ID
		}
	}
	sum := acc.Summary()
	return &sum, nil
}

// PruneTelemetry deletes, for every tenant, the telemetry older than the
// tenant's retention at the service clock's now. It is maintenance, run by
// the server itself (RunTelemetryPruner), not an API call. It returns how
// many points it deleted; a failing tenant does not stop the others.
func (s *Service) PruneTelemetry(ctx context.Context) (int64, error) {
	now := s.now().UTC()
	var total int64
	var firstErr error
	opts := licensor.ListOptions{Limit: licensor.MaxListLimit}
	for {
		ts, err := s.store.ListTenants(ctx, opts)
		if err != nil {
			return total, err
		}
		for _, t := range ts {
			n, err := s.store.PruneTelemetry(licensor.WithTenant(ctx, t.ID), now.Add(-t.TelemetryRetentionOrDefault()))
			total += n
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if len(ts) < opts.Limit {
			return total, firstErr
		}
		opts.After = ts[len(ts)-1].ID
	}
}

// RunTelemetryPruner prunes telemetry on every tick until ctx ends, and
// reports each run to done (if not nil). The caller owns the ticker, so a
// test drives it with a channel of its own and a fake clock.
func (s *Service) RunTelemetryPruner(ctx context.Context, tick <-chan time.Time, done func(pruned int64, err error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		n, err := s.PruneTelemetry(ctx)
		if err != nil {
			s.log.ErrorContext(ctx, "telemetry pruning failed", "err", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "telemetry pruned", "points", n)
		}
		if done != nil {
			done(n, err)
		}
	}
}
