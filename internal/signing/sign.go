package signing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/licensor/licensor"
)

// b64 is the JWS encoding: base64url without padding. Strict, so that one
// signature has exactly one spelling and a token cannot be altered without
// breaking it.
var b64 = base64.RawURLEncoding.Strict()

// sigLen is the length of an encoded Ed25519 signature.
var sigLen = b64.EncodedLen(ed25519.SignatureSize)

// Signer signs licenses and capabilities with one Ed25519 key. The encoded
// protected headers are computed once, so a signature costs one JSON
// encoding, one base64 pass and ed25519.Sign. It is safe for concurrent use.
type Signer struct {
	kid           string
	priv          ed25519.PrivateKey
	licenseHeader string // base64url of {"alg":"EdDSA","kid":..,"typ":"license+jwt"}
	capHeader     string // the same with typ capability+jwt
	workers       *SignWorkers
}

// SignerOption configures a Signer.
type SignerOption func(*Signer)

// WithWorkers makes the Signer compute its signatures on w's long-lived
// goroutines (see SignWorkers); nil signs on the caller's goroutine.
func WithWorkers(w *SignWorkers) SignerOption { return func(s *Signer) { s.workers = w } }

// errNoSigner is a bug in the caller, so it is an internal error.
var errNoSigner = licensor.Internal("sign", errors.New("signer is not set up: make it with NewSigner"))

// jwsHeader is the protected header we write. The field order is fixed so
// that the encoded header, and hence every token, is reproducible.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// NewSigner returns a Signer for priv, naming it keyID in the "kid" header.
// It checks that priv is whole (its public half matches its seed), because
// a key that signs what no one can verify would only be found by customers.
func NewSigner(keyID string, priv ed25519.PrivateKey, opts ...SignerOption) (*Signer, error) {
	if keyID == "" {
		return nil, errors.New("signer: key id is empty")
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("signer %s: private key is %d bytes; want %d", keyID, len(priv), ed25519.PrivateKeySize)
	}
	if !bytes.Equal(ed25519.NewKeyFromSeed(priv.Seed()), priv) {
		return nil, fmt.Errorf("signer %s: private key is corrupt (its public half does not match its seed)", keyID)
	}
	s := &Signer{kid: keyID, priv: append(ed25519.PrivateKey(nil), priv...)}
	for _, o := range opts {
		o(s)
	}
	var err error
	if s.licenseHeader, err = encodeHeader(keyID, licensor.LicenseType); err != nil {
		return nil, err
	}
	if s.capHeader, err = encodeHeader(keyID, licensor.CapabilityType); err != nil {
		return nil, err
	}
	return s, nil
}

func encodeHeader(kid, typ string) (string, error) {
	h, err := json.Marshal(jwsHeader{Alg: licensor.LicenseAlg, Kid: kid, Typ: typ})
	if err != nil {
		return "", fmt.Errorf("signer %s: header: %w", kid, err)
	}
	return b64.EncodeToString(h), nil
}

// KeyID returns the id of the signing key, the "kid" of every token.
func (s *Signer) KeyID() string { return s.kid }

// SignLicense returns c as a signed license in compact JWS serialization.
// Claims that Verify would reject (see licensor.Claims.Validate) are
// refused here, so a bad license fails at the server, not at a customer's.
func (s *Signer) SignLicense(c *licensor.Claims) (string, error) {
	if s == nil || s.priv == nil {
		return "", errNoSigner
	}
	if c == nil {
		return "", licensor.Errorf(licensor.EINVALID, "cannot sign a license: no claims")
	}
	if err := c.Validate(); err != nil {
		return "", &licensor.Error{Code: licensor.EINVALID, Message: "cannot sign a license: " + err.Error(), Err: err}
	}
	var buf [768]byte
	payload, err := appendClaims(buf[:0], c)
	if err != nil {
		return "", licensor.Internal("sign license", err)
	}
	return s.sign(s.licenseHeader, payload), nil
}

// SignCapability signs claims, which must encode as a JSON object, as a
// token of typ capability+jwt.
func (s *Signer) SignCapability(claims any) (string, error) {
	if s == nil || s.priv == nil {
		return "", errNoSigner
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", licensor.Internal("sign capability", err)
	}
	if len(payload) == 0 || payload[0] != '{' {
		return "", licensor.Errorf(licensor.EINVALID, "cannot sign a capability: its claims must be a JSON object, not %.20s", payload)
	}
	return s.sign(s.capHeader, payload), nil
}

// sign builds header.payload.signature in one buffer.
func (s *Signer) sign(header string, payload []byte) string {
	n := len(header) + 1 + b64.EncodedLen(len(payload))
	buf := make([]byte, n+1+sigLen)
	copy(buf, header)
	buf[len(header)] = '.'
	b64.Encode(buf[len(header)+1:n], payload)
	var sig [ed25519.SignatureSize]byte
	s.workers.sign(sig[:], s.priv, buf[:n])
	buf[n] = '.'
	b64.Encode(buf[n+1:], sig[:])
	return string(buf)
}
