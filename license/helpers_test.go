package license

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/signing"
)

// testNow is the issue time of testClaims: far from the real clock, so no
// test depends on when it runs.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func testClaims() *licensor.Claims {
	return &licensor.Claims{
		Issuer:       "ten_test",
		Subject:      "instance-1",
		ID:           "lic_test",
		IssuedAt:     testNow.Unix(),
		NotBefore:    testNow.Unix(),
		Expiry:       testNow.Add(24 * time.Hour).Unix(),
		Contract:     "con_test",
		Customer:     "cus_test",
		Features:     map[string]any{"solver": 50, "export": true},
		RefreshAfter: 3600,
		FallbackRule: licensor.FallbackPerpetual,
		Kind:         licensor.LicenseKindLive,
	}
}

// newTestSigner returns a signer for a fresh key named kid, and the key set
// that verifies it.
func newTestSigner(t testing.TB, kid string) (*signing.Signer, ed25519.PrivateKey, KeySet) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewSigner(kid, priv)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s, priv, KeySet{kid: pub}
}

// craft builds a compact JWS by hand from a header and payload (any value
// json.Marshal takes, or a json.RawMessage), signed by sign (nil: no
// signature).
func craft(t testing.TB, header, payload any, sign func(signingInput []byte) []byte) string {
	t.Helper()
	enc := func(v any) string {
		if raw, ok := v.(json.RawMessage); ok {
			return b64.EncodeToString(raw) // as is, even if not valid JSON
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b64.EncodeToString(b)
	}
	input := enc(header) + "." + enc(payload)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64.EncodeToString(sig)
}

func ed25519Signer(priv ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(priv, in) }
}

// checkErr fails unless err is a *licensor.Error with code and a message
// containing want.
func checkErr(t *testing.T, err error, code, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s error containing %q", code, want)
	}
	var le *licensor.Error
	if !errors.As(err, &le) {
		t.Fatalf("got %T %v, want *licensor.Error", err, err)
	}
	if le.Code != code {
		t.Errorf("got code %q (%v), want %q", le.Code, err, code)
	}
	if !strings.Contains(le.Message, want) {
		t.Errorf("got message %q, want it to contain %q", le.Message, want)
	}
	if strings.ContainsAny(le.Message, "\r\n") {
		t.Errorf("got message %q, want one line", le.Message)
	}
}

// newTestSealer returns a sealer with a fresh master key.
func newTestSealer(t *testing.T) *signing.Sealer {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewSealer(key)
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	return s
}
