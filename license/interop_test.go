package license

// The license format is fixed because tools outside Licensor verify it.
// These tests check what signing.Signer writes with JOSE code that is not ours:
// go-jose, golang-jwt and the standard library alone; and, the other way
// round, that Verify accepts what go-jose writes.

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/licensor/licensor"
)

func TestInteropGoJose(t *testing.T) {
	s, _, keys := newTestSigner(t, "key_a")
	token, err := s.SignLicense(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatalf("go-jose ParseSigned: %v", err)
	}
	payload, err := jws.Verify(keys["key_a"])
	if err != nil {
		t.Fatalf("go-jose Verify: %v", err)
	}
	h := jws.Signatures[0].Header
	if h.Algorithm != "EdDSA" || h.KeyID != "key_a" || h.ExtraHeaders[jose.HeaderType] != licensor.LicenseType {
		t.Errorf("got alg %q kid %q typ %v, want EdDSA, key_a, %s", h.Algorithm, h.KeyID, h.ExtraHeaders[jose.HeaderType], licensor.LicenseType)
	}
	var c licensor.Claims
	if err := json.Unmarshal(payload, &c); err != nil || c.Count("solver") != 50 {
		t.Errorf("got claims %+v (%v), want solver 50", c, err)
	}

	// go-jose reads our JWKS and verifies with the key it finds there.
	data, err := MarshalJWKS([]*licensor.SigningKey{{ID: "key_a", Public: keys["key_a"]}})
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatalf("go-jose reading our JWKS: %v", err)
	}
	found := set.Key("key_a")
	if len(found) != 1 {
		t.Fatalf("go-jose found %d keys with kid key_a, want 1", len(found))
	}
	if _, err := jws.Verify(found[0]); err != nil {
		t.Errorf("go-jose Verify with the key from our JWKS: %v", err)
	}
}

// TestInteropGoJoseSigns checks that a standard EdDSA JWS written by
// another library passes Verify: the format is JWS, not our spelling of it.
func TestInteropGoJoseSigns(t *testing.T) {
	_, priv, keys := newTestSigner(t, "key_a")
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: "key_a"}},
		(&jose.SignerOptions{}).WithType(licensor.LicenseType))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(testClaims())
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify(token, keys, VerifyOptions{Now: testNow})
	if err != nil {
		t.Fatalf("Verify of a go-jose token: %v", err)
	}
	if got := c.Count("solver"); got != 50 {
		t.Errorf("got solver %d, want 50", got)
	}
}

func TestInteropGolangJWT(t *testing.T) {
	s, _, keys := newTestSigner(t, "key_a")
	token, err := s.SignLicense(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse(token, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		return keys[kid], nil
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithTimeFunc(func() time.Time { return testNow }))
	if err != nil {
		t.Fatalf("golang-jwt Parse: %v", err)
	}
	if !parsed.Valid {
		t.Fatalf("golang-jwt: got invalid token, want valid")
	}
	if got := parsed.Header["typ"]; got != licensor.LicenseType {
		t.Errorf("got typ %v, want %s", got, licensor.LicenseType)
	}
	claims := parsed.Claims.(jwt.MapClaims)
	if sub, _ := claims.GetSubject(); sub != "instance-1" {
		t.Errorf("got sub %q, want instance-1", sub)
	}
}

// TestInteropStdlib verifies a license as the format description says,
// with nothing but the standard library: split, decode, ed25519.Verify over
// "header.payload".
func TestInteropStdlib(t *testing.T) {
	s, _, keys := newTestSigner(t, "key_a")
	token, err := s.SignLicense(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("got %d parts, want 3", len(parts))
	}
	dec := base64.RawURLEncoding
	hdrJSON, err1 := dec.DecodeString(parts[0])
	payload, err2 := dec.DecodeString(parts[1])
	sig, err3 := dec.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("base64url: %v %v %v", err1, err2, err3)
	}
	var hdr map[string]string
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"alg": "EdDSA", "kid": "key_a", "typ": "license+jwt"}
	for k, v := range want {
		if hdr[k] != v {
			t.Errorf("header %s: got %q, want %q", k, hdr[k], v)
		}
	}
	if len(hdr) != len(want) {
		t.Errorf("got header %v, want exactly %v", hdr, want)
	}
	if !ed25519.Verify(keys[hdr["kid"]], []byte(parts[0]+"."+parts[1]), sig) {
		t.Fatalf("ed25519.Verify: got false, want true")
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	if c["iss"] != "ten_test" || c["exp"] != float64(testNow.Add(24*time.Hour).Unix()) {
		t.Errorf("got iss %v exp %v, want ten_test and the expiry as a NumericDate", c["iss"], c["exp"])
	}
}

// BenchmarkGoJose is the comparison that decided this package writes its
// own JWS code: go-jose doing the same work as BenchmarkSignLicense and
// BenchmarkVerify.
func BenchmarkGoJose(b *testing.B) {
	_, priv, keys := newTestSigner(b, "key_a")
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: "key_a"}},
		(&jose.SignerOptions{}).WithType(licensor.LicenseType))
	if err != nil {
		b.Fatal(err)
	}
	claims := testClaims()
	var token string
	b.Run("Sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			payload, _ := json.Marshal(claims)
			obj, err := signer.Sign(payload)
			if err != nil {
				b.Fatal(err)
			}
			if token, err = obj.CompactSerialize(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.EdDSA})
			if err != nil {
				b.Fatal(err)
			}
			payload, err := jws.Verify(keys[jws.Signatures[0].Header.KeyID])
			if err != nil {
				b.Fatal(err)
			}
			var c licensor.Claims
			if err := json.Unmarshal(payload, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
