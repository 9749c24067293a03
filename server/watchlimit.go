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

	mu   sync.Mutex
	open map[string]int
}

func newWatchBound(l Limits, m *netguard.Metrics) *watchBound {
	return &watchBound{perSeat: l.WatchPerSeat, min: l.WatchMin, unlimited: l.WatchUnlimited, metrics: m, open: make(map[string]int)}
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
	key := tenantID + "/" + contractID
	b.mu.Lock()
	if b.open[key] >= limit {
		b.mu.Unlock()
		b.metrics.WatchRefused()
		err := licensor.Errorf(licensor.EEXHAUSTED, "contract %s already has %d license streams open, its limit (%s); "+
			"instances over it keep their license by polling: close unused clients, or ask the operator to raise the limit", contractID, limit, b.rule(seats))
		err.RetryAfter = watchRetryAfter
		return nil, err
	}
	b.open[key]++
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			if b.open[key]--; b.open[key] <= 0 {
				delete(b.open, key)
			}
			b.mu.Unlock()
		})
	}, nil
}

func (b *watchBound) rule(seats int) string {
	if seats == 0 {
		return "unlimited seats: --watch-unlimited"
	}
	return fmt.Sprintf("--watch-per-seat %d × %d seats, at least --watch-min %d", b.perSeat, seats, b.min)
}
