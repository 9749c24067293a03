package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/service"
)

// Limiter bounds how many requests of one tenant are in flight at once.
// LocalLimiter counts in this process; a shared implementation (Redis, say)
// can bound a tenant across several servers behind the same interface.
type Limiter interface {
	// Acquire takes one of tenant's limit slots, waiting at most wait for
	// one to come free (0: refuse at once). It returns the func that gives
	// the slot back, or an EEXHAUSTED error with a RetryAfter hint.
	Acquire(ctx context.Context, tenant string, limit int, wait time.Duration) (release func(), err error)
}

// DefaultRetryAfter is the retry hint of a request refused for being over
// its tenant's concurrency threshold.
const DefaultRetryAfter = 500 * time.Millisecond

// LocalLimiter is an in-process Limiter: a counter and a FIFO of waiters per
// tenant. One tenant's surge never touches another tenant's counter.
type LocalLimiter struct {
	retryAfter time.Duration
	mu         sync.Mutex
	tenants    map[string]*tenantSlots
}

type tenantSlots struct {
	inFlight int
	limit    int
	waiters  []chan struct{}
}

// NewLocalLimiter returns a LocalLimiter whose refusals carry retryAfter
// (DefaultRetryAfter if 0).
func NewLocalLimiter(retryAfter time.Duration) *LocalLimiter {
	if retryAfter <= 0 {
		retryAfter = DefaultRetryAfter
	}
	return &LocalLimiter{retryAfter: retryAfter, tenants: make(map[string]*tenantSlots)}
}

// Acquire implements Limiter.
func (l *LocalLimiter) Acquire(ctx context.Context, tenant string, limit int, wait time.Duration) (func(), error) {
	l.mu.Lock()
	s := l.tenants[tenant]
	if s == nil {
		s = &tenantSlots{}
		l.tenants[tenant] = s
	}
	s.limit = limit
	if s.inFlight < limit && len(s.waiters) == 0 {
		s.inFlight++
		l.mu.Unlock()
		return l.releaser(s), nil
	}
	if wait <= 0 {
		l.mu.Unlock()
		return nil, l.exhausted(tenant, limit)
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	l.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ch:
		return l.releaser(s), nil
	case <-timer.C:
	case <-ctx.Done():
	}
	l.mu.Lock()
	for i, w := range s.waiters {
		if w == ch {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			l.mu.Unlock()
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, l.exhausted(tenant, limit)
		}
	}
	// A release handed us its slot just as we gave up: take it.
	l.mu.Unlock()
	return l.releaser(s), nil
}

// releaser returns the func that gives a slot back: to the first waiter if
// the limit still allows it, else to the counter. It is safe to call twice.
func (l *LocalLimiter) releaser(s *tenantSlots) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if len(s.waiters) > 0 && s.inFlight <= s.limit {
				close(s.waiters[0])
				s.waiters = s.waiters[1:]
				return
			}
			s.inFlight--
		})
	}
}

func (l *LocalLimiter) exhausted(tenant string, limit int) error {
	return &licensor.Error{
		Code:       licensor.EEXHAUSTED,
		Message:    fmt.Sprintf("tenant %s already has %d requests in flight, its concurrency limit; retry after the hinted delay", tenant, limit),
		RetryAfter: l.retryAfter,
	}
}

// InFlight returns how many of tenant's requests hold a slot now.
func (l *LocalLimiter) InFlight(tenant string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.tenants[tenant]; s != nil {
		return s.inFlight
	}
	return 0
}

// limitedServices are the services whose contract-token calls count
// against the tenant's threshold: what instances call, in bulk.
var limitedServices = []string{
	"/" + licensorv1connect.LicenseServiceName + "/",
	"/" + licensorv1connect.CapabilityServiceName + "/",
}

// limitInterceptor applies the per-tenant concurrency threshold to unary
// contract-token calls, after authentication. Streams (WatchLicense) are
// not counted: they are long-lived and idle.
type limitInterceptor struct {
	limiter   Limiter
	svc       *service.Service
	onRefused func(tenantID string)
	onAdmit   func(tenantID string, waited time.Duration)
	refused   sync.Map // tenant id → *atomic.Uint64
}

func newLimitInterceptor(cfg Config) *limitInterceptor {
	l := cfg.Limiter
	if l == nil {
		l = NewLocalLimiter(0)
	}
	return &limitInterceptor{limiter: l, svc: cfg.Service, onRefused: cfg.OnRefused, onAdmit: cfg.OnAdmitted}
}

func (i *limitInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		a, ok := licensor.ActorFrom(ctx)
		if !ok || a.Role != licensor.RoleContract || !limited(req.Spec().Procedure) {
			return next(ctx, req)
		}
		limit, wait := i.tenantLimits(ctx, a.TenantID)
		var start time.Time
		if i.onAdmit != nil {
			start = time.Now() // a duration measured, not an expiry decided: the wall clock
		}
		release, err := i.limiter.Acquire(ctx, a.TenantID, limit, wait)
		if err == nil && i.onAdmit != nil {
			i.onAdmit(a.TenantID, time.Since(start))
		}
		if err != nil {
			if licensor.ErrorCode(err) == licensor.EEXHAUSTED {
				i.counter(a.TenantID).Add(1)
				if i.onRefused != nil {
					i.onRefused(a.TenantID)
				}
			}
			return nil, err
		}
		defer release()
		return next(ctx, req)
	}
}

func (i *limitInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *limitInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

func (i *limitInterceptor) counter(tenant string) *atomic.Uint64 {
	if c, ok := i.refused.Load(tenant); ok {
		return c.(*atomic.Uint64)
	}
	c, _ := i.refused.LoadOrStore(tenant, new(atomic.Uint64))
	return c.(*atomic.Uint64)
}

func limited(procedure string) bool {
	for _, p := range limitedServices {
		if strings.HasPrefix(procedure, p) {
			return true
		}
	}
	return false
}

// Refused returns how many of tenant's requests this server has refused
// for being over its concurrency threshold.
func (s *Server) Refused(tenantID string) uint64 {
	if c, ok := s.limit.refused.Load(tenantID); ok {
		return c.(*atomic.Uint64).Load()
	}
	return 0
}

// tenantLimits asks the service for the tenant's threshold on every
// request: the service answers from its tenant cache, which UpdateTenant
// invalidates, so a changed limit applies to the next request. If the
// tenant cannot be read, the default limit keeps the server serving; the
// next request asks again.
func (i *limitInterceptor) tenantLimits(ctx context.Context, tenantID string) (int, time.Duration) {
	limit, wait, err := i.svc.TenantLimits(ctx, tenantID)
	if err != nil {
		return licensor.DefaultConcurrencyLimit, 0
	}
	return limit, wait
}
