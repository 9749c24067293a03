package redislimit

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/licensor/licensor"
)

// Defaults of Options.
const (
	DefaultPrefix     = "licensor:inflight:"
	DefaultSlotTTL    = 30 * time.Second
	DefaultRetryAfter = 500 * time.Millisecond
)

// Acquirer is the limiter shape the server consumes (server.Limiter):
// take one of tenant's limit slots, waiting at most wait for one, and get
// back the func that returns it.
type Acquirer interface {
	Acquire(ctx context.Context, tenant string, limit int, wait time.Duration) (release func(), err error)
}

// Options configure a Limiter.
type Options struct {
	// Prefix of the Redis keys; one sorted set per tenant (default
	// DefaultPrefix). Servers sharing a limit must share the prefix.
	Prefix string
	// SlotTTL is how long a slot lives without being extended: the longest
	// a crashed server's slots stay counted (default DefaultSlotTTL).
	SlotTTL time.Duration
	// RetryAfter is the hint on a refusal (default DefaultRetryAfter).
	RetryAfter time.Duration
	// Fallback serves while Redis is unreachable. Nil: such requests are
	// refused with EUNAVAILABLE.
	Fallback Acquirer
	Logger   *slog.Logger
}

// Limiter is the Redis-backed limiter. Safe for concurrent use.
type Limiter struct {
	rdb  redis.UniversalClient
	opts Options
	log  *slog.Logger

	lastWarn atomic.Int64 // unix nanos of the last "Redis down" warning
	extended atomic.Int64 // slot extensions, for tests and metrics
}

var _ Acquirer = (*Limiter)(nil)

// New returns a Limiter on rdb.
func New(rdb redis.UniversalClient, o Options) *Limiter {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.SlotTTL <= 0 {
		o.SlotTTL = DefaultSlotTTL
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Limiter{rdb: rdb, opts: o, log: o.Logger.With("component", "ratelimit/redis")}
}

// Dial connects to the Redis at url (redis://[:password@]host:6379/db, or
// rediss:// for TLS) and checks that it answers.
func Dial(ctx context.Context, url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, fmt.Errorf("redis: the URL does not parse: it should look like redis://host:6379/0")
	}
	c := redis.NewClient(opt)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis: connect to %s: %w", opt.Addr, err)
	}
	return c, nil
}

// Scripts. Times are the Redis server's, in milliseconds.
var (
	// KEYS[1] the tenant's set; ARGV limit, slot id, ttl ms. 1: admitted.
	acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1`)
	// KEYS[1] the set; ARGV slot id, ttl ms. 1: extended, 0: gone.
	extendScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1`)
	// KEYS[1] the set. The number of live slots.
	countScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`)
)

func (l *Limiter) key(tenant string) string { return l.opts.Prefix + tenant }

// Acquire takes one of tenant's limit slots across every server sharing
// the Redis, waiting at most wait for one to come free (0: refuse at once;
// waiters poll with jittered back-off, so they are not served in order).
// It returns the func that gives the slot back (safe to call twice), or an
// EEXHAUSTED error with a RetryAfter hint, or ctx's error.
func (l *Limiter) Acquire(ctx context.Context, tenant string, limit int, wait time.Duration) (func(), error) {
	deadline := time.Now().Add(wait)
	slot := newSlotID()
	key := l.key(tenant)
	ttl := l.opts.SlotTTL.Milliseconds()
	backoff := 2 * time.Millisecond
	for {
		ok, err := acquireScript.Run(ctx, l.rdb, []string{key}, limit, slot, ttl).Int()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return l.fallback(ctx, tenant, limit, time.Until(deadline), err)
		}
		if ok == 1 {
			return l.holder(key, slot), nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, l.exhausted(tenant, limit)
		}
		pause := min(left, backoff/2+rand.N(backoff/2+1))
		backoff = min(backoff*2, 50*time.Millisecond)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// holder returns the release func of a held slot, and keeps the slot alive
// (extending it every half SlotTTL) until then.
func (l *Limiter) holder(key, slot string) func() {
	var mu sync.Mutex
	released := false
	var timer *time.Timer
	half := l.opts.SlotTTL / 2
	var extend func()
	extend = func() {
		ctx, cancel := context.WithTimeout(context.Background(), half)
		n, err := extendScript.Run(ctx, l.rdb, []string{key}, slot, l.opts.SlotTTL.Milliseconds()).Int()
		cancel()
		if err == nil && n == 1 {
			l.extended.Add(1)
		}
		mu.Lock()
		defer mu.Unlock()
		if !released && (err != nil || n == 1) {
			timer = time.AfterFunc(half, extend)
		}
	}
	mu.Lock()
	timer = time.AfterFunc(half, extend)
	mu.Unlock()
	return func() {
		mu.Lock()
		if released {
			mu.Unlock()
			return
		}
		released = true
		timer.Stop()
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := l.rdb.ZRem(ctx, key, slot).Err(); err != nil {
			// It expires within SlotTTL anyway.
			l.warn("release of a concurrency slot failed; it expires by itself", err)
		}
	}
}

// fallback serves a request while Redis is unreachable.
func (l *Limiter) fallback(ctx context.Context, tenant string, limit int, wait time.Duration, cause error) (func(), error) {
	l.warn("Redis unreachable: enforcing the concurrency threshold per server", cause)
	if l.opts.Fallback != nil {
		return l.opts.Fallback.Acquire(ctx, tenant, limit, max(wait, 0))
	}
	return nil, &licensor.Error{
		Code:       licensor.EUNAVAILABLE,
		Message:    "the concurrency limiter is unavailable; retry shortly",
		RetryAfter: l.opts.RetryAfter,
		Err:        cause,
	}
}

// warn logs at most once every 10 seconds: Redis down means every request
// would say so.
func (l *Limiter) warn(msg string, err error) {
	now := time.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(10*time.Second) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn(msg, "err", err)
}

func (l *Limiter) exhausted(tenant string, limit int) error {
	return &licensor.Error{
		Code:       licensor.EEXHAUSTED,
		Message:    fmt.Sprintf("tenant %s already has %d requests in flight, its concurrency limit; retry after the hinted delay", tenant, limit),
		RetryAfter: l.opts.RetryAfter,
	}
}

// InFlight returns how many of tenant's slots are held now, on every
// server sharing the Redis.
func (l *Limiter) InFlight(ctx context.Context, tenant string) (int, error) {
	return countScript.Run(ctx, l.rdb, []string{l.key(tenant)}).Int()
}

// Extended returns how many times a held slot was extended.
func (l *Limiter) Extended() int64 { return l.extended.Load() }

func newSlotID() string {
	b := make([]byte, 12)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}
