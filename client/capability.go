package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/bearer"
)

// capabilityAttempts bounds the tries of one capability call: enough to
// ride out a surge (each wait at least the server's hint), few enough that
// a server that stays down fails the call instead of hanging it.
const capabilityAttempts = 10

// DeniedError is a checkout the pool could not satisfy: not an outage, an
// answer. Shortages say what is short and when the soonest lease ends.
type DeniedError struct {
	Shortages []licensor.Shortage
}

func (e *DeniedError) Error() string {
	parts := make([]string, len(e.Shortages))
	for i, s := range e.Shortages {
		parts[i] = fmt.Sprintf("%s: %d of %d available", s.Feature, s.Available, s.Requested)
		if s.Queued {
			parts[i] += " (free units are promised to requests waiting ahead)"
		}
		if !s.NextRelease.IsZero() {
			parts[i] += " until " + s.NextRelease.UTC().Format(time.RFC3339)
		}
	}
	return "licensor: capabilities denied (" + strings.Join(parts, "; ") + ")"
}

// Lease is floating capabilities checked out of the customer's pool. An
// ordinary lease renews itself in the background (a heartbeat at half its
// remaining time) until Return or Client.Close; a borrowed one lasts until
// its expiry without renewals. A lease is safe for concurrent use.
type Lease struct {
	c   *Client
	rpc licensorv1connect.CapabilityServiceClient

	stop     context.CancelFunc
	done     chan struct{}
	lost     chan struct{}
	mu       sync.Mutex
	lease    *v1.Lease
	token    string
	err      error
	returned bool
}

// ID returns the lease id (the jti of its capability document).
func (l *Lease) ID() string { l.mu.Lock(); defer l.mu.Unlock(); return l.lease.GetId() }

// Borrowed reports whether this is a borrowed (offline) lease.
func (l *Lease) Borrowed() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.lease.GetBorrowed() }

// ExpiresAt returns when the lease ends unless renewed.
func (l *Lease) ExpiresAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lease.GetExpiresAt().AsTime()
}

// Units returns the units held per feature.
func (l *Lease) Units() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return unitsMap(l.lease.GetUnits())
}

// Overage returns, per feature, the units of the lease granted beyond the
// pool's size (from its overdraft); empty when none were.
func (l *Lease) Overage() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return unitsMap(l.lease.GetOverage())
}

// unitsMap is units per feature.
func unitsMap(us []*v1.CapabilityUnits) map[string]int64 {
	m := make(map[string]int64, len(us))
	for _, u := range us {
		m[u.GetFeature()] = u.GetUnits()
	}
	return m
}

// capabilityRequest is this instance's request for units.
func (c *Client) capabilityRequest(units []licensor.Units) *v1.RequestCapabilitiesRequest {
	req := &v1.RequestCapabilitiesRequest{ContractId: c.cfg.ContractID, InstanceId: c.instanceID}
	for _, u := range units {
		req.Capabilities = append(req.Capabilities, &v1.CapabilityUnits{Feature: u.Feature, Units: u.Units})
	}
	return req
}

// requestCapabilities sends req, retried as every call is.
func (c *Client) requestCapabilities(ctx context.Context, rpc licensorv1connect.CapabilityServiceClient, req *v1.RequestCapabilitiesRequest) (*v1.RequestCapabilitiesResponse, error) {
	var res *v1.RequestCapabilitiesResponse
	err := c.retry(ctx, func(ctx context.Context) error {
		r, err := rpc.RequestCapabilities(ctx, connect.NewRequest(req))
		if err == nil {
			res = r.Msg
		}
		return err
	})
	return res, err
}

// Token returns the current signed capability document (typ
// capability+jwt), verifiable offline with the vendor's JWKS.
func (l *Lease) Token() string { l.mu.Lock(); defer l.mu.Unlock(); return l.token }

// Lost is closed when the lease can no longer be renewed (it expired or
// an administrator released it); Err then says why.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Err returns why the lease was lost, or nil.
func (l *Lease) Err() error { l.mu.Lock(); defer l.mu.Unlock(); return l.err }

// Checkout asks for units of the pool's features as a lease that renews
// itself. A pool that is short answers with a *DeniedError; a server over
// its tenant's threshold (RESOURCE_EXHAUSTED) or unreachable is retried
// with jittered exponential back-off that honours its retry hint. Retries
// carry the same request id, so a retry after a timeout never takes units
// twice.
func (c *Client) Checkout(ctx context.Context, units ...licensor.Units) (*Lease, error) {
	return c.checkout(ctx, 0, units)
}

// Borrow checks units out for d (bounded by the contract's maximum borrow)
// as a lease that needs no renewals: for going offline. Return it early
// when back online.
func (c *Client) Borrow(ctx context.Context, d time.Duration, units ...licensor.Units) (*Lease, error) {
	if d <= 0 {
		return nil, &Error{Stage: StageServer, Err: licensor.Errorf(licensor.EINVALID, "borrow duration must be positive")}
	}
	return c.checkout(ctx, d, units)
}

func (c *Client) capabilityClient() (licensorv1connect.CapabilityServiceClient, error) {
	if c.http == nil {
		return nil, &Error{Stage: StageServer, Err: licensor.Errorf(licensor.EUNAVAILABLE, "no server configured: floating capabilities need Config.Server")}
	}
	opts := []connect.ClientOption{connect.WithInterceptors(bearer.Token(c.cfg.Token))}
	if c.cfg.Protocol == Connect {
		opts = append(opts, connect.WithProtoJSON())
	} else {
		opts = append(opts, connect.WithGRPC())
	}
	return licensorv1connect.NewCapabilityServiceClient(recording(c.http), c.cfg.Server, opts...), nil
}

func (c *Client) checkout(ctx context.Context, borrow time.Duration, units []licensor.Units) (*Lease, error) {
	rpc, err := c.capabilityClient()
	if err != nil {
		return nil, err
	}
	req := c.capabilityRequest(units)
	req.RequestId = newRequestID()
	if borrow > 0 {
		req.Borrow = durationpb.New(borrow)
	}
	res, err := c.requestCapabilities(ctx, rpc, req)
	if err != nil {
		return nil, err
	}
	return c.leaseOf(ctx, rpc, res)
}

// denied is the DeniedError of a denial.
func denied(res *v1.RequestCapabilitiesResponse) *DeniedError {
	return deniedError(res.GetShortages())
}

// leaseOf is the Lease of a grant whose capability document verifies (its
// heartbeat started unless borrowed), or the DeniedError of a denial.
func (c *Client) leaseOf(ctx context.Context, rpc licensorv1connect.CapabilityServiceClient, res *v1.RequestCapabilitiesResponse) (*Lease, error) {
	if !res.GetGranted() {
		return nil, denied(res)
	}
	if _, err := c.verifyCapability(ctx, res.GetCapabilityToken(), res.GetLease()); err != nil {
		// The server took the units; give them back rather than hold a
		// lease whose document cannot be trusted until it expires.
		c.log.Warn("capability document refused; returning the lease", "lease", res.GetLease().GetId(), "err", err)
		rctx, cancel := context.WithTimeout(c.ctx, c.cfg.Timeout)
		_, rerr := rpc.ReturnCapabilities(rctx, connect.NewRequest(&v1.ReturnCapabilitiesRequest{ContractId: c.cfg.ContractID, InstanceId: c.instanceID, LeaseId: res.GetLease().GetId()}))
		cancel()
		if rerr != nil {
			c.log.Warn("cannot return the refused lease; it ends at its expiry", "lease", res.GetLease().GetId(), "err", rerr)
		}
		return nil, err
	}
	lctx, stop := context.WithCancel(c.ctx)
	l := &Lease{c: c, rpc: rpc, stop: stop, done: make(chan struct{}), lost: make(chan struct{}), lease: res.GetLease(), token: res.GetCapabilityToken()}
	if l.lease.GetBorrowed() {
		close(l.done)
		return l, nil
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(l.done)
		l.heartbeat(lctx)
	}()
	return l, nil
}

// retry runs call until it succeeds, fails with an error worth no retry,
// ctx ends or capabilityAttempts are spent. Each try is bounded by the
// client's timeout; the waits are the client's back-off with the server's
// hint as a floor.
func (c *Client) retry(ctx context.Context, call func(context.Context) error) error {
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		actx, ri := withRespInfo(actx)
		err := call(actx)
		cancel()
		if err == nil {
			return nil
		}
		cerr := classify(actx, err, c.cfg, ri)
		switch licensor.ErrorCode(cerr) {
		case licensor.EEXHAUSTED, licensor.EUNAVAILABLE:
		default:
			return cerr
		}
		if n >= capabilityAttempts || ctx.Err() != nil {
			return cerr
		}
		select {
		case <-ctx.Done():
			return cerr
		case <-c.cfg.After(c.backoff(n, licensor.RetryAfter(cerr))):
		}
	}
}

// heartbeat renews the lease at half its remaining time until ctx ends or
// the lease is lost.
func (l *Lease) heartbeat(ctx context.Context) {
	c := l.c
	for {
		c.mu.Lock()
		now := c.nowLocked()
		c.mu.Unlock()
		wait := max(l.ExpiresAt().Sub(now)/2, c.cfg.MinBackoff)
		select {
		case <-ctx.Done():
			return
		case <-c.cfg.After(wait):
		}
		var res *v1.RenewLeaseResponse
		err := c.retry(ctx, func(ctx context.Context) error {
			r, err := l.rpc.RenewLease(ctx, connect.NewRequest(&v1.RenewLeaseRequest{ContractId: c.cfg.ContractID, InstanceId: c.instanceID, LeaseId: l.ID()}))
			if err == nil {
				res = r.Msg
			}
			return err
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			switch licensor.ErrorCode(err) {
			case licensor.EPRECONDITION, licensor.ENOTFOUND, licensor.EFORBIDDEN:
				l.mu.Lock()
				l.err = err
				l.mu.Unlock()
				close(l.lost)
				c.log.Warn("capability lease lost", "lease", l.ID(), "err", licensor.ErrorMessage(err))
				return
			}
			// Transient: try again at half the (shrinking) time left.
			c.log.Warn("capability lease renewal failed; retrying", "lease", l.ID(), "err", licensor.ErrorMessage(err))
			continue
		}
		if _, err := c.verifyCapability(ctx, res.GetCapabilityToken(), res.GetLease()); err != nil {
			// Keep the document held; the next renewal may bring a good one.
			c.log.Warn("renewed capability document refused; retrying", "lease", l.ID(), "err", licensor.ErrorMessage(err))
			continue
		}
		l.mu.Lock()
		l.lease, l.token = res.GetLease(), res.GetCapabilityToken()
		l.mu.Unlock()
	}
}

// Return gives the lease back (all its units) and stops its renewals. A
// lease already gone (expired, released) counts as returned. Calling it
// again does nothing.
func (l *Lease) Return(ctx context.Context) error {
	l.stop()
	<-l.done
	l.mu.Lock()
	if l.returned {
		l.mu.Unlock()
		return nil
	}
	l.returned = true
	id := l.lease.GetId()
	l.mu.Unlock()
	c := l.c
	err := c.retry(ctx, func(ctx context.Context) error {
		_, err := l.rpc.ReturnCapabilities(ctx, connect.NewRequest(&v1.ReturnCapabilitiesRequest{ContractId: c.cfg.ContractID, InstanceId: c.instanceID, LeaseId: id}))
		return err
	})
	switch licensor.ErrorCode(err) {
	case "", licensor.ENOTFOUND, licensor.EPRECONDITION:
		return nil
	}
	l.mu.Lock()
	l.returned = false // let the caller try again
	l.mu.Unlock()
	return err
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

// Renew extends the lease now rather than at its next heartbeat, and
// returns the error if that failed; the heartbeat carries on either way.
// A borrowed lease cannot be renewed (the server answers
// FAILED_PRECONDITION).
func (l *Lease) Renew(ctx context.Context) error {
	c := l.c
	var res *v1.RenewLeaseResponse
	err := c.retry(ctx, func(ctx context.Context) error {
		r, err := l.rpc.RenewLease(ctx, connect.NewRequest(&v1.RenewLeaseRequest{ContractId: c.cfg.ContractID, InstanceId: c.instanceID, LeaseId: l.ID()}))
		if err == nil {
			res = r.Msg
		}
		return err
	})
	if err != nil {
		return err
	}
	if _, err := c.verifyCapability(ctx, res.GetCapabilityToken(), res.GetLease()); err != nil {
		return err
	}
	l.mu.Lock()
	l.lease, l.token = res.GetLease(), res.GetCapabilityToken()
	l.mu.Unlock()
	return nil
}
