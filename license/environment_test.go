package license

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// The environment and seat claims survive signing and verification; a
// license that carries neither (one issued before the claims existed, or a
// static file the vendor left unrestricted) verifies and reads as
// unrestricted production with no seat claim.
func TestVerifyEnvironmentClaim(t *testing.T) {
	s, priv, keys := newTestSigner(t, "key_a")
	no, yes := false, true
	signed := func(env string, seat *bool) string {
		c := testClaims()
		c.Environment, c.Seat = env, seat
		tok, err := s.SignLicense(c)
		if err != nil {
			t.Fatalf("SignLicense: %v", err)
		}
		return tok
	}
	// An older license, written as its issuer wrote it: no environment or
	// seat member at all.
	oldPayload := json.RawMessage(`{"iss":"ten_test","sub":"instance-1","jti":"lic_old","iat":` + itoa(testNow.Unix()) +
		`,"nbf":` + itoa(testNow.Unix()) + `,"exp":` + itoa(testNow.Add(24*time.Hour).Unix()) +
		`,"contract":"con_test","customer":"cus_test","features":{"solver":5},"refresh_after":3600,"fallback":"none","kind":"online"}`)
	old := craft(t, map[string]any{"alg": "EdDSA", "kid": "key_a", "typ": licensor.LicenseType}, oldPayload, ed25519Signer(priv))

	for _, tc := range []struct {
		name       string
		token      string
		env        string
		production bool
		seat       *bool
	}{
		{"Staging", signed("staging", &no), "staging", false, &no},
		{"ProductionWithSeat", signed("production", &yes), "production", true, &yes},
		{"Test", signed("test", &no), "test", false, &no},
		{"UnknownEnvironmentIsNotProduction", signed("preview", &no), "preview", false, &no},
		{"StaticUnrestricted", signed("", nil), "", true, nil},
		{"OlderLicense", old, "", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Verify(tc.token, keys, VerifyOptions{Now: testNow.Add(time.Hour)})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Environment != tc.env {
				t.Errorf("environment: got %q, want %q", c.Environment, tc.env)
			}
			if c.Production() != tc.production {
				t.Errorf("Production(): got %v, want %v", c.Production(), tc.production)
			}
			seat, known := c.HoldsSeat()
			if known != (tc.seat != nil) || (known && seat != *tc.seat) {
				t.Errorf("HoldsSeat(): got %v, %v; want %v", seat, known, tc.seat)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
