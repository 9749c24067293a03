package service

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/licensor/licensor"
)

// tenantCache keeps each tenant's settings for ttl, so that the license
// hot path does not read the tenant row per call to learn its telemetry
// policy. UpdateTenant invalidates this server's entry at once; another
// server picks a change up within ttl.
type tenantCache struct {
	s   *Service
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedTenant
}

type cachedTenant struct {
	loaded time.Time
	t      *licensor.Tenant
}

func newTenantCache(s *Service, ttl time.Duration) *tenantCache {
	return &tenantCache{s: s, ttl: ttl, m: make(map[string]cachedTenant)}
}

func (c *tenantCache) invalidate(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// get returns the tenant ctx is scoped to.
func (c *tenantCache) get(ctx context.Context) (*licensor.Tenant, error) {
	id, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	now := c.s.now()
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Sub(e.loaded) < c.ttl && now.Sub(e.loaded) >= 0 {
		return e.t, nil
	}
	t, err := c.s.store.GetTenant(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.m[id] = cachedTenant{loaded: now, t: t}
	c.mu.Unlock()
	return t, nil
}

// check is what a license request records, decided before anything is
// issued or stored.
type check struct {
	instanceID string
	env        string
	remoteAddr string
	telemetry  *licensor.Telemetry // as the tenant keeps it; nil: none sent
}

// prepareCheck validates what an instance sent and decides what is kept:
// the instance id (the normalized origin under the production-URL seat
// rule), the environment, and the telemetry after the tenant's field
// opt-outs, IP truncation and token redaction. An invalid request is
// refused here, before a license is signed or a row is written.
// Nothing of the request's headers (the bearer token among them) is ever
// part of what is kept: telemetry comes from the message body only.
func (s *Service) prepareCheck(ctx context.Context, c *licensor.Contract, req LicenseRequest) (check, error) {
	id, err := c.InstanceKey(req.InstanceID)
	if err != nil {
		return check{}, err
	}
	ch := check{instanceID: id, env: req.Environment, remoteAddr: req.RemoteAddr}
	if req.Telemetry != nil {
		if err := req.Telemetry.Validate(); err != nil {
			return check{}, err
		}
		if ch.env == "" {
			ch.env = req.Telemetry.Environment
		}
	}
	if err := licensor.ValidateEnvironment(ch.env); err != nil {
		return check{}, err
	}
	t, err := s.tenants.get(ctx)
	if err != nil {
		return check{}, err
	}
	if req.Telemetry != nil {
		ch.telemetry = t.KeepTelemetry(*req.Telemetry)
	}
	if t.TruncateIPs {
		ch.remoteAddr = licensor.TruncateAddr(ch.remoteAddr)
	}
	return ch, nil
}

// maxNamedSeats bounds how many seat holders an EEXHAUSTED message names.
const maxNamedSeats = 10

// seatsTaken turns a store's EEXHAUSTED for a production-URL contract into
// an error naming the URLs that hold the seats, so the customer can see
// which site to release. Other errors pass through.
func (s *Service) seatsTaken(ctx context.Context, c *licensor.Contract, err error) error {
	if c.SeatRule != licensor.SeatProductionURL || licensor.ErrorCode(err) != licensor.EEXHAUSTED {
		return err
	}
	holders, lerr := s.store.ListInstances(ctx, licensor.InstanceFilter{
		ContractID: c.ID, SeatHolders: true, ListOptions: licensor.ListOptions{Limit: maxNamedSeats + 1},
	})
	if lerr != nil || len(holders) == 0 {
		return err
	}
	var urls []string
	for i, h := range holders {
		if i == maxNamedSeats {
			urls = append(urls, "and more")
			break
		}
		urls = append(urls, h.ID)
	}
	return licensor.Errorf(licensor.EEXHAUSTED,
		"all %d production URL seats of contract %s are taken by %s; release one (admin instance release-seat) or raise the contract's seats",
		c.MaxSeats, c.ID, strings.Join(urls, ", "))
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
