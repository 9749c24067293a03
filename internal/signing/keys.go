package signing

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/licensor/licensor"
)

// sealVersion is the first byte of every sealed key, so that the format
// (cipher, what is sealed) can change later without guessing.
const sealVersion = 1

// Sealer encrypts tenants' private keys with the master key (AES-256-GCM),
// binding each ciphertext to its key id so that a sealed key copied onto
// another key's row does not open. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

var errNoSealer = errors.New("sealer is not set up: make it with NewSealer")

// NewSealer returns a Sealer for a 32-byte master key.
func NewSealer(masterKey []byte) (*Sealer, error) {
	if len(masterKey) != masterKeySize {
		return nil, fmt.Errorf("master key is %d bytes; want %d", len(masterKey), masterKeySize)
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts priv for storage under keyID. Only the 32-byte seed is
// sealed: the rest of an ed25519.PrivateKey is derived from it.
//
// The result is version (1 byte) || nonce (12 bytes) || ciphertext and tag.
func (s *Sealer) Seal(keyID string, priv ed25519.PrivateKey) ([]byte, error) {
	if s == nil || s.aead == nil {
		return nil, errNoSealer
	}
	if keyID == "" {
		return nil, errors.New("seal: key id is empty")
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("seal %s: private key is %d bytes; want %d", keyID, len(priv), ed25519.PrivateKeySize)
	}
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+ed25519.SeedSize+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal %s: %w", keyID, err)
	}
	return s.aead.Seal(out, out[1:], priv.Seed(), []byte(keyID)), nil
}

// Open decrypts a key sealed by Seal under the same keyID. It fails if the
// master key is not the one that sealed it, if the bytes were altered, or
// if they belong to another key id.
func (s *Sealer) Open(keyID string, sealed []byte) (ed25519.PrivateKey, error) {
	if s == nil || s.aead == nil {
		return nil, errNoSealer
	}
	ns := s.aead.NonceSize()
	if len(sealed) != 1+ns+ed25519.SeedSize+s.aead.Overhead() {
		return nil, fmt.Errorf("open signing key %s: sealed key is %d bytes; want %d (the stored key is corrupt)", keyID, len(sealed), 1+ns+ed25519.SeedSize+s.aead.Overhead())
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("open signing key %s: unknown sealed key version %d (the stored key is corrupt or was written by a newer Licensor)", keyID, sealed[0])
	}
	seed, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(keyID))
	if err != nil {
		return nil, fmt.Errorf("open signing key %s: the master key does not match the one that sealed this key (or the stored key was altered)", keyID)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// NewSigningKey makes a fresh Ed25519 key for tenantID, sealed with s. The
// private key is returned too, so a caller can start signing without
// opening what it just sealed.
func NewSigningKey(s *Sealer, tenantID string, now time.Time) (*licensor.SigningKey, ed25519.PrivateKey, error) {
	if s == nil || s.aead == nil {
		return nil, nil, errNoSealer
	}
	if tenantID == "" {
		return nil, nil, errors.New("new signing key: tenant id is empty")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("new signing key: %w", err)
	}
	id := licensor.NewID(licensor.PrefixKey)
	sealed, err := s.Seal(id, priv)
	if err != nil {
		return nil, nil, err
	}
	k := &licensor.SigningKey{
		ID:        id,
		TenantID:  tenantID,
		Public:    pub,
		Sealed:    sealed,
		CreatedAt: now,
	}
	return k, priv, nil
}
