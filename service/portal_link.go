package service

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/licensor/licensor"
)

// portalLinkView is what the audit log records of a portal link: never
// its hash.
func portalLinkView(l *licensor.PortalLink) map[string]any {
	return map[string]any{"id": l.ID, "customer_id": l.CustomerID, "name": l.Name, "hint": l.Hint,
		"created_at": l.CreatedAt, "expires_at": l.ExpiresAt, "revoked_at": l.RevokedAt}
}

// CreatePortalLink makes a portal link for one customer, valid for ttl
// (0: DefaultPortalLinkTTL), and returns it with its secret, which is
// shown this once. Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) CreatePortalLink(ctx context.Context, tenantID, customerID, name string, ttl time.Duration) (*licensor.PortalLink, string, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	if ttl == 0 {
		ttl = licensor.DefaultPortalLinkTTL
	}
	if err := licensor.ValidateDuration("portal link lifetime", ttl, licensor.MinPortalLinkTTL, licensor.MaxPortalLinkTTL); err != nil {
		return nil, "", err
	}
	now := s.now().UTC()
	secret, hash := licensor.NewPortalSecret()
	l := &licensor.PortalLink{ID: licensor.NewID(licensor.PrefixPortalLink), CustomerID: customerID, Name: name,
		Hash: hash, Hint: licensor.TokenHint(secret), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := l.Validate(); err != nil {
		return nil, "", err
	}
	l.TenantID, _ = licensor.TenantFrom(ctx)
	if err := s.store.CreatePortalLink(ctx, l); err != nil {
		return nil, "", err
	}
	s.audit(ctx, "portal_link.create", "portal_link", l.ID, nil, portalLinkView(l))
	return l, secret, nil
}

// ListPortalLinks lists a tenant's portal links, optionally of one
// customer; live ones only unless f.IncludeRevoked. Codes: EINVALID,
// EFORBIDDEN.
func (s *Service) ListPortalLinks(ctx context.Context, tenantID string, f licensor.PortalLinkFilter) ([]*licensor.PortalLink, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if f.CustomerID != "" {
		if err := licensor.ValidateID("customer_id", f.CustomerID); err != nil {
			return nil, err
		}
	}
	if f.ListOptions, err = f.Normalize(); err != nil {
		return nil, err
	}
	f.Now = s.now().UTC()
	return s.store.ListPortalLinks(ctx, f)
}

// RevokePortalLink revokes a portal link at once: its next use is refused.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) RevokePortalLink(ctx context.Context, tenantID, id string) (*licensor.PortalLink, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("portal_link_id", id); err != nil {
		return nil, err
	}
	l, err := s.store.RevokePortalLink(ctx, id, s.now().UTC())
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "portal_link.revoke", "portal_link", l.ID, nil, portalLinkView(l))
	return l, nil
}

// AuthenticatePortal resolves a portal link's secret to the one customer
// of one tenant it reaches. It is read from the store on every call, so a
// revocation takes effect at the next request. Codes: EUNAUTHORIZED.
func (s *Service) AuthenticatePortal(ctx context.Context, secret string) (*licensor.PortalScope, error) {
	bad := licensor.Errorf(licensor.EUNAUTHORIZED, "portal link is not valid; ask your vendor for a new one")
	if len(secret) > 256 || len(secret) < len(licensor.TokenPrefixPortal) || secret[:len(licensor.TokenPrefixPortal)] != licensor.TokenPrefixPortal {
		return nil, bad
	}
	hash := licensor.HashToken(secret)
	l, err := s.store.PortalLinkByHash(ctx, hash)
	if licensor.ErrorCode(err) == licensor.ENOTFOUND || (err == nil && subtle.ConstantTimeCompare(l.Hash, hash) != 1) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !l.RevokedAt.IsZero() {
		return nil, licensor.Errorf(licensor.EUNAUTHORIZED, "portal link %s was revoked at %s; ask your vendor for a new one", l.ID, l.RevokedAt.UTC().Format(time.RFC3339))
	}
	if !l.Live(now) {
		return nil, licensor.Errorf(licensor.EUNAUTHORIZED, "portal link %s expired at %s; ask your vendor for a new one", l.ID, l.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return &licensor.PortalScope{TenantID: l.TenantID, CustomerID: l.CustomerID, LinkID: l.ID, ExpiresAt: l.ExpiresAt}, nil
}
