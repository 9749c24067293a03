package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/license"
)

// jwksRefetchEvery limits how often an unknown kid makes the client fetch
// the JWKS again (after a key rotation), so a forged kid cannot make it
// hammer the server.
const jwksRefetchEvery = time.Minute

// verifier holds what a license must match besides its signature.
type verifier struct {
	contractID string
	instanceID string
	tenantID   string
	// bind checks a bound license's key and machine (CheckBinding).
	bind func(*licensor.Claims) error
}

// check verifies token against keys: the signature, alg EdDSA, typ, a known
// kid, complete claims, then sub, contract and (if known) iss. Time is
// checked by the caller against the guarded clock.
func (v verifier) check(token string, keys license.KeySet) (*licensor.Claims, error) {
	cl, err := license.Verify(token, keys, license.VerifyOptions{})
	if err != nil {
		return nil, err
	}
	switch {
	case cl.Subject != v.instanceID:
		return nil, licensor.Errorf(licensor.EINVALID, "license is for instance %.80q, not this instance %q", cl.Subject, v.instanceID)
	case cl.Contract != v.contractID:
		return nil, licensor.Errorf(licensor.EINVALID, "license is for contract %.80q, not %q", cl.Contract, v.contractID)
	case v.tenantID != "" && cl.Issuer != v.tenantID:
		return nil, licensor.Errorf(licensor.EINVALID, "license is issued by %.80q, not the vendor %q", cl.Issuer, v.tenantID)
	}
	if v.bind != nil {
		if err := v.bind(cl); err != nil {
			return nil, err
		}
	}
	return cl, nil
}

func (c *Client) verifier() verifier {
	return verifier{contractID: c.cfg.ContractID, instanceID: c.instanceID, tenantID: c.cfg.TenantID, bind: c.checkBinding}
}

// verify checks token with the keys held, fetching the JWKS again once if
// it names a key not yet known (a rotation) and keys are not pinned.
func (c *Client) verify(ctx context.Context, token string, src Source) (*License, error) {
	c.mu.Lock()
	keys := c.keys
	c.mu.Unlock()
	cl, err := c.verifier().check(token, keys)
	if err != nil && len(c.cfg.Keys) == 0 && c.rpc != nil {
		if _, known := keys[tokenKid(token)]; !known && c.refetchJWKS(ctx) {
			c.mu.Lock()
			keys = c.keys
			c.mu.Unlock()
			cl, err = c.verifier().check(token, keys)
		}
	}
	if err != nil {
		return nil, err
	}
	return &License{Token: token, Claims: cl, Source: src}, nil
}

// accept verifies a license from the server and, if it is valid now and
// not older than the one held, makes it the license held.
func (c *Client) accept(r received, src Source) (*License, error) {
	lic, err := c.verify(c.ctx, r.token, src)
	if err != nil {
		return nil, verifyError(err)
	}
	c.mu.Lock()
	if r.serverTime.After(c.serverHigh) {
		c.serverHigh = r.serverTime
	}
	if iat := lic.Claims.IssuedAtTime(); iat.After(c.serverHigh) {
		c.serverHigh = iat
	}
	now := c.nowLocked()
	if err := lic.Claims.CheckTime(now, c.cfg.ClockSkew); err != nil {
		c.mu.Unlock()
		return nil, verifyError(err)
	}
	if c.online == nil || c.online.Claims.IssuedAt <= lic.Claims.IssuedAt {
		c.online = lic
	}
	c.succeededLocked(now)
	c.evaluateLocked()
	snap := c.cacheSnapshotLocked()
	c.mu.Unlock()
	c.drain()
	c.saveCache(snap)
	c.nudge()
	c.warnEnvironment(lic, r.declared)
	return lic, nil
}

// ensureKeys fetches the JWKS if keys are neither pinned nor known yet.
func (c *Client) ensureKeys(ctx context.Context) error {
	c.mu.Lock()
	have := len(c.keys) > 0
	c.mu.Unlock()
	if have {
		return nil
	}
	b, err := c.fetchJWKS(ctx)
	if err != nil {
		return err
	}
	return c.setJWKS(b, true)
}

// refetchJWKS downloads the JWKS again unless it did so within the last
// minute; it reports whether the keys were replaced.
func (c *Client) refetchJWKS(ctx context.Context) bool {
	c.mu.Lock()
	now := c.nowLocked()
	recent := !c.jwksFetched.IsZero() && now.Sub(c.jwksFetched) < jwksRefetchEvery
	c.mu.Unlock()
	if recent {
		return false
	}
	b, err := c.fetchJWKS(ctx)
	if err != nil {
		c.log.Warn("cannot fetch the vendor's JWKS", "err", err)
		return false
	}
	return c.setJWKS(b, true) == nil
}

// setJWKS parses and installs a JWKS; fetched ones are persisted.
func (c *Client) setJWKS(b []byte, fetched bool) error {
	keys, err := license.ParseJWKS(b)
	if err != nil {
		return &Error{Stage: StageServer, Err: &licensor.Error{Code: licensor.EINVALID, Message: "the vendor's JWKS: " + licensor.ErrorMessage(err), Err: err}}
	}
	c.mu.Lock()
	c.keys, c.jwks = keys, b
	var snap cacheSnapshot
	if fetched {
		c.jwksFetched = c.nowLocked()
		snap = c.cacheSnapshotLocked()
	}
	c.mu.Unlock()
	if fetched {
		c.saveCache(snap)
	}
	return nil
}

// tokenKid reads the kid of a JWS header without trusting it, only to
// decide whether fetching the JWKS again could help.
func tokenKid(token string) string {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(b, &h)
	return h.Kid
}
