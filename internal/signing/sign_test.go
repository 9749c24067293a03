package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/license"
)

func TestSignLicenseRejects(t *testing.T) {
	s, _, _ := newTestSigner(t, "key_a")
	noExp := testClaims()
	noExp.Expiry = 0
	tests := []struct {
		name   string
		claims *licensor.Claims
		want   string
	}{
		{"Nil", nil, "no claims"},
		{"NoExpiry", noExp, "lacks iat, nbf or exp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.SignLicense(tc.claims)
			checkErr(t, err, licensor.EINVALID, tc.want)
		})
	}
}

func TestNewSignerRejects(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	corrupt := append(ed25519.PrivateKey(nil), priv...)
	corrupt[40] ^= 1
	tests := []struct {
		name string
		kid  string
		priv ed25519.PrivateKey
		want string
	}{
		{"NoKid", "", priv, "key id is empty"},
		{"Short", "key_a", priv[:32], "32 bytes"},
		{"Corrupt", "key_a", corrupt, "corrupt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSigner(tc.kid, tc.priv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestSignerConcurrent(t *testing.T) {
	s, _, keys := newTestSigner(t, "key_a")
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func() {
			for j := 0; j < 20; j++ {
				tok, err := s.SignLicense(testClaims())
				if err == nil {
					_, err = license.Verify(tok, keys, license.VerifyOptions{})
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
