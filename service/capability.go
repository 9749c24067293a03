package service

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/licensor/licensor"
)

// CapabilityRequest is what a device sends to check out floating features.
type CapabilityRequest struct {
	ContractID   string
	InstanceID   string
	Units        []licensor.Units
	Preview      bool
	AllowPartial bool
	// Borrow, if non-zero, asks for a long lease (for going offline),
	// bounded by the contract's MaxBorrow.
	Borrow time.Duration
	// RequestID makes the request idempotent: a retry with the same id
	// gets the first answer and takes nothing.
	RequestID string
	// PoolID picks a pool; by default the contract's own pool, else its
	// customer's.
	PoolID string
	// Wait, for WaitCapabilities only, is how long the request may wait
	// in the pool's queue (at most the server's MaxWait).
	Wait time.Duration
}

// CapabilityAnswer is a grant or a denial. A denial is not an error.
type CapabilityAnswer struct {
	Granted   bool
	Preview   bool
	Replayed  bool
	Lease     *licensor.Lease
	Token     string // signed capability document, when a lease was granted
	Shortages []licensor.Shortage
	// TimedOut is set on the denial of a request that waited in the
	// queue until its wait ran out.
	TimedOut bool
}

// FeatureAvailability is one feature of a pool as an instance sees it.
type FeatureAvailability struct {
	PoolID string
	licensor.PoolFeature
	HeldByInstance int64
}

// capabilityContract checks the caller as contractForInstance does and
// that the contract is in force now: a suspended, not yet started or ended
// contract lends nothing (EFORBIDDEN).
func (s *Service) capabilityContract(ctx context.Context, contractID string, instanceID *string) (context.Context, *licensor.Contract, error) {
	ctx, c, err := s.contractForInstance(ctx, contractID, instanceID)
	if err != nil {
		return ctx, nil, err
	}
	now := s.now()
	switch {
	case c.Status == licensor.ContractSuspended:
		return ctx, nil, licensor.Errorf(licensor.EFORBIDDEN, "contract %s is suspended", c.ID)
	case now.Before(c.StartsAt):
		return ctx, nil, licensor.Errorf(licensor.EFORBIDDEN, "contract %s starts at %s", c.ID, c.StartsAt.UTC().Format(time.RFC3339))
	case c.Ended(now):
		return ctx, nil, licensor.Errorf(licensor.EFORBIDDEN, "contract %s has ended", c.ID)
	}
	return ctx, c, nil
}

// RequestCapabilities grants units of a pool's features as a lease, or
// says what is short. Codes: EUNAUTHORIZED, EFORBIDDEN (another contract's
// token, a contract not in force), EINVALID (unknown feature, bad counts, a
// feature twice, a borrow beyond the contract's maximum), ENOTFOUND (pool),
// EPRECONDITION (no pool), ECONFLICT (a request id reused for a different
// request).
func (s *Service) RequestCapabilities(ctx context.Context, req CapabilityRequest) (*CapabilityAnswer, error) {
	if req.Wait != 0 {
		return nil, licensor.Errorf(licensor.EINVALID, "wait is for WaitCapabilities, which streams the queue position; RequestCapabilities answers at once")
	}
	ctx, pr, err := s.prepareTake(ctx, req)
	if err != nil {
		return nil, err
	}
	return s.take(ctx, pr.take)
}

// preparedTake is a checked capability request and the Take that runs it.
type preparedTake struct {
	contract *licensor.Contract
	pool     *licensor.Pool
	take     licensor.Take
	borrow   time.Duration
}

// prepareTake checks a capability request (see RequestCapabilities) and
// builds its Take at the service clock's now.
func (s *Service) prepareTake(ctx context.Context, req CapabilityRequest) (context.Context, *preparedTake, error) {
	ctx, c, err := s.capabilityContract(ctx, req.ContractID, &req.InstanceID)
	if err != nil {
		return ctx, nil, err
	}
	units, err := licensor.NormalizeUnits(req.Units, false)
	if err != nil {
		return ctx, nil, err
	}
	if req.Borrow != 0 {
		if err := licensor.ValidateDuration("borrow", req.Borrow, time.Minute, c.MaxBorrow); err != nil {
			return ctx, nil, licensor.Errorf(licensor.EINVALID, "borrow of %s is beyond what contract %s allows: %s", req.Borrow, c.ID, licensor.ErrorMessage(err))
		}
	}
	if req.RequestID != "" {
		if err := licensor.ValidateID("request_id", req.RequestID); err != nil {
			return ctx, nil, err
		}
	}
	p, err := s.poolFor(ctx, c, req.PoolID)
	if err != nil {
		return ctx, nil, err
	}
	for _, u := range units {
		if _, ok := p.Feature(u.Feature); !ok {
			names := make([]string, len(p.Features))
			for i, f := range p.Features {
				names[i] = f.Feature
			}
			return ctx, nil, licensor.Errorf(licensor.EINVALID, "feature %q is not in pool %s; it has %s", u.Feature, p.ID, strings.Join(names, ", "))
		}
	}
	pr := &preparedTake{contract: c, pool: p, borrow: req.Borrow}
	pr.take = licensor.Take{
		PoolID: p.ID, ContractID: c.ID, InstanceID: req.InstanceID, Units: units,
		AllowPartial: req.AllowPartial, Preview: req.Preview, Borrowed: req.Borrow != 0,
		RequestID: req.RequestID, Express: p.Express, Reservations: reserved(p),
	}
	pr.at(s.now())
	if req.RequestID != "" {
		pr.take.Fingerprint = fingerprint(req.PoolID, units, req.AllowPartial, req.Borrow)
	}
	return ctx, pr, nil
}

// at sets the take's time to now, with a new lease id and the expiry a
// grant at now would have: the pool's TTL or the borrow, never past the
// contract's end.
func (pr *preparedTake) at(now time.Time) {
	now = now.UTC()
	expires := now.Add(pr.pool.LeaseTTL)
	if pr.borrow != 0 {
		expires = now.Add(pr.borrow)
	}
	if c := pr.contract; !c.EndsAt.IsZero() && expires.After(c.EndsAt) {
		expires = c.EndsAt
	}
	pr.take.LeaseID = licensor.NewID(licensor.PrefixLease)
	pr.take.Now, pr.take.ExpiresAt = now, expires
}

// take runs a Take and signs the lease it grants.
func (s *Service) take(ctx context.Context, t licensor.Take) (*CapabilityAnswer, error) {
	res, err := s.store.TakeCapabilities(ctx, t)
	if err != nil {
		return nil, err
	}
	ans := &CapabilityAnswer{Granted: res.Granted, Preview: t.Preview, Replayed: res.Replayed, Lease: res.Lease, Shortages: res.Shortages}
	if res.Lease != nil {
		if ans.Token, err = s.signCapability(ctx, res.Lease); err != nil {
			return nil, err
		}
	}
	return ans, nil
}

// fingerprint is what a request asked for, so that a request id reused for
// another request is caught.
func fingerprint(poolID string, units []licensor.Units, partial bool, borrow time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pool=%s;partial=%t;borrow=%d", poolID, partial, borrow)
	for _, u := range units {
		fmt.Fprintf(&b, ";%s=%d", u.Feature, u.Units)
	}
	return b.String()
}

// signCapability signs the capability document of a lease. Its iat is the
// lease's last renewal, so signing the same lease state again yields the
// same token (Ed25519 is deterministic): a replayed answer is identical.
func (s *Service) signCapability(ctx context.Context, l *licensor.Lease) (string, error) {
	tk, err := s.tenantKeys(ctx)
	if err != nil {
		return "", err
	}
	units := make(map[string]int64, len(l.Units))
	for _, u := range l.Units {
		units[u.Feature] = u.Units
	}
	span := s.signSpan(ctx, "sign.capability")
	var overage map[string]int64
	for _, u := range l.Overage {
		if overage == nil {
			overage = make(map[string]int64, len(l.Overage))
		}
		overage[u.Feature] = u.Units
	}
	tok, err := tk.signer.SignCapability(licensor.CapabilityClaims{
		Issuer: l.TenantID, Subject: l.InstanceID, ID: l.ID,
		IssuedAt: l.RenewedAt.Unix(), NotBefore: l.RenewedAt.Unix(), Expiry: l.ExpiresAt.Unix(),
		Contract: l.ContractID, Pool: l.PoolID, Units: units, Borrowed: l.Borrowed, Overage: overage,
	})
	endSpan(span)
	if err != nil {
		return "", licensor.Internal("sign capability", err)
	}
	return tok, nil
}

// ReturnCapabilities gives back some units of a lease, or all with none
// listed, and returns what is left (nil when nothing is). Returns are
// accepted even from a contract no longer in force.
// Codes: EUNAUTHORIZED, EFORBIDDEN, EINVALID, ENOTFOUND (no such lease of
// this instance), EPRECONDITION (the lease had expired).
func (s *Service) ReturnCapabilities(ctx context.Context, contractID, instanceID, leaseID string, units []licensor.Units) (*licensor.Lease, error) {
	ctx, c, err := s.contractForInstance(ctx, contractID, &instanceID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("lease_id", leaseID); err != nil {
		return nil, err
	}
	if units, err = licensor.NormalizeUnits(units, true); err != nil {
		return nil, err
	}
	l, waiting, err := s.store.ReturnCapabilities(ctx, licensor.LeaseReturn{LeaseID: leaseID, ContractID: c.ID, InstanceID: instanceID, Units: units, Now: s.now().UTC()})
	if waiting && (err == nil || licensor.ErrorCode(err) == licensor.EPRECONDITION) {
		// Units came back (or an expired lease's did) and requests may
		// wait for them: wake the customer's queues, on every server.
		s.wakeQueue(ctx, c.TenantID, c.CustomerID)
	}
	return l, err
}

// RenewLease extends a live lease by its pool's TTL, never past the
// contract's end, and signs its new capability document. A borrowed lease
// keeps its expiry.
// Codes: EUNAUTHORIZED, EFORBIDDEN, EINVALID, ENOTFOUND, EPRECONDITION
// (the lease has expired: request the capabilities again).
func (s *Service) RenewLease(ctx context.Context, contractID, instanceID, leaseID string) (*licensor.Lease, string, error) {
	ctx, c, err := s.capabilityContract(ctx, contractID, &instanceID)
	if err != nil {
		return nil, "", err
	}
	if err := licensor.ValidateID("lease_id", leaseID); err != nil {
		return nil, "", err
	}
	l, err := s.store.RenewLease(ctx, licensor.LeaseRenewal{LeaseID: leaseID, ContractID: c.ID, InstanceID: instanceID, Now: s.now().UTC(), NotAfter: c.EndsAt})
	if err != nil {
		return nil, "", err
	}
	tok, err := s.signCapability(ctx, l)
	if err != nil {
		return nil, "", err
	}
	return l, tok, nil
}

// ListCapabilityFeatures (CapabilityService.ListFeatures) returns the leases an instance holds and what every pool
// serving its contract has free. Codes: EUNAUTHORIZED, EFORBIDDEN, EINVALID.
func (s *Service) ListCapabilityFeatures(ctx context.Context, contractID, instanceID string) ([]*licensor.Lease, []FeatureAvailability, error) {
	ctx, c, err := s.contractForInstance(ctx, contractID, &instanceID)
	if err != nil {
		return nil, nil, err
	}
	leases, err := s.store.ListLeases(ctx, licensor.LeaseFilter{ContractID: c.ID, InstanceID: instanceID, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	live := leases[:0]
	held := map[[2]string]int64{}
	for _, l := range leases {
		if !l.ExpiresAt.After(now) {
			continue // expired, not yet reaped
		}
		live = append(live, l)
		for _, u := range l.Units {
			held[[2]string{l.PoolID, u.Feature}] += u.Units
		}
	}
	ps, err := s.store.ListPools(ctx, licensor.PoolFilter{CustomerID: c.CustomerID, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
	if err != nil {
		return nil, nil, err
	}
	var fs []FeatureAvailability
	for _, p := range ps {
		if !p.Serves(c) {
			continue
		}
		for _, f := range p.Features {
			fs = append(fs, FeatureAvailability{PoolID: p.ID, PoolFeature: f, HeldByInstance: held[[2]string{p.ID, f.Feature}]})
		}
	}
	return live, fs, nil
}

// Reaper batch size: one write transaction frees at most this many leases.
const reapBatch = 500

// ReapLeases frees every lease that has expired by the service clock, in
// batches, and returns how many it freed. Several servers may run it at
// once: each lease is freed by exactly one of them.
func (s *Service) ReapLeases(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.store.ExpireLeases(ctx, s.now().UTC(), reapBatch)
		total += n
		if err != nil || n < reapBatch {
			return total, err
		}
	}
}

// RunReaper runs ReapLeases every interval until ctx ends.
func (s *Service) RunReaper(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	log := s.log.With("job", "reaper")
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.ReapLeases(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.ErrorContext(ctx, "freeing expired leases failed", "err", err)
		case n > 0:
			log.LogAttrs(ctx, slog.LevelDebug, "freed expired leases", slog.Int("leases", n))
		}
	}
}
