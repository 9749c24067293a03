package license

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/licensor/licensor"
)

// jwk is one JSON Web Key as we publish it (RFC 8037 for OKP keys). D is
// read only to refuse it: a key set with private keys in it has leaked them.
type jwk struct {
	Kty string          `json:"kty"`
	Crv string          `json:"crv,omitempty"`
	X   string          `json:"x,omitempty"`
	Kid string          `json:"kid,omitempty"`
	Alg string          `json:"alg,omitempty"`
	Use string          `json:"use,omitempty"`
	D   json.RawMessage `json:"d,omitempty"`
}

type jwkSet struct {
	Keys []json.RawMessage `json:"keys"`
}

// MarshalJWKS returns keys as a JWK Set, in the order given. It publishes
// whatever it is given: choosing the keys (SigningKey.Published) is the
// caller's part. No keys gives {"keys":[]}.
func MarshalJWKS(keys []*licensor.SigningKey) ([]byte, error) {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for i, k := range keys {
		j, err := publicJWK(k)
		if err != nil {
			return nil, fmt.Errorf("jwks: key %d: %w", i, err)
		}
		set.Keys = append(set.Keys, j)
	}
	return json.Marshal(set)
}

// PublicJWK returns the public half of k as one JWK in JSON.
func PublicJWK(k *licensor.SigningKey) (string, error) {
	j, err := publicJWK(k)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func publicJWK(k *licensor.SigningKey) (jwk, error) {
	switch {
	case k == nil:
		return jwk{}, errors.New("signing key is nil")
	case k.ID == "":
		return jwk{}, errors.New("signing key has no id")
	case len(k.Public) != ed25519.PublicKeySize:
		return jwk{}, fmt.Errorf("signing key %s: public key is %d bytes; want %d", k.ID, len(k.Public), ed25519.PublicKeySize)
	}
	return jwk{
		Kty: "OKP",
		Crv: "Ed25519",
		X:   b64.EncodeToString(k.Public),
		Kid: k.ID,
		Alg: licensor.LicenseAlg,
		Use: "sig",
	}, nil
}

// ParseJWKS reads a JWK Set ({"keys":[...]}) and returns its Ed25519
// signing keys by kid. Keys of another type or curve, or meant for another
// use or algorithm, are skipped; a broken Ed25519 key, a duplicate kid or a
// private key in the set is an error, as is a set with no usable key.
func ParseJWKS(data []byte) (KeySet, error) {
	var set jwkSet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, invalidf("JWKS is not valid JSON: %v", err)
	}
	if set.Keys == nil {
		return nil, invalidf(`JWKS has no "keys" array`)
	}
	keys := make(KeySet, len(set.Keys))
	skipped := ""
	for i, raw := range set.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, invalidf("JWKS key %d is not a JWK object: %v", i, err)
		}
		if reason := unusable(k); reason != "" {
			if skipped == "" {
				skipped = fmt.Sprintf(" (key %d skipped: %s)", i, reason)
			}
			continue
		}
		if len(k.D) > 0 {
			return nil, invalidf("JWKS key %.80q contains a private key (\"d\"): a JWKS must hold public keys only, and this key must be considered exposed", k.Kid)
		}
		if k.Kid == "" {
			return nil, invalidf("JWKS key %d (Ed25519) has no kid, so no license can name it", i)
		}
		pub, err := b64.DecodeString(k.X)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, invalidf("JWKS key %.80q: x is not %d bytes of base64url", k.Kid, ed25519.PublicKeySize)
		}
		if _, dup := keys[k.Kid]; dup {
			return nil, invalidf("JWKS lists kid %.80q twice", k.Kid)
		}
		keys[k.Kid] = ed25519.PublicKey(pub)
	}
	if len(keys) == 0 {
		return nil, invalidf("JWKS has no usable Ed25519 signing key%s", skipped)
	}
	return keys, nil
}

// unusable says why a JWK cannot verify licenses, or "" if it can. Both
// "EdDSA" and RFC 9864's "Ed25519" name the algorithm of an Ed25519 key.
func unusable(k jwk) string {
	switch {
	case k.Kty != "OKP":
		return fmt.Sprintf("kty %.20q is not OKP", k.Kty)
	case k.Crv != "Ed25519":
		return fmt.Sprintf("crv %.20q is not Ed25519", k.Crv)
	case k.Use != "" && k.Use != "sig":
		return fmt.Sprintf("use %.20q is not sig", k.Use)
	case k.Alg != "" && k.Alg != licensor.LicenseAlg && k.Alg != "Ed25519":
		return fmt.Sprintf("alg %.20q is not EdDSA", k.Alg)
	}
	return ""
}
