package licensor

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"
)

// Token prefixes: a token says what it is, so secret scanners can find one
// pasted into a repository and a person can tell an admin token from a
// contract token at a glance.
const (
	TokenPrefixOperator = "lsr_op_"
	TokenPrefixAdmin    = "lsr_adm_"
	TokenPrefixContract = "lsr_con_"
)

// Token is a bearer credential. Only its SHA-256 hash is stored; the secret
// is shown once, when it is created.
type Token struct {
	ID         string
	TenantID   string // empty for the operator
	Role       Role
	ContractID string // for RoleContract
	Name       string
	Hash       []byte // SHA-256 of the secret
	Hint       string // the first characters of the secret, to recognise it
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	RevokedAt  time.Time // zero: live
}

// Live reports whether the token may be used at now.
func (t *Token) Live(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// NewTokenSecret returns a fresh secret for role and its hash.
func NewTokenSecret(role Role) (secret string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("licensor: crypto/rand failed: " + err.Error())
	}
	prefix := TokenPrefixContract
	switch role {
	case RoleOperator:
		prefix = TokenPrefixOperator
	case RoleAdmin:
		prefix = TokenPrefixAdmin
	}
	secret = prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return secret, HashToken(secret)
}

// HashToken returns the stored form of a token secret.
func HashToken(secret string) []byte {
	h := TokenDigest(secret)
	return h[:]
}

// TokenDigest is HashToken as an array, which needs no allocation: for
// the lookup of a token on every call. A secret of up to 256 bytes (the
// longest a server accepts) is hashed from a copy on the stack.
func TokenDigest(secret string) [sha256.Size]byte {
	var buf [256]byte
	if len(secret) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], secret)])
	}
	return sha256.Sum256([]byte(secret))
}

// TokenHint returns the part of a secret that may be shown again later.
func TokenHint(secret string) string {
	if len(secret) <= 12 {
		return secret
	}
	return secret[:12] + "…"
}

// TokenFilter selects tokens of a tenant.
type TokenFilter struct {
	ContractID     string
	IncludeRevoked bool
	ListOptions
}
