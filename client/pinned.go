package client

import (
	"context"
	"slices"
	"time"

	"github.com/licensor/licensor/license"
)

// PinCheckInterval is how often a client with pinned keys (Config.Keys)
// compares them with the server's JWKS. A vendor stages a key rotation
// (`licensor admin key rotate --activate-after 14d`): the next key is in
// the JWKS days before it signs, and this check is how a product that pins
// the keys learns in time that it must ship the new one.
const PinCheckInterval = 6 * time.Hour

// OnUnpinnedKeys registers f to be called when the server's JWKS holds
// keys that Config.Keys does not pin (their kids, sorted): the vendor has
// published a key this build will refuse once it signs. It is called when
// that set changes, not on every check; an empty set means the pins match
// again. Only a client with pinned keys and a server checks.
func (c *Client) OnUnpinnedKeys(f func(kids []string)) {
	c.mu.Lock()
	c.handlers.unpinned = append(c.handlers.unpinned, f)
	c.mu.Unlock()
}

// UnpinnedKeys returns the kids of the keys the server's JWKS held at the
// last check that Config.Keys does not pin; nil if none or never checked.
func (c *Client) UnpinnedKeys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.unpinned)
}

// maybeCheckPins starts a comparison of the pinned keys with the server's
// JWKS if keys are pinned and the last one is PinCheckInterval old. It
// runs in the background: a license refresh never waits for it.
func (c *Client) maybeCheckPins(tenantID string) {
	if len(c.cfg.Keys) == 0 || c.http == nil || tenantID == "" {
		return
	}
	c.mu.Lock()
	now := c.nowLocked()
	due := c.pinsChecked.IsZero() || now.Sub(c.pinsChecked) >= PinCheckInterval
	start := due && !c.pinsRunning
	if start {
		c.pinsRunning = true
	} else if due {
		// A comparison is in flight but may have read the JWKS before
		// this refresh: run once more when it ends.
		c.pinsAgain = true
	}
	c.mu.Unlock()
	if !start {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for again := true; again; {
			c.checkPins(c.ctx, tenantID)
			c.mu.Lock()
			again, c.pinsAgain = c.pinsAgain && c.ctx.Err() == nil, false
			c.pinsRunning = again
			c.mu.Unlock()
		}
	}()
}

// checkPins fetches tenantID's JWKS and records which of its keys are not
// pinned. A failed fetch is logged and tried again at the next refresh.
func (c *Client) checkPins(ctx context.Context, tenantID string) {
	b, err := c.fetchTenantJWKS(ctx, tenantID)
	var keys license.KeySet
	if err == nil {
		keys, err = license.ParseJWKS(b)
	}
	c.mu.Lock()
	if err != nil {
		c.mu.Unlock()
		c.log.Warn("cannot compare the pinned keys with the vendor's JWKS", "err", err)
		return
	}
	c.pinsChecked = c.nowLocked()
	var unpinned []string
	for kid := range keys {
		if _, ok := c.cfg.Keys[kid]; !ok {
			unpinned = append(unpinned, kid)
		}
	}
	slices.Sort(unpinned)
	changed := !slices.Equal(unpinned, c.unpinned)
	c.unpinned = unpinned
	if changed {
		c.queue(event{kind: evUnpinned, kids: slices.Clone(unpinned)})
	}
	c.mu.Unlock()
	if changed && len(unpinned) > 0 {
		c.log.Warn("the vendor published signing keys this build does not pin; licenses they sign will be refused: ship them in Config.Keys",
			"kids", unpinned)
	}
	c.drain()
}

// tenantOf is the vendor's tenant: Config.TenantID, or the issuer of a
// license that verified against the pinned keys.
func (c *Client) tenantOf(lic *License) string {
	if c.cfg.TenantID != "" || lic == nil {
		return c.cfg.TenantID
	}
	return lic.Claims.Issuer
}
