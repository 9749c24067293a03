package service

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/signing"
)

// Config wires a Service.
type Config struct {
	Store  licensor.Store
	Sealer *signing.Sealer
	// Feed carries contract changes to WatchLicense streams; default: a new Hub.
	Feed licensor.ChangeFeed
	// Now is the clock; default time.Now. Everything that expires reads it.
	Now    func() time.Time
	Logger *slog.Logger
	// KeyCacheTTL bounds how long a server keeps signing with a key after
	// another server rotated it (default 1 minute). Licenses signed by the
	// old key stay valid: the old key remains in the JWKS.
	KeyCacheTTL time.Duration
	// CacheTTL bounds how long a token or contract read for GetLicense is
	// reused (default DefaultCacheTTL; negative: no cache). See cache.go.
	CacheTTL time.Duration
	// SignWorkers, if set, computes signatures on long-lived goroutines
	// (see signing.SignWorkers); the caller closes it after the service's
	// last use. Nil signs on each request's goroutine.
	SignWorkers *signing.SignWorkers
	// MaxWait bounds how long a capability request may wait in a pool's
	// queue (default licensor.DefaultMaxWait, at most licensor.MaxMaxWait).
	MaxWait time.Duration
	// QueuePoll is how often a waiting request looks at its queue when
	// nothing wakes it (default DefaultQueuePoll).
	QueuePoll time.Duration
	// After is the timer of waits, beside Now; default time.After.
	After func(time.Duration) <-chan time.Time
	// OnQueue, if set, is told what happens to waiting requests (metrics).
	OnQueue func(QueueEvent)
	// Webhooks is what webhook destinations the operator allows; a
	// registration is checked against it (the dispatcher checks again on
	// each address it dials).
	Webhooks licensor.WebhookPolicy
	// TracerProvider, if set, spans each signature under the request's
	// span (sign.license, sign.capability); nil traces nothing.
	TracerProvider trace.TracerProvider
	// WebhookQueued, if set, is called after the service queued a webhook
	// event itself (a test event), to wake the dispatcher.
	WebhookQueued func()
}

// Service implements the use cases. Safe for concurrent use.
type Service struct {
	store  licensor.Store
	sealer *signing.Sealer
	feed   licensor.ChangeFeed
	now    func() time.Time
	log    *slog.Logger
	dash   dashboards // per-tenant dashboard counts (dashboard.go)
	sigw   *signing.SignWorkers
	hooks  licensor.WebhookPolicy
	tracer trace.Tracer // nil: tracing off
	queued func()

	maxWait   time.Duration
	queuePoll time.Duration
	after     func(time.Duration) <-chan time.Time
	onQueue   func(QueueEvent)

	tokens    *ttlCache[[sha256.Size]byte, *licensor.Token] // by token hash
	contracts *ttlCache[contractKey, *licensor.Contract]
	// By tenant id: signing keys for Config.KeyCacheTTL (keys.go), and the
	// tenant settings the hot path reads (telemetry policy, concurrency
	// limit; tenant.go) for Config.CacheTTL.
	keys    *ttlCache[string, *tenantKeys]
	tenants *ttlCache[string, *licensor.Tenant]
	pools   *poolCache // which pool serves a contract (poolcache.go)
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Feed == nil {
		cfg.Feed = NewHub()
	}
	if cfg.KeyCacheTTL == 0 {
		cfg.KeyCacheTTL = time.Minute
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = licensor.DefaultMaxWait
	}
	cfg.MaxWait = min(cfg.MaxWait, licensor.MaxMaxWait)
	if cfg.QueuePoll <= 0 {
		cfg.QueuePoll = DefaultQueuePoll
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	s := &Service{
		store:  cfg.Store,
		sealer: cfg.Sealer,
		feed:   cfg.Feed,
		now:    cfg.Now,
		log:    cfg.Logger.With("component", "service"),
		sigw:   cfg.SignWorkers,
		hooks:  cfg.Webhooks,

		maxWait:   cfg.MaxWait,
		queuePoll: cfg.QueuePoll,
		after:     cfg.After,
		onQueue:   cfg.OnQueue,
		queued:    cfg.WebhookQueued,
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.TracerProvider != nil {
		s.tracer = cfg.TracerProvider.Tracer("github.com/licensor/licensor/service")
	}
	s.tokens = newTTLCache[[sha256.Size]byte, *licensor.Token](cfg.CacheTTL, cfg.Now)
	s.contracts = newTTLCache[contractKey, *licensor.Contract](cfg.CacheTTL, cfg.Now)
	s.keys = newTTLCache[string, *tenantKeys](cfg.KeyCacheTTL, cfg.Now)
	s.tenants = newTTLCache[string, *licensor.Tenant](cfg.CacheTTL, cfg.Now)
	s.pools = newPoolCache(cfg.CacheTTL, cfg.Now)
	return s
}

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.now() }

// Feed returns the change feed.
func (s *Service) Feed() licensor.ChangeFeed { return s.feed }

// actor returns the caller, or EUNAUTHORIZED when the context carries none.
func actor(ctx context.Context) (licensor.Actor, error) {
	a, ok := licensor.ActorFrom(ctx)
	if !ok {
		return a, licensor.Errorf(licensor.EUNAUTHORIZED, "no credentials: send Authorization: Bearer <token>")
	}
	return a, nil
}

// RequireOperator refuses everyone but the operator.
func RequireOperator(ctx context.Context) (licensor.Actor, error) {
	a, err := actor(ctx)
	if err != nil {
		return a, err
	}
	if a.Role != licensor.RoleOperator {
		return a, licensor.Errorf(licensor.EFORBIDDEN, "only the operator token may do this")
	}
	return a, nil
}

// AdminScope resolves the tenant an admin call acts on and returns ctx
// scoped to it. The operator must name the tenant; a tenant admin may leave
// it empty or name its own. Another tenant is ENOTFOUND, exactly as if it did
// not exist: tenants never learn of each other.
func (s *Service) AdminScope(ctx context.Context, tenantID string) (context.Context, licensor.Actor, error) {
	a, err := actor(ctx)
	if err != nil {
		return ctx, a, err
	}
	switch a.Role {
	case licensor.RoleOperator:
		if tenantID == "" {
			return ctx, a, licensor.Errorf(licensor.EINVALID, "tenant_id is required when calling with the operator token")
		}
		if err := licensor.ValidateID("tenant_id", tenantID); err != nil {
			return ctx, a, err
		}
		if _, err := s.store.GetTenant(ctx, tenantID); err != nil {
			return ctx, a, err
		}
	case licensor.RoleAdmin:
		if tenantID == "" {
			tenantID = a.TenantID
		}
		if tenantID != a.TenantID {
			return ctx, a, licensor.Errorf(licensor.ENOTFOUND, "tenant %s not found", tenantID)
		}
	default:
		return ctx, a, licensor.Errorf(licensor.EFORBIDDEN, "a contract token cannot call the admin API; use a tenant admin token")
	}
	return licensor.WithTenant(ctx, tenantID), a, nil
}

// audit appends an entry for a mutation that has succeeded. A failure to
// write the audit log is logged loudly but does not undo the mutation,
// which has already been committed.
func (s *Service) audit(ctx context.Context, action, objectType, objectID string, before, after any) {
	a, _ := licensor.ActorFrom(ctx)
	tenantID, _ := licensor.TenantFrom(ctx)
	e := &licensor.AuditEntry{
		ID:         licensor.NewID(licensor.PrefixAudit),
		TenantID:   tenantID,
		At:         s.now().UTC(),
		ActorRole:  a.Role,
		TokenID:    a.TokenID,
		Action:     action,
		ObjectType: objectType,
		ObjectID:   objectID,
		Before:     auditJSON(before),
		After:      auditJSON(after),
	}
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit log write failed", "action", action, "object", objectID, "err", err)
	}
}

func auditJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
