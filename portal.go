package licensor

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"
)

// A portal link is how a customer's administrator reaches the portal: the
// vendor makes one for one customer, and hands its secret over once.
const (
	// PrefixPortalLink starts a portal link's id.
	PrefixPortalLink = "plk"
	// TokenPrefixPortal starts a portal link's secret.
	TokenPrefixPortal = "lsr_prt_"
	// RolePortal is the actor of what a customer's administrator does in
	// the portal (the audit log's actor role; TokenID is the link's id).
	RolePortal Role = "portal"

	DefaultPortalLinkTTL = 7 * 24 * time.Hour
	MaxPortalLinkTTL     = 90 * 24 * time.Hour
	MinPortalLinkTTL     = time.Minute
)

// PortalLink grants access to one customer of one tenant until it expires
// or is revoked. Only the hash of its secret is kept.
type PortalLink struct {
	ID         string
	TenantID   string
	CustomerID string
	Name       string // who it was made for, e.g. "ops@acme"
	Hash       []byte
	Hint       string // the start of the secret, to tell links apart
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  time.Time // zero while not revoked
}

// Live reports whether the link lets its bearer in at now.
func (l *PortalLink) Live(now time.Time) bool {
	return l.RevokedAt.IsZero() && now.Before(l.ExpiresAt)
}

// Validate checks a link before it is stored.
func (l *PortalLink) Validate() error {
	if err := ValidateID("customer_id", l.CustomerID); err != nil {
		return err
	}
	if l.Name != "" {
		if err := ValidateName("portal link name", l.Name); err != nil {
			return err
		}
	}
	return nil
}

// NewPortalSecret returns a fresh portal link secret and its stored hash.
func NewPortalSecret() (secret string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("licensor: crypto/rand failed: " + err.Error())
	}
	secret = TokenPrefixPortal + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return secret, HashToken(secret)
}

// PortalScope is what an authenticated portal link reaches: one customer
// of one tenant, nothing else.
type PortalScope struct {
	TenantID   string
	CustomerID string
	LinkID     string
	ExpiresAt  time.Time
}

// PortalLinkFilter selects portal links of a tenant, by id.
type PortalLinkFilter struct {
	CustomerID     string
	IncludeRevoked bool // and expired
	Now            time.Time
	ListOptions
}

// PortalLinkStore keeps portal links (tenant-scoped, except
// PortalLinkByHash).
type PortalLinkStore interface {
	// CreatePortalLink stores l. ENOTFOUND for an unknown customer.
	CreatePortalLink(ctx context.Context, l *PortalLink) error
	// PortalLinkByHash finds a link by the hash of its secret, in any
	// tenant: it is how a portal request is authenticated, before any
	// scope exists. ENOTFOUND.
	PortalLinkByHash(ctx context.Context, hash []byte) (*PortalLink, error)
	// ListPortalLinks lists links by id: live ones at f.Now only unless
	// f.IncludeRevoked.
	ListPortalLinks(ctx context.Context, f PortalLinkFilter) ([]*PortalLink, error)
	// RevokePortalLink marks a link revoked at at; revoking twice keeps the
	// first time. ENOTFOUND.
	RevokePortalLink(ctx context.Context, id string, at time.Time) (*PortalLink, error)
}
