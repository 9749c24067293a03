package client

import (
	"time"
)

type eventKind int

const (
	evChange eventKind = iota
	evExpiringSoon
	evExpired
	evError
	evUnpinned
	evClockRollback
)

type event struct {
	kind      eventKind
	lic       *License
	remaining time.Duration
	err       error
	kids      []string
	refused   bool // evClockRollback: past the tolerance
}

type handlers struct {
	change   []func(*License)
	soon     []func(remaining time.Duration)
	expired  []func()
	errorFns []func(error)
	unpinned []func(kids []string)
	rollback []func(behind time.Duration, refused bool)
}

// OnChange registers f to be called when the license held changes what it
// grants: the first license, a new contract version (extension, features),
// a fallback, a switch to or from the static file. A routine refresh that
// only moves exp does not call it. Register handlers before Start or Check
// to see the license loaded from the cache.
//
// Handlers run one at a time, in order, on the goroutine that saw the
// change; they must not block for long.
func (c *Client) OnChange(f func(*License)) {
	c.mu.Lock()
	c.handlers.change = append(c.handlers.change, f)
	c.mu.Unlock()
}

// OnExpiringSoon registers f to be called, once per change into that state,
// when less than Config.ExpiringSoon of validity is left.
func (c *Client) OnExpiringSoon(f func(remaining time.Duration)) {
	c.mu.Lock()
	c.handlers.soon = append(c.handlers.soon, f)
	c.mu.Unlock()
}

// OnExpired registers f to be called once when the license held expires.
func (c *Client) OnExpired(f func()) {
	c.mu.Lock()
	c.handlers.expired = append(c.handlers.expired, f)
	c.mu.Unlock()
}

// OnError registers f to be called when checks start failing, and again
// when the failure changes (another stage or code) — not on every retry.
func (c *Client) OnError(f func(error)) {
	c.mu.Lock()
	c.handlers.errorFns = append(c.handlers.errorFns, f)
	c.mu.Unlock()
}

// queue adds an event for drain to deliver; c.mu is held.
func (c *Client) queue(e event) { c.pending = append(c.pending, e) }

// drain delivers queued events outside the lock, one at a time and in
// order. A handler that calls back into the client (Status, even Refresh)
// cannot deadlock: a nested drain returns at once and the outer one
// delivers what it queued.
func (c *Client) drain() {
	c.mu.Lock()
	if c.draining {
		c.mu.Unlock()
		return
	}
	c.draining = true
	for len(c.pending) > 0 {
		e := c.pending[0]
		c.pending = c.pending[1:]
		h := c.handlers
		c.mu.Unlock()
		c.deliver(h, e)
		c.mu.Lock()
	}
	c.draining = false
	c.mu.Unlock()
}

func (c *Client) deliver(h handlers, e event) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("license event handler panicked", "panic", p)
		}
	}()
	switch e.kind {
	case evChange:
		for _, f := range h.change {
			f(e.lic)
		}
	case evExpiringSoon:
		for _, f := range h.soon {
			f(e.remaining)
		}
	case evExpired:
		for _, f := range h.expired {
			f()
		}
	case evError:
		for _, f := range h.errorFns {
			f(e.err)
		}
	case evUnpinned:
		for _, f := range h.unpinned {
			f(e.kids)
		}
	case evClockRollback:
		for _, f := range h.rollback {
			f(e.remaining, e.refused)
		}
	}
}
