package service

import (
	"sync"
	"time"

	"github.com/licensor/licensor"
)

// The hot path (GetLicense) authenticates a token and reads its contract on
// every call; both change rarely. They are kept in memory for a short TTL
// (Config.CacheTTL, default DefaultCacheTTL):
//
//   - A change made through this server invalidates its entry at once
//     (RevokeToken, every contract mutation), so on one server a revoked
//     token is refused, and a changed contract shows, on the very next call.
//   - A change made through another server sharing the database shows here
//     within the TTL: that is the window in which a token revoked elsewhere
//     still authenticates here. An expired token is refused at once on every
//     server, since expiry is checked against the clock on each call.
//   - Cached values are shared: callers must treat them as read-only.
//   - Seat limits never rely on the cache: a check-in decides against the
//     contract row in its own transaction.
//
// The same ttlCache keeps the tenants (telemetry policy, concurrency
// limit; CacheTTL), the tenants' signing keys (KeyCacheTTL) and which pool
// serves a contract, with the same rules.

// DefaultCacheTTL bounds how stale a cached token or contract may be.
const DefaultCacheTTL = 2 * time.Second

// maxCacheEntries bounds each cache; when full it starts again empty
// (simpler than LRU, and a full reload costs one read per entry).
const maxCacheEntries = 50_000

type cacheEntry[V any] struct {
	v      V
	loaded time.Time
}

// ttlCache is a small map with a per-entry TTL measured on the service
// clock.
//
// A fill must not undo an invalidation that happened while it was reading
// the store: a token read just before its revocation committed, and put
// back just after the revocation dropped it, would authenticate for a
// whole TTL more. So a reader takes the generation before its read and
// puts only if no invalidation has happened since (put with that gen).
type ttlCache[K comparable, V any] struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[K]cacheEntry[V]
	gen uint64 // invalidations so far; under mu
}

func newTTLCache[K comparable, V any](ttl time.Duration, now func() time.Time) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, now: now, m: make(map[K]cacheEntry[V])}
}

func (c *ttlCache[K, V]) get(key K) (V, bool) {
	var zero V
	if c.ttl <= 0 {
		return zero, false
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok {
		return zero, false
	}
	if age := now.Sub(e.loaded); age < 0 || age >= c.ttl {
		return zero, false
	}
	return e.v, true
}

// generation returns the count of invalidations so far: take it before
// reading what will be put.
func (c *ttlCache[K, V]) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches v under key, unless an invalidation has happened since gen
// (from generation, taken before v was read).
func (c *ttlCache[K, V]) put(key K, v V, gen uint64) {
	if c.ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	if c.gen != gen {
		c.mu.Unlock()
		return
	}
	if len(c.m) >= maxCacheEntries {
		clear(c.m)
	}
	c.m[key] = cacheEntry[V]{v: v, loaded: now}
	c.mu.Unlock()
}

func (c *ttlCache[K, V]) delete(key K) {
	c.mu.Lock()
	delete(c.m, key)
	c.gen++
	c.mu.Unlock()
}

// deleteFunc drops every entry for which match is true.
func (c *ttlCache[K, V]) deleteFunc(match func(V) bool) {
	c.mu.Lock()
	for k, e := range c.m {
		if match(e.v) {
			delete(c.m, k)
		}
	}
	c.gen++
	c.mu.Unlock()
}

// contractKey is a contract's key in the cache: a struct, not a joined
// string, so that a lookup allocates nothing.
type contractKey struct{ tenantID, contractID string }

// forgetToken drops a token from the cache (after a revocation).
func (s *Service) forgetToken(id string) {
	s.tokens.deleteFunc(func(t *licensor.Token) bool { return t.ID == id })
}

// forgetContract drops a contract from the cache (after a change).
func (s *Service) forgetContract(tenantID, contractID string) {
	s.contracts.delete(contractKey{tenantID, contractID})
}
