package client

import (
	"context"
	"maps"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/license"
)

// verifyCapability checks the capability document that came with lease
// against the vendor's keys (pinned, or the fetched JWKS, fetched again
// once for an unknown kid as for licenses): signature, typ
// capability+jwt, and that it says what the lease says — this instance,
// this contract, the lease's id, units and expiry, and the vendor's tenant
// when known. A document that fails any of these is refused: whoever
// rewrote it (a proxy, a tampered server response) could grant anything.
func (c *Client) verifyCapability(ctx context.Context, token string, lease *v1.Lease) (*licensor.CapabilityClaims, error) {
	if err := c.ensureKeys(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	keys := c.keys
	c.mu.Unlock()
	var cc licensor.CapabilityClaims
	err := license.VerifyCapability(token, keys, &cc)
	if err != nil && len(c.cfg.Keys) == 0 && c.http != nil {
		if _, known := keys[tokenKid(token)]; !known && c.refetchJWKS(ctx) {
			c.mu.Lock()
			keys = c.keys
			c.mu.Unlock()
			cc = licensor.CapabilityClaims{}
			err = license.VerifyCapability(token, keys, &cc)
		}
	}
	if err != nil {
		return nil, capabilityError(err)
	}
	units := unitsMap(lease.GetUnits())
	tenant := c.cfg.TenantID
	if tenant == "" {
		if l := c.License(); l != nil {
			tenant = l.Claims.Issuer
		}
	}
	switch {
	case cc.Subject != c.instanceID:
		return nil, capabilityErrorf("the capability document is for instance %.80q, not this instance %q", cc.Subject, c.instanceID)
	case cc.Contract != c.cfg.ContractID:
		return nil, capabilityErrorf("the capability document is for contract %.80q, not %q", cc.Contract, c.cfg.ContractID)
	case tenant != "" && cc.Issuer != tenant:
		return nil, capabilityErrorf("the capability document is issued by %.80q, not the vendor %q", cc.Issuer, tenant)
	case cc.ID != lease.GetId():
		return nil, capabilityErrorf("the capability document names lease %.80q, not %q", cc.ID, lease.GetId())
	case !maps.Equal(cc.Units, units):
		return nil, capabilityErrorf("the capability document grants %v, the lease %v", cc.Units, units)
	case lease.GetExpiresAt() != nil && cc.Expiry != lease.GetExpiresAt().AsTime().Unix():
		return nil, capabilityErrorf("the capability document expires at %d, the lease at %d", cc.Expiry, lease.GetExpiresAt().AsTime().Unix())
	}
	return &cc, nil
}

func capabilityError(err error) *Error {
	e := verifyError(err)
	e.Err = &licensor.Error{Code: e.Err.Code, Message: "capability document: " + e.Err.Message, Err: e.Err}
	return e
}

func capabilityErrorf(format string, args ...any) *Error {
	return &Error{Stage: StageVerify, Err: licensor.Errorf(licensor.EINVALID, format, args...)}
}
