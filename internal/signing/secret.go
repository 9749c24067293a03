package signing

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// secretVersion marks a sealed secret (as opposed to a sealed signing key,
// sealVersion), so that one can never be opened as the other.
const secretVersion = 2

// SealSecret encrypts a short secret (a webhook signing secret, say) with
// the master key, bound to id: the sealed bytes open only under the same id.
func (s *Sealer) SealSecret(id string, secret []byte) ([]byte, error) {
	if s == nil || s.aead == nil {
		return nil, errNoSealer
	}
	if id == "" {
		return nil, errors.New("seal secret: id is empty")
	}
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(secret)+s.aead.Overhead())
	out[0] = secretVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal secret %s: %w", id, err)
	}
	return s.aead.Seal(out, out[1:], secret, secretAD(id)), nil
}

// OpenSecret decrypts a secret sealed by SealSecret under the same id.
func (s *Sealer) OpenSecret(id string, sealed []byte) ([]byte, error) {
	if s == nil || s.aead == nil {
		return nil, errNoSealer
	}
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != secretVersion {
		return nil, fmt.Errorf("open secret %s: not a sealed secret (the stored value is corrupt)", id)
	}
	secret, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], secretAD(id))
	if err != nil {
		return nil, fmt.Errorf("open secret %s: the master key does not match the one that sealed it (or the value was altered)", id)
	}
	return secret, nil
}

func secretAD(id string) []byte { return []byte("licensor secret " + id) }
