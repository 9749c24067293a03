package licensor

import (
	"crypto/ed25519"
	"time"
)

// SigningKey is one of a tenant's Ed25519 keys. The private half is stored
// only encrypted (see signing.Sealer); the public half is served in the
// tenant's JWKS while any license it signed can still be valid.
type SigningKey struct {
	ID        string // the JWS "kid"
	TenantID  string
	Public    ed25519.PublicKey
	Sealed    []byte // the private key, encrypted with the master key
	CreatedAt time.Time
	RetiredAt time.Time // zero: the active key
	// PublishUntil is the latest expiry of anything this key signed; a
	// retired key stays in the JWKS until then.
	PublishUntil time.Time
}

// Published reports whether the key belongs in the JWKS at now.
func (k *SigningKey) Published(now time.Time) bool {
	return k.RetiredAt.IsZero() || now.Before(k.PublishUntil)
}
