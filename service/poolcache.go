package service

import (
	"context"
	"slices"
	"time"

	"github.com/licensor/licensor"
)

// Which pool serves a capability request was read from the store on every
// call (the customer's pools and their features): a tenth of the server's
// CPU under load. It changes only when a pool is created or resized, so it
// is cached like contracts (cache.go), for CacheTTL:
//
//   - Units are never decided from the cache. It says which pool to ask,
//     whether the pool has a feature at all and the pool's lease TTL; the
//     store then takes units with its conditional UPDATE on the pool's row.
//     The cached pools carry no InUse, so nobody can read stale counts.
//   - A pool created or resized through this server drops the tenant's
//     entries at once: the next request sees it. Through another server
//     sharing the database, it shows here within CacheTTL (until then a
//     new feature is "not in pool", a new TTL not yet applied).
//   - A load that started before an invalidation is not stored (the
//     cache's generation), so a read racing a resize cannot put the old
//     pool back for a whole TTL.
//   - Failures (no pool, unknown pool) are not cached.

// poolCache maps a contract (or a pool named by id) to the pool it draws
// from.
type poolCache struct {
	m *ttlCache[string, *licensor.Pool]
}

func newPoolCache(ttl time.Duration, now func() time.Time) *poolCache {
	return &poolCache{m: newTTLCache[string, *licensor.Pool](ttl, now)}
}

func contractPoolKey(tenantID, contractID string) string { return tenantID + "/c/" + contractID }
func namedPoolKey(tenantID, poolID string) string        { return tenantID + "/p/" + poolID }

// routeOnly returns a copy of p fit for the cache: no units in use.
func routeOnly(p *licensor.Pool) *licensor.Pool {
	c := *p
	c.Features = slices.Clone(p.Features)
	for i := range c.Features {
		c.Features[i].InUse = 0
	}
	return &c
}

// load returns the cached pool under key, or calls read and caches what it
// returns (unless an invalidation happened meanwhile).
func (pc *poolCache) load(key string, read func() (*licensor.Pool, error)) (*licensor.Pool, error) {
	if p, ok := pc.m.get(key); ok {
		return p, nil
	}
	gen := pc.m.generation()
	p, err := read()
	if err != nil {
		return nil, err
	}
	p = routeOnly(p)
	pc.m.put(key, p, gen)
	return p, nil
}

// forgetTenant drops every cached pool of a tenant: a pool was created or
// resized, which can change which pool serves a contract (a new
// contract's own pool takes precedence) and what a pool has.
func (pc *poolCache) forgetTenant(tenantID string) {
	pc.m.deleteFunc(func(p *licensor.Pool) bool { return p.TenantID == tenantID })
}

// forgetPools drops the cached pools of the scoped tenant after a pool
// mutation.
func (s *Service) forgetPools(ctx context.Context) {
	tenantID, _ := licensor.TenantFrom(ctx)
	s.pools.forgetTenant(tenantID)
}

// poolFor returns the pool a contract's instance draws from: the one named
// (if it serves the contract), else the contract's own pool, else its
// customer's oldest pool. See the cache's rules above.
func (s *Service) poolFor(ctx context.Context, c *licensor.Contract, poolID string) (*licensor.Pool, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if poolID != "" {
		if err := licensor.ValidateID("pool_id", poolID); err != nil {
			return nil, err
		}
		p, err := s.pools.load(namedPoolKey(tid, poolID), func() (*licensor.Pool, error) {
			return s.store.GetPool(ctx, poolID)
		})
		if err != nil {
			return nil, err
		}
		if !p.Serves(c) {
			return nil, licensor.Errorf(licensor.ENOTFOUND, "pool %s not found", poolID)
		}
		return p, nil
	}
	return s.pools.load(contractPoolKey(tid, c.ID), func() (*licensor.Pool, error) {
		return s.readPoolFor(ctx, c)
	})
}

// readPoolFor reads the contract's own pool, else its customer's oldest.
func (s *Service) readPoolFor(ctx context.Context, c *licensor.Contract) (*licensor.Pool, error) {
	ps, err := s.store.ListPools(ctx, licensor.PoolFilter{CustomerID: c.CustomerID, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
	if err != nil {
		return nil, err
	}
	var shared *licensor.Pool
	for _, p := range ps {
		if p.ContractID == c.ID {
			return p, nil
		}
		if p.ContractID == "" && shared == nil {
			shared = p
		}
	}
	if shared == nil {
		return nil, licensor.Errorf(licensor.EPRECONDITION, "no pool serves contract %s; an administrator creates one with CreatePool", c.ID)
	}
	return shared, nil
}
