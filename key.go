package licensor

import (
	"crypto/ed25519"
	"time"
)

// DefaultKeyActivation is how long a rotated-in key is published in the
// tenant's JWKS before it signs: long enough for a product that pins the
// tenant's keys to ship the new one, and at least a default license
// lifetime, so that every client has refreshed (and fetched the JWKS) at
// least once while the key was published.
const DefaultKeyActivation = 14 * 24 * time.Hour

// MaxKeyActivation bounds how far ahead a rotation may stage its key.
const MaxKeyActivation = 366 * 24 * time.Hour

// SigningKey is one of a tenant's Ed25519 keys. The private half is stored
// only encrypted (see signing.Sealer); the public half is served in the
// tenant's JWKS from its creation until every license it signed has
// expired.
//
// A key signs from ActivateAt until RetiredAt (zero: until replaced). A
// staged rotation stores the next key ahead of its activation and sets the
// current key's RetiredAt to that same instant, so that at every moment
// exactly one key signs and the next one is already published.
type SigningKey struct {
	ID         string // the JWS "kid"
	TenantID   string
	Public     ed25519.PublicKey
	Sealed     []byte // the private key, encrypted with the master key
	CreatedAt  time.Time
	ActivateAt time.Time // when it starts signing; CreatedAt for an immediate rotation
	RetiredAt  time.Time // when it stops signing; zero: the newest key
	// PublishUntil is the latest expiry of anything this key signed; a
	// retired key stays in the JWKS until then.
	PublishUntil time.Time
}

// Published reports whether the key belongs in the JWKS at now.
func (k *SigningKey) Published(now time.Time) bool {
	return k.RetiredAt.IsZero() || now.Before(k.RetiredAt) || now.Before(k.PublishUntil)
}

// SignsAt reports whether the key is the one that signs at now.
func (k *SigningKey) SignsAt(now time.Time) bool {
	return !now.Before(k.ActivateAt) && (k.RetiredAt.IsZero() || now.Before(k.RetiredAt))
}
