package service

import (
	"context"
	"sync"

	"github.com/licensor/licensor"
)

// Hub is the in-process licensor.ChangeFeed: enough for one server. Sends
// never block; a subscriber that has not consumed the previous signal simply
// sees one signal for several changes, which is all a watcher needs (it
// re-reads the contract).
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*hubSub]struct{}
}

type hubSub struct{ ch chan struct{} }

var _ licensor.ChangeFeed = (*Hub)(nil)

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: make(map[string]map[*hubSub]struct{})} }

func hubKey(tenantID, contractID string) string { return tenantID + "/" + contractID }

// Publish signals every subscriber of the contract.
func (h *Hub) Publish(_ context.Context, tenantID, contractID string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[hubKey(tenantID, contractID)] {
		select {
		case s.ch <- struct{}{}:
		default:
		}
	}
	return nil
}

// Subscribe registers a subscriber of the contract.
func (h *Hub) Subscribe(tenantID, contractID string) (<-chan struct{}, func()) {
	k := hubKey(tenantID, contractID)
	s := &hubSub{ch: make(chan struct{}, 1)}
	h.mu.Lock()
	if h.subs[k] == nil {
		h.subs[k] = make(map[*hubSub]struct{})
	}
	h.subs[k][s] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs[k], s)
			if len(h.subs[k]) == 0 {
				delete(h.subs, k)
			}
			h.mu.Unlock()
		})
	}
}

// Subscribers returns how many streams watch the contract (for tests and metrics).
func (h *Hub) Subscribers(tenantID, contractID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[hubKey(tenantID, contractID)])
}
