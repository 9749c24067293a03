package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/license"
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
func newTestSigner(t testing.TB, kid string) (*Signer, ed25519.PrivateKey, license.KeySet) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(kid, priv)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s, priv, license.KeySet{kid: pub}
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
