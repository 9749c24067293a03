package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/netguard"
)

// watchRetryAfter is the retry hint of a refused WatchLicense stream: the
// client keeps polling meanwhile, so reopening soon gains nothing.
const watchRetryAfter = 5 * time.Minute

// watchBound counts the open WatchLicense streams of each contract and
// refuses one over the contract's bound: a stream costs the server a
// goroutine and a subscription for as long as the client holds it, and one
// contract token could otherwise open thousands.
type watchBound struct {
	perSeat, min, unlimited int
	metrics                 *netguard.Metrics
	slots                   contractSlots
}

func newWatchBound(l Limits, m *netguard.Metrics) *watchBound {
	return &watchBound{perSeat: l.WatchPerSeat, min: l.WatchMin, unlimited: l.WatchUnlimited, metrics: m}
}

// contractSlots counts what each contract holds open (streams) and takes
// one more only under a limit. The zero value is ready.
type contractSlots struct {
	mu   sync.Mutex
	open map[string]int
}

// take takes one of the contract's limit slots and returns its release
// (idempotent), or ok false when all are taken.
func (c *contractSlots) take(tenantID, contractID string, limit int) (release func(), ok bool) {
	key := tenantID + "/" + contractID
	c.mu.Lock()
	if c.open[key] >= limit {
		c.mu.Unlock()
		return nil, false
	}
	if c.open == nil {
		c.open = make(map[string]int)
	}
	c.open[key]++
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			if c.open[key]--; c.open[key] <= 0 {
				delete(c.open, key)
			}
			c.mu.Unlock()
		})
	}, true
}

// limit is the bound of a contract with seats seats (0: unlimited); 0 means
// no bound.
func (b *watchBound) limit(seats int) int {
	if seats == 0 {
		return b.unlimited
	}
	if b.perSeat == 0 {
		return 0
	}
	return max(b.perSeat*seats, b.min)
}

// acquire takes one of the contract's stream slots, or answers EEXHAUSTED
// naming the bound.
func (b *watchBound) acquire(_ context.Context, tenantID, contractID string, seats int) (func(), error) {
	limit := b.limit(seats)
	if limit == 0 {
		return func() {}, nil
	}
	release, ok := b.slots.take(tenantID, contractID, limit)
	if !ok {
		b.metrics.WatchRefused()
		err := licensor.Errorf(licensor.EEXHAUSTED, "contract %s already has %d license streams open, its limit (%s); "+
			"instances over it keep their license by polling: close unused clients, or ask the operator to raise the limit", contractID, limit, b.rule(seats))
		err.RetryAfter = watchRetryAfter
		return nil, err
	}
	return release, nil
}

func (b *watchBound) rule(seats int) string {
	if seats == 0 {
		return "unlimited seats: --watch-unlimited"
	}
	return fmt.Sprintf("--watch-per-seat %d × %d seats, at least --watch-min %d", b.perSeat, seats, b.min)
}
